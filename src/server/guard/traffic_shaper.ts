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

/** The rates and capacities of one kind of sender's buckets (shared by all its buckets). */
interface BucketLimits {
  /** Envelopes per second (0: not limited). */
  readonly envelopes: number;
  /** Bytes per second (0: not limited). */
  readonly bytes: number;
  /** What the buckets hold: `burst` seconds' worth. */
  readonly envelopeCapacity: number;
  readonly byteCapacity: number;
}

function bucketLimits(limits: RateLimits, burst = 1): BucketLimits {
  const envelopes = limits.envelopesPerSecond || 0;
  const bytes = limits.bytesPerSecond || 0;
  return { envelopes, bytes, envelopeCapacity: envelopes * burst, byteCapacity: bytes * burst };
}

/**
 * The two token buckets of one sender (envelopes and bytes), which may go into debt, in one
 * object: a server keeps two sets per session (the session's and, for a guest, its identity's).
 * Refilling both at every charge gives what refilling each at its own charges would: tokens only
 * grow with time, up to the capacity.
 */
class Buckets {
  readonly #limits: BucketLimits;
  #envelopes: number;
  #bytes: number;
  #at: number;

  constructor(limits: BucketLimits, now: number) {
    this.#limits = limits;
    this.#envelopes = limits.envelopeCapacity;
    this.#bytes = limits.byteCapacity;
    this.#at = now;
  }

  #refill(now: number): void {
    const limits = this.#limits;
    const elapsed = now - this.#at;
    this.#at = now;
    if (limits.envelopes) {
      this.#envelopes = Math.min(
        limits.envelopeCapacity,
        this.#envelopes + elapsed * limits.envelopes / 1000,
      );
    }
    if (limits.bytes) {
      this.#bytes = Math.min(limits.byteCapacity, this.#bytes + elapsed * limits.bytes / 1000);
    }
  }

  /**
   * Takes `envelopes` (1, or 0 for bytes alone) and `bytes`; returns the ms until the buckets
   * charged are out of debt (0: they are not in debt).
   */
  charge(envelopes: number, bytes: number, now: number): number {
    this.#refill(now);
    const limits = this.#limits;
    let wait = 0;
    if (limits.envelopes && envelopes) {
      this.#envelopes -= envelopes;
      if (this.#envelopes < 0) wait = -this.#envelopes * 1000 / limits.envelopes;
    }
    if (limits.bytes) {
      this.#bytes -= bytes;
      if (this.#bytes < 0) wait = Math.max(wait, -this.#bytes * 1000 / limits.bytes);
    }
    return wait;
  }

  /** Gives back what {@link charge} took (an envelope that was refused after all). */
  refund(bytes: number): void {
    const limits = this.#limits;
    if (limits.envelopes) this.#envelopes = Math.min(limits.envelopeCapacity, this.#envelopes + 1);
    if (limits.bytes) this.#bytes = Math.min(limits.byteCapacity, this.#bytes + bytes);
  }
}

/** Buckets shared by several sessions (an identity's, an address's), counted by their users. */
class SharedEntry extends Buckets {
  users = 0;
  readonly key: string;

  constructor(key: string, limits: BucketLimits, now: number) {
    super(limits, now);
    this.key = key;
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

/** Buckets shared by several sessions (an identity's, an address's), by key. */
class SharedBuckets {
  readonly #limits: BucketLimits;
  readonly #clock: Clock;
  readonly #entries = new Map<string, SharedEntry>();

  constructor(limits: BucketLimits, clock: Clock) {
    this.#limits = limits;
    this.#clock = clock;
  }

  acquire(key: string): SharedEntry {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = new SharedEntry(key, this.#limits, this.#clock.now());
      this.#entries.set(key, entry);
    }
    entry.users++;
    return entry;
  }

  /** One user lets go: the buckets go when their last user lets go. */
  release(entry: SharedEntry): void {
    if (--entry.users === 0 && this.#entries.get(entry.key) === entry) {
      this.#entries.delete(entry.key);
    }
  }
}

/**
 * A session's shaper: its own buckets (it is them), its identity's and its address's, each when
 * there are some (an HTTP request's shaper has only its address's).
 */
class BucketsShaper implements SessionShaper {
  readonly #clock: Clock;
  readonly #shaping: SharedBucketsPair;
  readonly #own: Buckets | undefined;
  readonly #identity: SharedEntry | undefined;
  readonly #address: SharedEntry | undefined;
  #released = false;

  constructor(
    clock: Clock,
    shaping: SharedBucketsPair,
    own: Buckets | undefined,
    identity: SharedEntry | undefined,
    address: SharedEntry | undefined,
  ) {
    this.#clock = clock;
    this.#shaping = shaping;
    this.#own = own;
    this.#identity = identity;
    this.#address = address;
  }

  #charge(envelopes: number, bytes: number): number {
    const now = this.#clock.now();
    return Math.max(
      this.#own?.charge(envelopes, bytes, now) ?? 0,
      this.#identity?.charge(envelopes, bytes, now) ?? 0,
      this.#address?.charge(envelopes, bytes, now) ?? 0,
    );
  }

  charge(bytes: number): number {
    return this.#charge(1, bytes);
  }

  chargeAnswer(bytes: number): number {
    return this.#charge(0, bytes);
  }

  refund(bytes: number): void {
    this.#own?.refund(bytes);
    this.#identity?.refund(bytes);
    this.#address?.refund(bytes);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#identity) this.#shaping.identities.release(this.#identity);
    if (this.#address) this.#shaping.addresses.release(this.#address);
  }
}

/** The shared buckets of a server, by identity and by source address. */
interface SharedBucketsPair {
  readonly identities: SharedBuckets;
  readonly addresses: SharedBuckets;
}

/** The shapers of a server's sessions, with the identity and address buckets they share. */
export class TrafficShaping {
  readonly #clock: Clock;
  readonly #session: RateLimits;
  readonly #sessionBuckets: BucketLimits;
  readonly #shared: SharedBucketsPair;
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
    this.#sessionBuckets = bucketLimits(session);
    this.#shared = {
      identities: new SharedBuckets(bucketLimits(identity), clock),
      // An address's many sessions get a short burst (a quarter second's worth): what they send
      // at once stays small next to everyone else's.
      addresses: new SharedBuckets(bucketLimits(address, 0.25), clock),
    };
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
    const shared = this.#shared;
    return new BucketsShaper(
      clock,
      shared,
      new Buckets(this.#sessionBuckets, clock.now()),
      shared.identities.acquire(identityKey),
      source === undefined ? undefined : shared.addresses.acquire(source),
    );
  }

  /**
   * A shaper charging only the buckets of source address `source`, which it shares with that
   * address's sessions (HTTP requests: their identity's share is a session's shaper).
   */
  forAddress(source: string): SessionShaper {
    const shared = this.#shared;
    return new BucketsShaper(
      this.#clock,
      shared,
      undefined,
      undefined,
      shared.addresses.acquire(source),
    );
  }
}
