/**
 * Reconnection delays: exponential backoff with jitter.
 * @module
 */

/** How reconnection waits. */
export interface BackoffOptions {
  /** First delay, in ms. Default 250. */
  initialDelay?: number;
  /** Largest delay, in ms. Default 30,000. */
  maxDelay?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Random spread, as a fraction of the delay (0.2 = ±20%). Default 0.2. */
  jitter?: number;
  /** Attempts before giving up; `Infinity` never gives up. Default Infinity. */
  maxAttempts?: number;
}

/** The defaults above. */
export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialDelay: 250,
  maxDelay: 30_000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Infinity,
});

/**
 * The delay before reconnection attempt `attempt` (1-based): `initialDelay × factor^(attempt-1)`,
 * capped at `maxDelay`, then spread by ±`jitter` with `random()` (in [0, 1)).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { initialDelay, maxDelay, factor, jitter } = { ...BACKOFF_DEFAULTS, ...options };
  const base = Math.min(maxDelay, initialDelay * factor ** Math.max(0, attempt - 1));
  const spread = base * jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}
