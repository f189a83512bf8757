/**
 * Options every channel takes, with their defaults (lime-protocol §6.8; where the reference
 * implementations disagree or wait forever, the choice is written next to the option).
 * @module
 */
import type { Clock } from "../clock.ts";
import type { ChannelModule } from "./channel_module.ts";

/** Options of a client or server channel. */
export interface ChannelOptions {
  /** Time source for every timeout (tests pass a ManualClock). Default: the system clock. */
  clock?: Clock;
  /**
   * Received messages, notifications and commands kept per kind for a consumer that is not
   * taking them (iterators and `receive*` calls); when a kind's buffer is full the channel stops
   * reading the transport (backpressure). Kinds with an `on*` handler are not buffered.
   * Default 64.
   */
  receiveBufferSize?: number;
  /** Milliseconds `processCommand` waits for a response. Default 30,000; 0 waits forever. */
  commandTimeout?: number;
  /**
   * Milliseconds a send may wait for the transport (a peer that stops reading) before the
   * channel closes with a `timeout` error. Default 60,000 (lime-csharp); 0 waits forever.
   */
  sendTimeout?: number;
  /**
   * Milliseconds a received envelope may wait for room in its full buffer before the channel
   * closes with a `timeout` error. Default 0: wait as long as it takes (backpressure only).
   */
  consumeTimeout?: number;
  /** Milliseconds the graceful end (finishing → finished) may take before the transport is closed anyway. Default 5,000. */
  closeTimeout?: number;
  /** Milliseconds session establishment may take. Default 30,000. */
  establishmentTimeout?: number;
  /**
   * Answer `get /ping` requests addressed to this node (or to nobody) with the ping document and
   * swallow them. Default: true for clients, false for servers (lime-csharp).
   */
  autoReplyPings?: boolean;
  /** Send a `received` notification for every received message with an id. Default false. */
  autoNotifyReceipt?: boolean;
  /**
   * Fill missing `from`/`to` (and missing domains) of received envelopes with the remote/local
   * nodes, and `pp` of sent ones on a client. Default false.
   */
  fillEnvelopeRecipients?: boolean;
  /**
   * Once established, ping the peer after this many milliseconds without receiving anything.
   * Default 0: off (lime-csharp).
   */
  remotePingInterval?: number;
  /**
   * With `remotePingInterval`, finish the session when nothing at all was received for this many
   * milliseconds (at least the interval). Default: three intervals.
   */
  remoteIdleTimeout?: number;
  /** More modules, run after the built-in ones in the order given. */
  modules?: ChannelModule[];
}

/** The defaults above, as numbers. */
export const CHANNEL_DEFAULTS: Readonly<{
  receiveBufferSize: number;
  commandTimeout: number;
  sendTimeout: number;
  consumeTimeout: number;
  closeTimeout: number;
  establishmentTimeout: number;
}> = Object.freeze({
  receiveBufferSize: 64,
  commandTimeout: 30_000,
  sendTimeout: 60_000,
  consumeTimeout: 0,
  closeTimeout: 5_000,
  establishmentTimeout: 30_000,
});

/** Options of one call that waits. */
export interface WaitOptions {
  /** Aborts the wait. */
  signal?: AbortSignal;
}

/** Options of a call that waits with a timeout of its own. */
export interface TimeoutOptions extends WaitOptions {
  /** Milliseconds; overrides the channel's default for this call. 0 waits forever. */
  timeout?: number;
}

/** Checks that a duration option is a finite number ≥ 0. */
export function checkDuration(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Option "${name}" must be a finite number of milliseconds ≥ 0, got ${value}`,
    );
  }
}
