/**
 * A bounded FIFO between a producer (the channel's receive loop) and a consumer (an iterator or
 * `take` calls): `put` waits while the queue is full, which is how a slow consumer pushes back
 * on the transport instead of growing memory.
 * @module
 */
import { ChannelError } from "./errors.ts";

/** A waiting `take` (its `item` unused) or `put`. */
interface Waiter<T, V> {
  item: T;
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

/** A bounded async queue. */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  // Made on first use: a server holds four idle queues per session, mostly never used.
  #items: T[] | undefined;
  #takers: Waiter<T | undefined, T>[] | undefined;
  #putters: Waiter<T, void>[] | undefined;
  #closed: { error?: unknown } | undefined;

  /** Creates a queue holding at most `capacity` items (at least 1). */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`A queue capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items?.length ?? 0;
  }

  /** Whether someone waits in `take`. */
  get taking(): boolean {
    return !!this.#takers?.length;
  }

  /** Whether the queue was closed. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Adds an item only if that needs no wait; false when the queue is full or closed. */
  tryPut(item: T): boolean {
    if (this.#closed) return false;
    const taker = this.#takers?.shift();
    if (taker) {
      taker.resolve(item);
      return true;
    }
    if (this.size < this.#capacity) {
      (this.#items ??= []).push(item);
      return true;
    }
    return false;
  }

  /** Removes and returns every item waiting (and admits waiting producers into the room). */
  drain(): T[] {
    while (this.#putters?.length) this.#admitPutter();
    return this.#items?.splice(0) ?? [];
  }

  /**
   * Adds an item: resolves at once when a consumer waits or there is room, otherwise when room
   * frees up. Rejects with a `closed` ChannelError once the queue is closed, or `aborted` through
   * the signal (the item is then not added).
   */
  put(item: T, signal?: AbortSignal): Promise<void> {
    if (this.tryPut(item)) return Promise.resolve();
    if (this.#closed) return Promise.reject(new ChannelError("closed", "The queue is closed"));
    return this.#wait(this.#putters ??= [], item, signal, "Adding to");
  }

  /**
   * Takes the next item, waiting for one. After close, the remaining items are still taken; then
   * it rejects with the close error, or with a `closed` ChannelError.
   */
  take(signal?: AbortSignal): Promise<T> {
    if (this.#items?.length) {
      const item = this.#items.shift() as T;
      this.#admitPutter();
      return Promise.resolve(item);
    }
    if (this.#closed) {
      return Promise.reject(
        this.#closed.error ?? new ChannelError("closed", "The queue is closed"),
      );
    }
    return this.#wait(this.#takers ??= [], undefined, signal, "Taking from");
  }

  /**
   * Waits in `waiters` until settled by the other side or by `close`, or until `signal` aborts
   * (the waiter then leaves the list). It listens to `signal` only while it waits: a consumer may
   * pass one signal for its whole life (`for await (const m of channel.messages({ signal }))`),
   * and a listener left behind per wait would grow with every message, each wait costing more
   * than the last (Deno's `addEventListener` scans the listeners already there).
   */
  #wait<I, V>(
    waiters: Waiter<I, V>[],
    item: I,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<V> {
    const aborted = (options?: ErrorOptions) =>
      new ChannelError("aborted", `${what} the queue was aborted`, options);
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise<V>((resolve, reject) => {
      const onAbort = () => {
        const i = waiters.indexOf(waiter);
        if (i < 0) return;
        waiters.splice(i, 1);
        reject(aborted({ cause: signal!.reason }));
      };
      const stop = () => signal?.removeEventListener("abort", onAbort);
      const waiter: Waiter<I, V> = {
        item,
        resolve: (value) => (stop(), resolve(value)),
        reject: (error) => (stop(), reject(error)),
      };
      waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Closes the queue: waiting producers reject with `closed`; consumers get what is left, then
   * the end (iterators) or `error` (take).
   */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = { error };
    for (const putter of this.#putters?.splice(0) ?? []) {
      putter.reject(new ChannelError("closed", "The queue closed", { cause: error }));
    }
    for (const taker of this.#takers?.splice(0) ?? []) {
      taker.reject(error ?? new ChannelError("closed", "The queue is closed"));
    }
  }

  /** Iterates until the queue is closed and drained; throws the close error if there was one. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterate();
  }

  /**
   * Iterates until the queue is closed and drained, taking with `signal` (an abort throws its
   * `aborted` ChannelError); throws the close error if there was one.
   */
  async *iterate(signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    for (;;) {
      try {
        yield await this.take(signal);
      } catch (error) {
        if (this.#closed && this.#closed.error === undefined) return;
        throw error;
      }
    }
  }

  #admitPutter(): void {
    const next = this.#putters?.shift();
    if (!next) return;
    (this.#items ??= []).push(next.item);
    next.resolve();
  }
}
