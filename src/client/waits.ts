/**
 * The resilient client's bounded waits, on its injectable clock: a promise raced against an
 * abort signal and a timeout, and a sleep that an abort cuts short.
 * @module
 */
import { ChannelError } from "../channel/errors.ts";
import type { Clock } from "../clock.ts";

/**
 * Resolves as `promise` does, unless `signal` aborts first (an `aborted` ChannelError) or
 * `timeout` ms pass (a `timeout` ChannelError; 0: no timeout). Leaves no listener or timer.
 */
export async function raceWithin<T>(
  promise: Promise<T>,
  clock: Clock,
  signal?: AbortSignal,
  timeout = 0,
): Promise<T> {
  const waits: Promise<T>[] = [promise];
  const cleanups: (() => void)[] = [];
  if (signal) {
    waits.push(
      new Promise((_, reject) => {
        const onAbort = () => reject(new ChannelError("aborted", "The wait was aborted"));
        if (signal.aborted) onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener("abort", onAbort));
      }),
    );
  }
  if (timeout) {
    waits.push(
      new Promise((_, reject) => {
        const timer = clock.setTimeout(
          () =>
            reject(new ChannelError("timeout", `No session was established within ${timeout} ms`)),
          timeout,
        );
        cleanups.push(() => clock.clearTimeout(timer));
      }),
    );
  }
  try {
    return await Promise.race(waits);
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

/** Resolves after `ms` ms, or at once when `signal` aborts. */
export function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
