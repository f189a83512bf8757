/**
 * Where a channel's received messages, notifications and commands go once the channel let them
 * in: to the `on*` handlers of their kind, or else into a bounded buffer per kind, read by
 * `receive*` calls and iterators. A full buffer holds the receive loop (the transport is read no
 * further) until there is room, for at most the consume timeout.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Envelope, EnvelopeKind } from "../envelope.ts";
import { BoundedQueue } from "./bounded_queue.ts";
import { NO_HANDLERS, stillListed, withHandler, withoutHandler } from "../handler_list.ts";
import type { WaitOptions } from "./channel_options.ts";
import { abortError } from "./deadline.ts";
import { ChannelError } from "./errors.ts";
import type { Abortable } from "./send_watchdog.ts";

/** The envelopes that are traffic (not session envelopes). */
export type TrafficKind = Exclude<EnvelopeKind, "session">;
/** A receive handler; a returned promise is not awaited (its rejection is logged). */
export type Handler<T> = (envelope: T) => unknown;

/** Calls a receive handler; what it throws or rejects with is logged, never thrown. */
export function callHandler(handler: Handler<never>, envelope: unknown): void {
  try {
    const result = handler(envelope as never);
    if (result instanceof Promise) {
      result.catch((error) => console.error("LIME channel: a handler rejected", error));
    }
  } catch (error) {
    console.error("LIME channel: a handler threw", error);
  }
}

/** The next item of `queue`; an abort through `options.signal` rejects with its ChannelError. */
export async function takeFrom<T>(queue: BoundedQueue<T>, options?: WaitOptions): Promise<T> {
  try {
    return await queue.take(options?.signal);
  } catch (error) {
    if (options?.signal?.aborted) throw abortError(options.signal);
    throw error;
  }
}

/** A channel's received traffic: handlers, else buffers. */
export class ReceivedTraffic {
  // Made on first use: a server's channels hand everything to handlers and never buffer.
  readonly #queues: Partial<Record<TrafficKind, BoundedQueue<Envelope>>> = {};
  readonly #size: number;
  // Copied on change (see `handler_list.ts`).
  readonly #handlers: Record<TrafficKind, readonly Handler<never>[]> = {
    message: NO_HANDLERS,
    notification: NO_HANDLERS,
    command: NO_HANDLERS,
  };
  /** Set once the buffers closed: a buffer made after that is closed at once, the same way. */
  #closed: { error: unknown } | undefined;
  readonly #clock: Clock;
  readonly #consumeTimeout: number;
  readonly #channel: Abortable;
  /** Whether the buffers closed without an error (their iterators then end quietly). */
  #endedCleanly = false;
  /** Whether the receive loop waits for room in a full buffer (it reads nothing meanwhile). */
  waitingForRoom = false;

  /**
   * Buffers of `size` envelopes per kind; `channel` is aborted with a `timeout` ChannelError when
   * a full buffer found no room within `consumeTimeout` ms (0: waits as long as it takes).
   */
  constructor(size: number, clock: Clock, consumeTimeout: number, channel: Abortable) {
    this.#size = size;
    this.#clock = clock;
    this.#consumeTimeout = consumeTimeout;
    this.#channel = channel;
  }

  /** Adds a handler of `kind`, gives it what waits in the buffer, and returns its remover. */
  subscribe(kind: TrafficKind, handler: Handler<never>): () => void {
    // As a set: a handler added twice is called once, and either remover removes it.
    this.#handlers[kind] = withHandler(this.#handlers[kind], handler);
    const queue = this.#queues[kind];
    if (queue) { for (const envelope of queue.drain()) callHandler(handler, envelope); }
    return () => {
      this.#handlers[kind] = withoutHandler(this.#handlers[kind], handler);
    };
  }

  /** Hands a received envelope on; a promise when the receive loop must wait for room. */
  deliver(kind: TrafficKind, envelope: Envelope): Promise<void> | void {
    const handlers = this.#handlers[kind];
    if (handlers.length > 0) {
      for (let i = 0; i < handlers.length; i++) {
        const handler = handlers[i];
        if (stillListed(handlers, this.#handlers[kind], handler)) callHandler(handler, envelope);
      }
      return;
    }
    const queue = this.#queue(kind);
    if (queue.tryPut(envelope)) return;
    return this.#putWaiting(kind, queue, envelope);
  }

  /** The next buffered envelope of `kind`. */
  take(kind: TrafficKind, options?: WaitOptions): Promise<Envelope> {
    return takeFrom(this.#queue(kind), options);
  }

  /** The buffered envelopes of `kind` until the end (throws if the channel broke). */
  async *iterate(kind: TrafficKind, options?: WaitOptions): AsyncIterable<Envelope> {
    const queue = this.#queue(kind);
    for (;;) {
      try {
        yield await takeFrom(queue, options);
      } catch (error) {
        if (queue.closed && queue.size === 0 && this.#endedCleanly) return;
        throw error;
      }
    }
  }

  /** Ends the buffers: what is buffered is still read, then `error` (or the end, without). */
  close(error?: unknown): void {
    this.#endedCleanly = error === undefined;
    this.#closed = { error };
    for (const queue of Object.values(this.#queues)) queue.close(error);
  }

  /** The buffer of `kind`, made on first use (closed at once after `close`). */
  #queue(kind: TrafficKind): BoundedQueue<Envelope> {
    let queue = this.#queues[kind];
    if (!queue) {
      queue = this.#queues[kind] = new BoundedQueue(this.#size);
      if (this.#closed) queue.close(this.#closed.error);
    }
    return queue;
  }

  async #putWaiting(kind: TrafficKind, queue: BoundedQueue<Envelope>, envelope: Envelope) {
    const controller = new AbortController();
    const timeout = this.#consumeTimeout;
    const timer = timeout ? this.#clock.setTimeout(() => controller.abort(), timeout) : undefined;
    this.waitingForRoom = true;
    try {
      await queue.put(envelope, controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) return; // the queue closed: the channel is ending
      this.#channel.abort(
        new ChannelError(
          "timeout",
          `The ${kind} consumer has not taken an envelope for ${timeout} ms`,
          { cause: error },
        ),
      );
    } finally {
      this.waitingForRoom = false;
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
  }
}
