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
  /** Limits shared by all the sessions from one source address (see `source_address.ts`). */
  perAddress?: RateLimits;
}

/**
 * The defaults: per session 10,000 envelopes/s and 32 MiB/s; per identity twice that; per
 * source address 20,000 envelopes/s and 32 MiB/s (what the server sends in answer to a session's
 * requests counts too, so a few small requests cannot buy megabytes of responses).
 */
export const DEFAULT_RATE_LIMITS: Readonly<
  {
    envelopesPerSecond: number;
    bytesPerSecond: number;
    perIdentity: Required<RateLimits>;
    perAddress: Required<RateLimits>;
  }
> = Object.freeze({
  envelopesPerSecond: 10_000,
  bytesPerSecond: 32 * 1024 * 1024,
  perIdentity: Object.freeze({ envelopesPerSecond: 20_000, bytesPerSecond: 64 * 1024 * 1024 }),
  perAddress: Object.freeze({ envelopesPerSecond: 20_000, bytesPerSecond: 32 * 1024 * 1024 }),
});

/** A token bucket that may go into debt. */
class Bucket {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #at: number;

  /** `rate` per second, holding `burst` seconds' worth. */
  constructor(rate: number, now: number, burst = 1) {
    this.#rate = rate;
    this.#capacity = rate * burst;
    this.#tokens = this.#capacity;
    this.#at = now;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#rate / 1000);
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
    this.#tokens = Math.min(this.#capacity, this.#tokens + amount);
  }
}

/** The buckets of one sender: envelopes and bytes, when limited. */
class Buckets {
  readonly envelopes: Bucket | undefined;
  readonly bytes: Bucket | undefined;

  constructor(limits: RateLimits, now: number, burst = 1) {
    this.envelopes = limits.envelopesPerSecond
      ? new Bucket(limits.envelopesPerSecond, now, burst)
      : undefined;
    this.bytes = limits.bytesPerSecond ? new Bucket(limits.bytesPerSecond, now, burst) : undefined;
  }

  charge(bytes: number, now: number): number {
    return Math.max(this.envelopes?.charge(1, now) ?? 0, this.bytes?.charge(bytes, now) ?? 0);
  }

  chargeBytes(bytes: number, now: number): number {
    return this.bytes?.charge(bytes, now) ?? 0;
  }

  refund(bytes: number): void {
    this.envelopes?.refund(1);
    this.bytes?.refund(bytes);
  }
}

/** What one session is charged to: its own buckets, its identity's and its address's. */
export interface SessionShaper {
  /** Charges one received envelope of `bytes`; returns the ms the session must wait (0: none). */
  charge(bytes: number): number;
  /**
   * Charges `bytes` the server sends in answer to the session (no envelope counted); returns the
   * ms the session must wait.
   */
  chargeAnswer(bytes: number): number;
  /** Undoes the last charge (the envelope was refused, not delivered). */
  refund(bytes: number): void;
  /** The session ended: its identity's and address's buckets go when no session uses them. */
  release(): void;
}

/** Buckets shared by several sessions (an identity's, an address's), counted by their users. */
class SharedBuckets {
  readonly #limits: RateLimits;
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #entries = new Map<string, { buckets: Buckets; users: number }>();

  constructor(limits: RateLimits, clock: Clock, burst = 1) {
    this.#limits = limits;
    this.#clock = clock;
    this.#burst = burst;
  }

