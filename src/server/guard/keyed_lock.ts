/**
 * One operation at a time per key (an identity's roster), with a bounded line of waiters: a read
 * check followed by a write (a quota) stays correct under pipelined requests, and a peer cannot
 * pile up unbounded work behind a key.
 * @module
 */

/** Refused: too many operations wait for the key already. */
export class KeyedLockBusy extends Error {
  /** Creates the error. */
  constructor(key: string) {
    super(`Too many operations are waiting on "${key}"`);
    this.name = "KeyedLockBusy";
  }
}

/** Serializes operations per key. */
export class KeyedLock {
  readonly #maxWaiting: number;
  readonly #lines = new Map<string, { tail: Promise<void>; length: number }>();

  /** At most `maxWaiting` operations wait per key (besides the running one). Default 256. */
  constructor(maxWaiting = 256) {
    this.#maxWaiting = maxWaiting;
  }

  /** Runs `operation` when the key is free; rejects with {@link KeyedLockBusy} when the line is full. */
  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    let line = this.#lines.get(key);
    if (line && line.length > this.#maxWaiting) return Promise.reject(new KeyedLockBusy(key));
    if (!line) this.#lines.set(key, line = { tail: Promise.resolve(), length: 0 });
    const current = line;
    current.length++;
    const result = current.tail.then(operation);
    current.tail = result.then(() => {}, () => {}).finally(() => {
      if (--current.length === 0 && this.#lines.get(key) === current) this.#lines.delete(key);
    });
    return result;
  }
}
