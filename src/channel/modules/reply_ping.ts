/**
 * Answers `get /ping` requests addressed to this node (or to nobody) with
 * `{"status":"success","type":"application/vnd.lime.ping+json","resource":{}}` and swallows them
 * (lime-protocol §6.5; real clients need both `type` and `resource`, §12).
 * @module
 */
import { Command, type Envelope, isCommand } from "../../envelope.ts";
import { isPingUri } from "../../lime_uri.ts";
import type { Channel } from "../channel.ts";
import type { ChannelModule } from "../channel_module.ts";
import { isForLocalNode, replyTarget } from "./recipients.ts";

/** The ping document's media type. */
export const PING_MEDIA_TYPE = "application/vnd.lime.ping+json";

/** Replies to pings. */
export class ReplyPingModule implements ChannelModule {
  /** Swallows a ping request after sending its response. */
  onReceiving(envelope: Envelope, channel: Channel): Envelope | null {
    if (
      !isCommand(envelope) || envelope.method !== "get" || envelope.status !== undefined ||
      !envelope.id || envelope.uri === undefined || !isPingUri(envelope.uri) ||
      !isForLocalNode(envelope.to, channel.localNode)
    ) return envelope;
    const to = replyTarget(envelope);
    const response = new Command("get", undefined, {
      id: envelope.id,
      ...(to ? { to } : {}),
      status: "success",
      type: PING_MEDIA_TYPE,
      resource: {},
    });
    channel.sendCommand(response).catch(() => {});
    return null;
  }
}
