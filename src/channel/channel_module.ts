/**
 * Channel modules: hooks that see every envelope a channel receives or sends (after state
 * gating, before delivery or writing) and every state change. A hook returning `null` drops the
 * envelope. The built-in ones live in `modules/`.
 * @module
 */
import type { Envelope } from "../envelope.ts";
import type { SessionState } from "../generated/enums.generated.ts";
import type { Channel, ChannelCloseInfo } from "./channel.ts";

/** A pipeline hook on a channel. */
export interface ChannelModule {
  /** Called after the session state changes. */
  onStateChanged?(state: SessionState, channel: Channel): void;
  /**
   * Called for each received message, notification or command; returns the envelope to deliver
   * (possibly changed) or `null` to swallow it.
   */
  onReceiving?(envelope: Envelope, channel: Channel): Envelope | null;
  /** Called for each message, notification or command about to be sent; `null` drops it. */
  onSending?(envelope: Envelope, channel: Channel): Envelope | null;
  /**
   * Called once when the channel closes, with how it ended (what `closed` resolves with, just
   * before it does): release timers here.
   */
  onClosed?(channel: Channel, info: ChannelCloseInfo): void;
}
