/**
 * A {@link Clock} whose timers share one system timer: deadlines wait in a binary heap and the
 * system timer is armed for the earliest. A server keeps a few timers per session (the remote
 * ping, the command and send deadlines, rate holds); as `setTimeout` timers each costs a `Timeout`
 * object with its closures (about 500 bytes), re-made whenever it is re-armed, which at 20,000
 * idle sessions was 10 MB of heap and a steady stream of objects promoted by every round of
 * pings. Here a timer is one small entry; the callbacks run in deadline order (ties in the order
 * they were scheduled), like `setTimeout`'s. Unlike Node's timers, callbacks due together run one
 * after another in one turn, and the promise reactions they start run after all of them (as with
 * the `ManualClock` of the tests). A callback that throws does not stop the others: the first
 * error is thrown from the turn, any further one from a microtask, each as an uncaught error.
 * @module
 */
import { type Clock, systemClock, type TimerHandle } from "../clock.ts";

/** The longest delay a system timer takes. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** One scheduled callback (the handle `setTimeout` returns). */
interface Entry {
  at: number;
  seq: number;
  callback: (() => void) | undefined;
  /** Its place in the heap; -1 once it ran or was cancelled. */
  index: number;
}

/** Timers on one underlying clock's timer, kept in a heap by deadline. */
export class HeapClock implements Clock {
  readonly #base: Clock;
  readonly #heap: Entry[] = [];
  #seq = 0;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #running = false;

  /** The base clock's time (its own function: channels read it for every envelope received). */
  readonly now: () => number;

  /** Timers of `base` (the system clock by default), one at a time. */
  constructor(base: Clock = systemClock) {
    this.#base = base;
    this.now = base.now.bind(base);
  }

  /** How many callbacks wait. */
  get pending(): number {
    return this.#heap.length;
  }

  /** Calls `callback` once `ms` milliseconds have passed. */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const entry: Entry = {
      at: this.#base.now() + Math.max(0, ms || 0),
      seq: this.#seq++,
      callback,
      index: this.#heap.length,
    };
    this.#heap.push(entry);
    this.#up(entry.index);
    if (!this.#running && entry.at < this.#timerAt) this.#arm(entry.at);
    return entry;
  }

  /** Cancels a callback that has not run (anything else is ignored). */
  clearTimeout(handle: TimerHandle): void {
    const entry = handle as Entry | undefined;
    if (!entry || typeof entry !== "object" || entry.index < 0) return;
    if (this.#heap[entry.index] !== entry) return;
    this.#remove(entry.index);
    // The system timer stays armed: when it fires early it only re-arms for the next deadline.
    if (this.#heap.length === 0) this.#disarm();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#base.clearTimeout(this.#timer);
    this.#timerAt = at;
    // Timers take at most 2^31 - 1 ms (longer ones fire at once): a later deadline re-arms.
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - this.#base.now()));
    this.#timer = this.#base.setTimeout(this.#fire, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#base.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** Runs what is due, then arms for the next deadline. */
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#running = true;
    let failure: { error: unknown } | undefined;
    try {
      const now = this.#base.now();
      const heap = this.#heap;
      // What a callback schedules now waits for a later turn, even at 0 ms (as with setTimeout).
      const scheduledBefore = this.#seq;
      while (heap.length > 0 && heap[0].at <= now && heap[0].seq < scheduledBefore) {
        const entry = heap[0];
        this.#remove(0);
        const callback = entry.callback!;
        entry.callback = undefined;
        try {
          callback();
        } catch (error) {
          // The rest still runs; the first error surfaces below, the others on their own.
          if (failure) {
            queueMicrotask(() => {
              throw error;
            });
          } else failure = { error };
        }
      }
    } finally {
      this.#running = false;
      if (this.#heap.length > 0) this.#arm(this.#heap[0].at);
    }
    if (failure) throw failure.error;
  };

  #remove(index: number): void {
    const heap = this.#heap;
    const entry = heap[index];
    const last = heap.pop()!;
    entry.index = -1;
    if (last === entry) return;
    heap[index] = last;
    last.index = index;
    this.#down(index);
    this.#up(last.index);
  }

  #before(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #up(index: number): void {
    const heap = this.#heap;
    const entry = heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#before(entry, heap[parent])) break;
      heap[index] = heap[parent];
      heap[index].index = index;
      index = parent;
    }
    heap[index] = entry;
    entry.index = index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const entry = heap[index];
    const size = heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= size) break;
      if (child + 1 < size && this.#before(heap[child + 1], heap[child])) child++;
      if (!this.#before(heap[child], entry)) break;
      heap[index] = heap[child];
      heap[index].index = index;
      index = child;
    }
    heap[index] = entry;
    entry.index = index;
  }
}
