/**
 * A bounded FIFO between a producer (the channel's receive loop) and a consumer (an iterator or
 * `take` calls): `put` waits while the queue is full, which is how a slow consumer pushes back
 * on the transport instead of growing memory.
 * @module
 */
import { ChannelError } from "./errors.ts";

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * A waiter that follows `signal` (`onAbort` runs once it aborts) and stops following it as soon
 * as it is settled. A consumer may pass one signal for its whole life (`for await (const m of
 * channel.messages({ signal }))`): a listener left behind per wait would grow with every message,
 * and Deno's `addEventListener` scans the listeners already there, so each wait would cost more
 * than the last.
 */
function listening<T>(
  signal: AbortSignal | undefined,
  resolve: (value: T) => void,
  reject: (error: unknown) => void,
  onAbort: () => void,
): Waiter<T> {
  if (!signal) return { resolve, reject };
  signal.addEventListener("abort", onAbort, { once: true });
  return {
    resolve: (value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    },
    reject: (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    },
  };
}

/** A bounded async queue. */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  // Made on first use: a server holds four idle queues per session, mostly never used.
  #items: T[] | undefined;
  #takers: Waiter<T>[] | undefined;
  #putters: { item: T; waiter: Waiter<void> }[] | undefined;
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
    const items = this.#items?.splice(0) ?? [];
    while (this.#putters?.length) {
      const next = this.#putters.shift()!;
      items.push(next.item);
      next.waiter.resolve();
    }
    return items;
  }

  /**
   * Adds an item: resolves at once when a consumer waits or there is room, otherwise when room
   * frees up. Rejects with a `closed` ChannelError once the queue is closed, or `aborted` through
   * the signal (the item is then not added).
   */
  put(item: T, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new ChannelError("closed", "The queue is closed"));
    const taker = this.#takers?.shift();
    if (taker) {
      taker.resolve(item);
      return Promise.resolve();
    }
    if (this.size < this.#capacity) {
      (this.#items ??= []).push(item);
      return Promise.resolve();
    }
    if (signal?.aborted) {
      return Promise.reject(new ChannelError("aborted", "Adding to the queue was aborted"));
    }
    return new Promise<void>((resolve, reject) => {
      const putters = this.#putters ??= [];
      const entry = {
        item,
        waiter: listening(signal, resolve, reject, () => {
          const i = putters.indexOf(entry);
          if (i < 0) return;
          putters.splice(i, 1);
          reject(
            new ChannelError("aborted", "Adding to the queue was aborted", {
              cause: signal!.reason,
            }),
          );
        }),
      };
      putters.push(entry);
    });
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
    if (signal?.aborted) {
      return Promise.reject(new ChannelError("aborted", "Taking from the queue was aborted"));
    }
    return new Promise<T>((resolve, reject) => {
      const takers = this.#takers ??= [];
      const waiter: Waiter<T> = listening(signal, resolve, reject, () => {
        const i = takers.indexOf(waiter);
        if (i < 0) return;
        takers.splice(i, 1);
        reject(
          new ChannelError("aborted", "Taking from the queue was aborted", {
            cause: signal!.reason,
          }),
        );
      });
      takers.push(waiter);
    });
  }

  /**
   * Closes the queue: waiting producers reject with `closed`; consumers get what is left, then
   * the end (iterators) or `error` (take).
   */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = { error };
    for (const { waiter } of this.#putters?.splice(0) ?? []) {
      waiter.reject(new ChannelError("closed", "The queue closed", { cause: error }));
    }
    for (const taker of this.#takers?.splice(0) ?? []) {
      taker.reject(error ?? new ChannelError("closed", "The queue is closed"));
    }
  }

  /** Iterates until the queue is closed and drained; throws the close error if there was one. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      try {
        yield await this.take();
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
    next.waiter.resolve();
  }
}
