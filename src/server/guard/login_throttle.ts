/**
 * Login throttling: failed sign-ins (plain, key, external) are counted per identity and per
 * source address; past a few free failures, further attempts must wait a delay that doubles with
 * every failure (up to a cap) and are refused at once, without hashing, until it has passed. A
 * success clears the identity's count (its owner is back); an address's count is only forgotten
 * after `forgetAfter` without failures, so a valid account cannot be used to wash an address.
 * Refusals carry reason 34, not 13, so a client with the right password (say, a bot whose
 * identity someone else is guessing at) retries later instead of giving up.
 *
 * Attempts in progress count as failures not known yet: an identity has at most its free
 * failures in flight at once (then one at a time), and an address that is being delayed one at
 * a time, so opening many connections and guessing on all of them at once gains nothing.
 * @module
 */
import { AgedMap } from "../../aged_map.ts";
import type { Clock } from "../../clock.ts";
import type { Reason } from "../../errors.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";

/** Limits of one kind of key. */
export interface ThrottleLimits {
  /** Failures allowed before delays start. */
  free: number;
  /** The first delay, in ms; it doubles with every further failure. */
  baseDelay: number;
  /** The longest delay, in ms. */
  maxDelay: number;
}

/** Options of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Per identity. Default 5 free failures, then 1 s doubling up to 60 s. */
  identity?: Partial<ThrottleLimits>;
  /** Per source address. Default 20 free failures, then 1 s doubling up to 5 min. */
  address?: Partial<ThrottleLimits>;
  /** Milliseconds without failures after which a key's count is forgotten. Default 15 min. */
  forgetAfter?: number;
  /** Most keys remembered (the oldest are forgotten first). Default 100,000. */
  maxKeys?: number;
}

const IDENTITY: ThrottleLimits = { free: 5, baseDelay: 1_000, maxDelay: 60_000 };
const ADDRESS: ThrottleLimits = { free: 20, baseDelay: 1_000, maxDelay: 300_000 };

const refusal = (description: string): Reason => ({
  code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
  description,
});

interface Failures {
  count: number;
  last: number;
}

/**
 * What the authenticator asks of a sign-in throttle: {@link LoginThrottle} in one process, or one
 * shared by a cluster (its check may then wait for the shared state).
 */
export interface SignInThrottle {
  /**
   * Why an attempt must not be tried now, or undefined when it may (it is then in progress until
   * settled with exactly one of `failed`, `succeeded` or `abandoned`).
   */
  check(
    identity: string,
    address: string | undefined,
  ): Reason | undefined | Promise<Reason | undefined>;
  /** Settles a checked attempt as failed. */
  failed(identity: string, address: string | undefined): void;
  /** Settles a checked attempt as a success. */
  succeeded(identity: string, address: string | undefined): void;
  /** Settles a checked attempt that ended without a verdict. */
  abandoned(identity: string, address: string | undefined): void;
}

/** Failure counts and the delays they impose. */
export class LoginThrottle implements SignInThrottle {
  readonly #clock: Clock;
  readonly #identity: ThrottleLimits;
  readonly #address: ThrottleLimits;
  readonly #forgetAfter: number;
  readonly #maxKeys: number;
  readonly #failures = new AgedMap<string, Failures>();
  /** Attempts checked and not yet settled, per key. */
  readonly #pending = new Map<string, number>();

  /** A throttle on `clock`. */
  constructor(clock: Clock, options: LoginThrottleOptions = {}) {
    this.#clock = clock;
    this.#identity = { ...IDENTITY, ...options.identity };
    this.#address = { ...ADDRESS, ...options.address };
    this.#forgetAfter = options.forgetAfter ?? 15 * 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /**
   * Why an attempt for `identity` from `address` must not be tried now (reason 34 with the wait),
   * or undefined when it may: the attempt is then in progress until it is settled with exactly
   * one of {@link failed}, {@link succeeded} or {@link abandoned}.
   */
  check(identity: string, address: string | undefined): Reason | undefined {
    const now = this.#clock.now();
    const identityKey = `i:${identity.toLowerCase()}`;
    const addressKey = address === undefined ? undefined : `a:${address}`;
    const waits = [
      this.#wait(identityKey, this.#identity, now),
      addressKey === undefined ? 0 : this.#wait(addressKey, this.#address, now),
    ];
    const wait = Math.max(...waits);
    if (wait > 0) {
      const which = waits[0] >= waits[1] ? "this identity" : "this address";
      return refusal(
        `Too many failed sign-ins for ${which}; try again in ${Math.ceil(wait / 1000)} s`,
      );
    }
    const identityBusy = this.#inFlight(identityKey, this.#identity, now, true);
    if (identityBusy || (addressKey && this.#inFlight(addressKey, this.#address, now, false))) {
      const which = identityBusy ? "this identity" : "this address";
      return refusal(`Sign-ins for ${which} are already being checked; try again in 1 s`);
    }
    this.#adjust(identityKey, 1);
    if (addressKey !== undefined) this.#adjust(addressKey, 1);
    return undefined;
  }

  /** Settles a checked attempt as failed. */
  failed(identity: string, address: string | undefined): void {
    this.abandoned(identity, address);
    this.#bump(`i:${identity.toLowerCase()}`);
    if (address !== undefined) this.#bump(`a:${address}`);
  }

  /** Settles a checked attempt as a success: the identity's failures are forgotten. */
  succeeded(identity: string, address: string | undefined): void {
    this.abandoned(identity, address);
    this.#failures.delete(`i:${identity.toLowerCase()}`);
  }

  /** Settles a checked attempt that ended without a verdict (the server was busy, an error). */
  abandoned(identity: string, address: string | undefined): void {
    this.#adjust(`i:${identity.toLowerCase()}`, -1);
    if (address !== undefined) this.#adjust(`a:${address}`, -1);
  }

  /**
   * Whether the attempts in progress for `key` take what it may have at once: its free failures
   * minus those it has (`strict`, identities), or one once it is being delayed (addresses, where
   * many people behind one NAT may sign in at once).
   */
  #inFlight(key: string, limits: ThrottleLimits, now: number, strict: boolean): boolean {
    const pending = this.#pending.get(key) ?? 0;
    if (pending === 0) return false;
    const entry = this.#failures.get(key);
    const count = entry && now - entry.last < this.#forgetAfter ? entry.count : 0;
    return strict ? count + pending >= limits.free : count >= limits.free;
  }

  #adjust(key: string, by: number): void {
    const pending = (this.#pending.get(key) ?? 0) + by;
    if (pending > 0) this.#pending.set(key, pending);
    else this.#pending.delete(key);
  }

  #wait(key: string, limits: ThrottleLimits, now: number): number {
    const entry = this.#failures.get(key);
    if (!entry) return 0;
    if (now - entry.last >= this.#forgetAfter) {
      this.#failures.delete(key);
      return 0;
    }
    if (entry.count < limits.free) return 0;
    const delay = Math.min(
      limits.maxDelay,
      limits.baseDelay * 2 ** Math.min(30, entry.count - limits.free),
    );
    return entry.last + delay - now;
  }

  #bump(key: string): void {
    const now = this.#clock.now();
    const entry = this.#failures.get(key);
    if (entry && now - entry.last < this.#forgetAfter) {
      entry.count++;
      entry.last = now;
      // Most recently failing keys go last: the oldest are forgotten first when full.
      this.#failures.set(key, entry);
      return;
    }
    this.#failures.delete(key);
    if (this.#failures.size >= this.#maxKeys) this.#failures.deleteOldest();
    this.#failures.set(key, { count: 1, last: now });
  }
}
