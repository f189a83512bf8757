/**
 * The budgets of HTTP requests per source address: how many may be in progress at once (past
 * that, 429 at once; past the server-wide cap, 503), and the address's share of the rate limits
 * (the buckets it shares with its WebSocket and TCP sessions, `TrafficShaping.forAddress`). HTTP
 * cannot be slowed by pausing a socket, so a request over a rate is refused with 429 and
 * `Retry-After` instead of shaped.
 * @module
 */
import { AgedMap } from "../aged_map.ts";
import type { Clock } from "../clock.ts";
import type { SessionShaper, TrafficShaping } from "../server/guard/traffic_shaper.ts";

/** Requests in progress per source address and in all. */
export class RequestSlots {
  readonly #perAddress: number;
  readonly #total: number;
  readonly #counts = new Map<string, number>();
  #all = 0;

  /** At most `perAddress` (0: no cap) from one address and `total` in all. */
  constructor(perAddress: number, total: number) {
    this.#perAddress = perAddress;
    this.#total = total;
  }

  /** Requests in progress. */
  get size(): number {
    return this.#all;
  }

  /** Takes a slot for `source`: `ok`, or which cap is full. */
  enter(source: string | undefined): "ok" | "address" | "total" {
    if (this.#all >= this.#total) return "total";
    if (source !== undefined) {
      const count = this.#counts.get(source) ?? 0;
      if (this.#perAddress > 0 && count >= this.#perAddress) return "address";
      this.#counts.set(source, count + 1);
    }
    this.#all++;
    return "ok";
  }

  /** Gives back a slot taken with {@link enter}. */
  leave(source: string | undefined): void {
    this.#all--;
    if (source === undefined) return;
    const count = (this.#counts.get(source) ?? 1) - 1;
    if (count > 0) this.#counts.set(source, count);
    else this.#counts.delete(source);
  }
}

/** The address shapers of recent HTTP clients, kept while they send and released when idle. */
export class AddressShapers {
  readonly #shaping: TrafficShaping;
  readonly #clock: Clock;
  readonly #idle: number;
  readonly #max: number;
  readonly #shapers = new AgedMap<string, { shaper: SessionShaper; used: number }>();

  /** Shapers from `shaping`, released `idle` ms after their last use; at most `max` kept. */
  constructor(shaping: TrafficShaping, clock: Clock, idle = 10_000, max = 100_000) {
    this.#shaping = shaping;
    this.#clock = clock;
    this.#idle = idle;
    this.#max = max;
  }

  /** Addresses with a shaper now. */
  get size(): number {
    return this.#shapers.size;
  }

  /** The shaper of `source`. */
  get(source: string): SessionShaper {
    const now = this.#clock.now();
    let entry = this.#shapers.get(source);
    if (entry) {
      entry.used = now;
      // Most recently used last: the oldest go first when full.
      this.#shapers.set(source, entry);
      return entry.shaper;
    }
    if (this.#shapers.size >= this.#max) {
      this.#shapers.deleteOldest()![1].shaper.release();
    }
    entry = { shaper: this.#shaping.forAddress(source), used: now };
    this.#shapers.set(source, entry);
    return entry.shaper;
  }

  /** Releases the shapers idle for longer than the idle time. */
  sweep(): void {
    const now = this.#clock.now();
    for (let oldest = this.#shapers.oldest(); oldest; oldest = this.#shapers.oldest()) {
      if (now - oldest[1].used < this.#idle) break;
      oldest[1].shaper.release();
      this.#shapers.deleteOldest();
    }
  }

  /** Releases every shaper. */
  clear(): void {
    for (const [, entry] of this.#shapers.entries()) entry.shaper.release();
    this.#shapers.clear();
  }
}
