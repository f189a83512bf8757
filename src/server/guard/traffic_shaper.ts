/**
 * Shaping what sessions send, the way XMPP servers' shapers do: every received envelope is
 * charged to token buckets (envelopes and bytes per second, per session and per identity, each
 * holding one second's worth); a bucket may go into debt, and while one is in debt the server
 * stops reading from that session's connection until the debt is paid back. A fast sender is
 * slowed by TCP flow control and loses nothing, and an identity cannot multiply its rate by
 * opening sessions. Transports that cannot stop reading (the standard WebSocket API) are limited
 * the old way: what is over the limit is refused with 34.
 * @module
 */
import type { Clock } from "../../clock.ts";

/** Limits of one kind of sender; 0 = no limit. */
export interface RateLimits {
  /** Envelopes per second. */
  envelopesPerSecond?: number;
  /** Bytes per second (the envelopes' JSON, after TLS and gzip). */
  bytesPerSecond?: number;
}

/** The rate limits of a server. */
export interface RateLimitOptions extends RateLimits {
  /** Limits shared by all the sessions of one identity. */
  perIdentity?: RateLimits;
}

/** The defaults: per session 10,000 envelopes/s and 32 MiB/s; per identity twice that. */
export const DEFAULT_RATE_LIMITS: Readonly<
  { envelopesPerSecond: number; bytesPerSecond: number; perIdentity: Required<RateLimits> }
> = Object.freeze({
  envelopesPerSecond: 10_000,
  bytesPerSecond: 32 * 1024 * 1024,
  perIdentity: Object.freeze({ envelopesPerSecond: 20_000, bytesPerSecond: 64 * 1024 * 1024 }),
});

/** A token bucket that may go into debt. */
class Bucket {
  readonly #rate: number;
  #tokens: number;
  #at: number;

  constructor(rate: number, now: number) {
    this.#rate = rate;
    this.#tokens = rate;
    this.#at = now;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#rate, this.#tokens + (now - this.#at) * this.#rate / 1000);
    this.#at = now;
  }

  /** Takes `amount`; returns the ms until the bucket is out of debt (0: it is not in debt). */
  charge(amount: number, now: number): number {
    this.#refill(now);
    this.#tokens -= amount;
    return this.#tokens >= 0 ? 0 : -this.#tokens * 1000 / this.#rate;
  }

  /** Gives back what {@link charge} took (an envelope that was refused after all). */
  refund(amount: number): void {
    this.#tokens = Math.min(this.#rate, this.#tokens + amount);
  }
}

/** The buckets of one sender: envelopes and bytes, when limited. */
class Buckets {
  readonly envelopes: Bucket | undefined;
  readonly bytes: Bucket | undefined;

  constructor(limits: RateLimits, now: number) {
    this.envelopes = limits.envelopesPerSecond
      ? new Bucket(limits.envelopesPerSecond, now)
      : undefined;
    this.bytes = limits.bytesPerSecond ? new Bucket(limits.bytesPerSecond, now) : undefined;
  }

  charge(bytes: number, now: number): number {
    return Math.max(this.envelopes?.charge(1, now) ?? 0, this.bytes?.charge(bytes, now) ?? 0);
  }

  refund(bytes: number): void {
    this.envelopes?.refund(1);
    this.bytes?.refund(bytes);
  }
}

/** What one session is charged to: its own buckets and its identity's. */
export interface SessionShaper {
  /** Charges one received envelope of `bytes`; returns the ms the session must wait (0: none). */
  charge(bytes: number): number;
  /** Undoes the last charge (the envelope was refused, not delivered). */
  refund(bytes: number): void;
  /** The session ended: its identity's buckets go when no session uses them. */
  release(): void;
}

/** The shapers of a server's sessions, with the identity buckets they share. */
export class TrafficShaping {
  readonly #clock: Clock;
  readonly #session: RateLimits;
  readonly #identity: RateLimits;
  readonly #identities = new Map<string, { buckets: Buckets; users: number }>();

  /** Shaping on `clock` with these limits (`false` or 0 envelopes/s: none at all). */
  constructor(clock: Clock, limits: RateLimitOptions | number | false | undefined) {
    this.#clock = clock;
    if (limits === false || limits === 0) {
      this.#session = {};
      this.#identity = {};
    } else if (typeof limits === "number") {
      this.#session = { ...DEFAULT_RATE_LIMITS, envelopesPerSecond: limits };
      this.#identity = {
        ...DEFAULT_RATE_LIMITS.perIdentity,
        envelopesPerSecond: 2 * limits,
      };
    } else {
      this.#session = {
        envelopesPerSecond: limits?.envelopesPerSecond ?? DEFAULT_RATE_LIMITS.envelopesPerSecond,
        bytesPerSecond: limits?.bytesPerSecond ?? DEFAULT_RATE_LIMITS.bytesPerSecond,
      };
      this.#identity = { ...DEFAULT_RATE_LIMITS.perIdentity, ...limits?.perIdentity };
    }
  }

  /** Whether anything is limited at all. */
  get limited(): boolean {
    return !!(this.#session.envelopesPerSecond || this.#session.bytesPerSecond ||
      this.#identity.envelopesPerSecond || this.#identity.bytesPerSecond);
  }

  /** The limits per session. */
  get sessionLimits(): Readonly<RateLimits> {
    return this.#session;
  }

  /** A shaper for a new session of `identityKey`. */
  forSession(identityKey: string): SessionShaper {
    const clock = this.#clock;
    const own = new Buckets(this.#session, clock.now());
    let shared = this.#identities.get(identityKey);
    if (!shared) {
      shared = { buckets: new Buckets(this.#identity, clock.now()), users: 0 };
      this.#identities.set(identityKey, shared);
    }
    shared.users++;
    const identity = shared;
    let released = false;
    return {
      charge: (bytes) => {
        const now = clock.now();
        return Math.max(own.charge(bytes, now), identity.buckets.charge(bytes, now));
      },
      refund: (bytes) => {
        own.refund(bytes);
        identity.buckets.refund(bytes);
      },
      release: () => {
        if (released) return;
        released = true;
        if (--identity.users === 0) this.#identities.delete(identityKey);
      },
    };
  }
}
