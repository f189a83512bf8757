/**
 * Counters per key (a source address, an identity) in fixed time windows, holding at most
 * `maxKeys` keys (the oldest are forgotten first), so that counting what strangers do cannot
 * itself exhaust memory.
 * @module
 */
import { AgedMap } from "../../aged_map.ts";
import type { Clock } from "../../clock.ts";

interface Window {
  start: number;
  count: number;
}

/** Events per key per window. */
export class KeyedWindowCounter {
  readonly #clock: Clock;
  readonly #window: number;
  readonly #maxKeys: number;
  readonly #entries = new AgedMap<string, Window>();

  /** Counts in windows of `windowMs`, for at most `maxKeys` keys. */
  constructor(clock: Clock, windowMs: number, maxKeys = 100_000) {
    this.#clock = clock;
    this.#window = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Events of `key` in its current window. */
  count(key: string): number {
    const entry = this.#entries.get(key);
    if (!entry || this.#clock.now() - entry.start >= this.#window) return 0;
    return entry.count;
  }

  /** Milliseconds until `key`'s window ends (0 when it has none). */
  remaining(key: string): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    return Math.max(0, entry.start + this.#window - this.#clock.now());
  }

  /** Counts one event of `key`; returns the count in its window. */
  add(key: string): number {
    const now = this.#clock.now();
    let entry = this.#entries.get(key);
    if (!entry || now - entry.start >= this.#window) {
      this.#entries.delete(key);
      entry = { start: now, count: 0 };
      if (this.#entries.size >= this.#maxKeys) this.#entries.deleteOldest();
      this.#entries.set(key, entry);
    }
    return ++entry.count;
  }
}
