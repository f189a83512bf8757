/**
 * Remembers the last N keys to drop duplicates (at-least-once delivery seen exactly once).
 * @module
 */

/** A bounded set of recently seen keys, oldest forgotten first. */
export class DedupeWindow {
  readonly #size: number;
  readonly #seen = new Set<string>();

  /** Remembers up to `size` keys (0 disables). */
  constructor(size: number) {
    this.#size = size;
  }

  /** Whether `key` was seen; remembers it either way. */
  seen(key: string): boolean {
    if (this.#size === 0) return false;
    if (this.#seen.has(key)) return true;
    this.#seen.add(key);
    if (this.#seen.size > this.#size) {
      this.#seen.delete(this.#seen.values().next().value!);
    }
    return false;
  }
}
