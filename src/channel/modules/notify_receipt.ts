/**
 * Sends a `received` notification for every received message that has an id and a sender and is
 * for this node; the message is still delivered (lime-protocol §6.5; `to` is `pp ?? from`).
 * @module
 */
import { type Envelope, isMessage, Notification } from "../../envelope.ts";
import type { Channel } from "../channel.ts";
import type { ChannelModule } from "../channel_module.ts";
import { isForLocalNode, replyTarget } from "./recipients.ts";

/** Notifies receipt of messages. */
export class NotifyReceiptModule implements ChannelModule {
  /** Sends the notification; passes the message on. */
  onReceiving(envelope: Envelope, channel: Channel): Envelope | null {
    if (
      isMessage(envelope) && envelope.id && envelope.from &&
      isForLocalNode(envelope.to, channel.localNode)
    ) {
      const notification = new Notification("received", {
        id: envelope.id,
        to: replyTarget(envelope)!,
      });
      channel.sendNotification(notification).catch(() => {});
    }
    return envelope;
  }
}
