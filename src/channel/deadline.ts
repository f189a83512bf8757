/**
 * A deadline: one AbortSignal that fires when the caller's signal aborts or when a timeout on the
 * channel's clock runs out, whichever comes first; `dispose()` removes the timer and listener.
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";
import { ChannelError } from "./errors.ts";

/** A combined abort signal with its cleanup. */
export interface Deadline extends Disposable {
  /** Aborts on timeout (reason: a `timeout` ChannelError) or on the caller's abort. */
  readonly signal: AbortSignal;
  /** Removes the timer and the listener. */
  dispose(): void;
}

/**
 * Creates a deadline `timeout` ms from now on `clock` (none when 0 or undefined), also following
 * `signal`. `what` names the wait in the timeout error ("Session establishment").
 */
export function deadline(
  clock: Clock,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  what: string,
): Deadline {
  const controller = new AbortController();
  let timer: TimerHandle | undefined;
  const onAbort = () =>
    controller.abort(
      new ChannelError("aborted", `${what} was aborted`, { cause: signal!.reason }),
    );
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  if (timeout && !controller.signal.aborted) {
    timer = clock.setTimeout(() => {
      timer = undefined;
      controller.abort(new ChannelError("timeout", `${what} timed out after ${timeout} ms`));
    }, timeout);
  }
  const dispose = () => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    signal?.removeEventListener("abort", onAbort);
  };
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose };
}

/** The error a deadline's abort carries (or a generic `aborted` one). */
export function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof ChannelError
    ? signal.reason
    : new ChannelError("aborted", "The operation was aborted", { cause: signal.reason });
}
