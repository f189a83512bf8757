/**
 * The receiving half of a transport: received envelopes wait in a bounded queue for their
 * consumers (an async iterator, `onEnvelope` callbacks, or both), and reading from the
 * connection pauses while the queue is full (backpressure).
 * @module
 */
import type { Envelope } from "../envelope.ts";
import type { TransportCloseInfo } from "./errors.ts";
import { TransportError } from "./errors.ts";
import { NO_HANDLERS, stillListed, withHandler, withoutHandler } from "../handler_list.ts";

/**
 * Received envelopes on their way to the consumers. It is its own (single) iterator: one object
 * per connection instead of an iterator object and its two closures.
 */
export class ReceiveQueue<Owner = undefined> implements AsyncIterator<Envelope> {
  readonly #size: number;
  // Told when the queue fills up (true) and when it is down to half (false), with the queue's
  // owner: one function shared by every queue, not a closure per queue (a server keeps one per
  // connection).
  readonly #backpressure: (full: boolean, owner: Owner) => void;
  readonly #owner: Owner;
  #queue: Envelope[] = [];
  #iterating = false;
  // Who to wake once something is queued or the queue finished (see `park`).
  #wake: (() => void) | undefined;
  #paused = false;
  // Copied on change (see `handler_list.ts`); a server's channel reads through the iterator and
  // adds none.
  #handlers: readonly ((envelope: Envelope) => void)[] = NO_HANDLERS;
  #closeInfo: TransportCloseInfo | undefined;

  /**
   * A queue of at most `size` envelopes before `backpressure(true, owner)` is called (reading
   * should pause); `backpressure(false, owner)` follows once it is down to half.
   */
  constructor(size: number, backpressure: (full: boolean, owner: Owner) => void, owner?: Owner) {
    this.#size = size;
    this.#backpressure = backpressure;
    this.#owner = owner as Owner;
  }

  /** Adds a receive callback; returns its remover. */
  onEnvelope(handler: (envelope: Envelope) => void): () => void {
    this.#handlers = withHandler(this.#handlers, handler);
    // Hand over what arrived before anyone listened (unless an iterator is taking it).
    if (!this.#iterating) {
      const queued = this.#queue;
      this.#queue = [];
      for (const envelope of queued) this.#callHandlers(envelope);
      this.#updateBackpressure();
    }
    return () => {
      this.#handlers = withoutHandler(this.#handlers, handler);
    };
  }

  /** Iterates over received envelopes until {@link finish} (throws if it finished with an error). */
  iterator(): AsyncIterator<Envelope> {
    if (this.#iterating) throw new TransportError("io", "The transport already has an iterator");
    this.#iterating = true;
    return this;
  }

  /** The iterator's next envelope (see {@link iterator}). */
  next(): Promise<IteratorResult<Envelope>> {
    const envelope = this.#queue.shift();
    if (envelope !== undefined) {
      this.#updateBackpressure();
      return Promise.resolve({ value: envelope, done: false });
    }
    if (this.#closeInfo) {
      this.#iterating = false;
      return this.#closeInfo.error
        ? Promise.reject(this.#closeInfo.error)
        : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => this.park(() => resolve(this.next())));
  }

  /**
   * The iterator's reader waits without a promise: when nothing is queued and the queue has not
   * finished, `wake` is called once something is queued or it finished, and true is returned;
   * else false (call {@link next}). A channel waits for its peer for its whole life, and a
   * pending promise holds its resolvers and reactions meanwhile.
   */
  park(wake: () => void): boolean {
    if (this.#queue.length > 0 || this.#closeInfo) return false;
    this.#wake = wake;
    return true;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Ends the iteration (see {@link iterator}). */
  return(): Promise<IteratorResult<Envelope>> {
    // A next() still waiting settles as before, with what arrives or with the end.
    this.#iterating = false;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Hands one received envelope to the consumers, or queues it for them. */
  deliver(envelope: Envelope): void {
    if (this.#handlers.length) this.#callHandlers(envelope);
    if (this.#iterating || this.#handlers.length === 0) {
      this.#queue.push(envelope);
      this.#updateBackpressure();
      this.#wakeUp();
    }
  }

  /** The transport closed: a waiting iterator ends (or throws the error) once the queue is empty. */
  finish(info: TransportCloseInfo): void {
    if (this.#closeInfo) return;
    this.#closeInfo = info;
    this.#wakeUp();
  }

  #callHandlers(envelope: Envelope): void {
    const handlers = this.#handlers;
    for (let i = 0; i < handlers.length; i++) {
      const handler = handlers[i];
      if (!stillListed(handlers, this.#handlers, handler)) continue;
      try {
        handler(envelope);
      } catch (error) {
        // A consumer's bug must not break the connection for everyone else.
        console.error("LIME transport: an onEnvelope handler threw", error);
      }
    }
  }

  #updateBackpressure(): void {
    const full = this.#queue.length >= this.#size;
    if (full && !this.#paused) {
      this.#paused = true;
      this.#backpressure(true, this.#owner);
    } else if (!full && this.#paused && this.#queue.length <= this.#size / 2) {
      this.#paused = false;
      this.#backpressure(false, this.#owner);
    }
  }
}