  acquire(key: string): BucketsLease {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { buckets: new Buckets(this.#limits, this.#clock.now(), this.#burst), users: 0 };
      this.#entries.set(key, entry);
    }
    entry.users++;
    return new BucketsLease(this.#entries, key, entry);
  }
}

/** One user's hold on shared buckets (a class, not closures: a server keeps two per session). */
class BucketsLease {
  readonly #entries: Map<string, { buckets: Buckets; users: number }>;
  readonly #key: string;
  readonly #held: { buckets: Buckets; users: number };
  #released = false;

  constructor(
    entries: Map<string, { buckets: Buckets; users: number }>,
    key: string,
    held: { buckets: Buckets; users: number },
  ) {
    this.#entries = entries;
    this.#key = key;
    this.#held = held;
  }

  get buckets(): Buckets {
    return this.#held.buckets;
  }

  /** Lets go (once): the buckets go when their last user lets go. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const held = this.#held;
    if (--held.users === 0 && this.#entries.get(this.#key) === held) {
      this.#entries.delete(this.#key);
    }
  }
}

/** A session's shaper: its own buckets, its identity's and its address's. */
class BucketsShaper implements SessionShaper {
  readonly #clock: Clock;
  readonly #all: Buckets[];
  readonly #leases: BucketsLease[];

  constructor(clock: Clock, all: Buckets[], leases: BucketsLease[]) {
    this.#clock = clock;
    this.#all = all;
    this.#leases = leases;
  }

  charge(bytes: number): number {
    const now = this.#clock.now();
    let wait = 0;
    for (const buckets of this.#all) wait = Math.max(wait, buckets.charge(bytes, now));
    return wait;
  }

  chargeAnswer(bytes: number): number {
    const now = this.#clock.now();
    let wait = 0;
    for (const buckets of this.#all) wait = Math.max(wait, buckets.chargeBytes(bytes, now));
    return wait;
  }

  refund(bytes: number): void {
    for (const buckets of this.#all) buckets.refund(bytes);
  }

  release(): void {
    for (const lease of this.#leases) lease.release();
  }
}

/** The shapers of a server's sessions, with the identity and address buckets they share. */
export class TrafficShaping {
  readonly #clock: Clock;
  readonly #session: RateLimits;
  readonly #identities: SharedBuckets;
  readonly #addresses: SharedBuckets;
  readonly #limited: boolean;

  /** Shaping on `clock` with these limits (`false` or 0 envelopes/s: none at all). */
  constructor(clock: Clock, limits: RateLimitOptions | number | false | undefined) {
    this.#clock = clock;
    let session: RateLimits;
    let identity: RateLimits;
    let address: RateLimits;
    if (limits === false || limits === 0) {
      session = identity = address = {};
    } else if (typeof limits === "number") {
      // The shorthand: envelopes per session (per identity twice that), nothing per address.
      session = { ...DEFAULT_RATE_LIMITS, envelopesPerSecond: limits };
      identity = { ...DEFAULT_RATE_LIMITS.perIdentity, envelopesPerSecond: 2 * limits };
      address = {};
    } else {
      session = {
        envelopesPerSecond: limits?.envelopesPerSecond ?? DEFAULT_RATE_LIMITS.envelopesPerSecond,
        bytesPerSecond: limits?.bytesPerSecond ?? DEFAULT_RATE_LIMITS.bytesPerSecond,
      };
      identity = { ...DEFAULT_RATE_LIMITS.perIdentity, ...limits?.perIdentity };
      address = { ...DEFAULT_RATE_LIMITS.perAddress, ...limits?.perAddress };
    }
    this.#session = session;
    this.#identities = new SharedBuckets(identity, clock);
    // An address's many sessions get a short burst (a quarter second's worth): what they send at
    // once stays small next to everyone else's.
    this.#addresses = new SharedBuckets(address, clock, 0.25);
    this.#limited = [session, identity, address].some((l) =>
      !!(l.envelopesPerSecond || l.bytesPerSecond)
    );
  }

  /** Whether anything is limited at all. */
  get limited(): boolean {
    return this.#limited;
  }

  /** The limits per session. */
  get sessionLimits(): Readonly<RateLimits> {
    return this.#session;
  }

  /** A shaper for a new session of `identityKey` from `source` (undefined: no address buckets). */
  forSession(identityKey: string, source?: string): SessionShaper {
    const clock = this.#clock;
    const own = new Buckets(this.#session, clock.now());
    const identity = this.#identities.acquire(identityKey);
    const address = source === undefined ? undefined : this.#addresses.acquire(source);
    return address
      ? new BucketsShaper(clock, [own, identity.buckets, address.buckets], [identity, address])
      : new BucketsShaper(clock, [own, identity.buckets], [identity]);
  }

  /**
   * A shaper charging only the buckets of source address `source`, which it shares with that
   * address's sessions (HTTP requests: their identity's share is a session's shaper).
   */
  forAddress(source: string): SessionShaper {
    const clock = this.#clock;
    const address = this.#addresses.acquire(source);
    return new BucketsShaper(clock, [address.buckets], [address]);
  }
}
