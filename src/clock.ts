/**
 * Time, injectable: channels and clients take a {@link Clock} so that tests drive timeouts,
 * pings and backoff without sleeping.
 * @module
 */

/** An opaque timer handle. */
export type TimerHandle = unknown;

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since some fixed point. */
  now(): number;
  /** Calls `callback` after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** A clock that moves only when told to (for tests). */
export class ManualClock implements Clock {
  #now = 0;
  #next = 1;
  // Handles are numbers here.
  readonly #timers = new Map<TimerHandle, { at: number; callback: () => void }>();

  /** Current time. */
  now(): number {
    return this.#now;
  }

  /** Schedules a callback. */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = this.#next++;
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), callback });
    return handle;
  }

  /** Cancels a timer. */
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing due timers in order (including ones they schedule). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let due: [TimerHandle, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].callback();
    }
    this.#now = until;
  }
}
