/**
 * A token bucket: `rate` tokens per second, holding at most one second's worth.
 * @module
 */
import type { Clock } from "../clock.ts";

/** Allows up to `rate` events per second, in bursts of up to `rate`. */
export class RateLimiter {
  readonly #clock: Clock;
  readonly #rate: number;
  #tokens: number;
  #at: number;

  /** A limiter; `rate` 0 allows everything. */
  constructor(clock: Clock, rate: number) {
    this.#clock = clock;
    this.#rate = rate;
    this.#tokens = rate;
    this.#at = clock.now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    if (this.#rate === 0) return true;
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + (now - this.#at) * this.#rate / 1000);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
