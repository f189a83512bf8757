/**
 * A few slots per key (a source address) for work the server does on a peer's behalf, with a
 * bounded line: at most `concurrency` run at once per key, at most `queue` more wait in order,
 * and past that the work is refused at once. What one address asks of the server then costs the
 * others at most a couple of jobs at a time, however many sessions it opens.
 * @module
 */

/** Refused: the key's line is full. */
export class KeyedSlotsBusy extends Error {
  /** Creates the error. */
  constructor() {
    super("Too many requests from your address are in progress; send them one after another");
    this.name = "KeyedSlotsBusy";
  }
}

/** Slots per key. */
export class KeyedSlots {
  readonly #concurrency: number;
  readonly #queue: number;
  readonly #lines = new Map<string, { running: number; waiting: (() => void)[] }>();

  /** `concurrency` at once and `queue` waiting per key. */
  constructor(concurrency: number, queue: number) {
    this.#concurrency = Math.max(1, concurrency);
    this.#queue = Math.max(0, queue);
  }

  /** Runs `work` in a slot of `key` (at once when `key` is undefined). */
  async run<T>(key: string | undefined, work: () => Promise<T>): Promise<T> {
    if (key === undefined) return await work();
    let line = this.#lines.get(key);
    if (!line) this.#lines.set(key, line = { running: 0, waiting: [] });
    if (line.running >= this.#concurrency) {
      if (line.waiting.length >= this.#queue) throw new KeyedSlotsBusy();
      await new Promise<void>((resolve) => line!.waiting.push(resolve));
    }
    line.running++;
    try {
      return await work();
    } finally {
      line.running--;
      const next = line.waiting.shift();
      if (next) next();
      else if (line.running === 0) this.#lines.delete(key);
    }
  }
}
