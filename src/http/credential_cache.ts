/**
 * Verified HTTP credentials, remembered briefly: a request signed in with a password or key
 * costs a PBKDF2 hash (600,000 iterations, tens of milliseconds of a worker thread), so a bot
 * sending with the same `Authorization` header again within `ttl` is let in without hashing.
 *
 * Entries are keyed by the SHA-256 of the whole header (the secret itself is not kept) and hold
 * the identity and the stored hash the secret matched. A hit counts only while the account holds
 * that same hash: the account is read again when the entry was last checked more than
 * `revalidateAfter` ago (one read for all the requests arriving meanwhile), so a new password or
 * key (or a deleted account) invalidates it within that time in every process sharing the store,
 * without a store read per request. At most `maxEntries` are
 * kept (the oldest go first); failures are never cached (the login throttle counts them).
 * @module
 */
import { AgedMap } from "../aged_map.ts";
import { createHash } from "node:crypto";
import type { Clock } from "../clock.ts";

/** Options of a {@link CredentialCache}. */
export interface CredentialCacheOptions {
  /** Milliseconds a verified header is remembered. Default 60,000; 0 turns the cache off. */
  ttl?: number;
  /** Most headers remembered. Default 10,000. */
  maxEntries?: number;
  /**
   * Milliseconds a hit is taken without reading the account again (whether it still holds the
   * hash). Default 1,000; 0 reads it on every request.
   */
  revalidateAfter?: number;
}

/** What a verified header proved. */
export interface VerifiedCredentials {
  /** The identity, lower-cased. */
  identityKey: string;
  /** The stored hash (base64) the secret matched. */
  hash: string;
}

interface Entry extends VerifiedCredentials {
  expires: number;
  checkedUntil: number;
}

/** The cache key of an `Authorization` header: its SHA-256, base64 (synchronous: cheap). */
export function headerDigest(header: string): string {
  return createHash("sha256").update(header).digest("base64");
}

/** A bounded, short-lived map from header digests to what they proved. */
export class CredentialCache {
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #max: number;
  readonly #revalidate: number;
  readonly #entries = new AgedMap<string, Entry>();
  #epoch = 0;

  /** A cache on `clock`. */
  constructor(clock: Clock, options: CredentialCacheOptions = {}) {
    this.#clock = clock;
    this.#ttl = options.ttl ?? 60_000;
    this.#max = Math.max(1, options.maxEntries ?? 10_000);
    this.#revalidate = Math.max(0, options.revalidateAfter ?? 1_000);
  }

  /** Whether the cache keeps anything. */
  get enabled(): boolean {
    return this.#ttl > 0;
  }

  /** Headers remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /** What `digest` proved, while fresh. */
  get(digest: string): VerifiedCredentials | undefined {
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    if (entry.expires <= this.#clock.now()) {
      this.#entries.delete(digest);
      return undefined;
    }
    return entry;
  }

  /**
   * Bumped whenever an identity's entries are forgotten: a verification that read the account
   * before that must not put what it proved into the cache afterwards.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Remembers what `digest` proved, from an account read at `readAt` (the entry counts as checked
   * from then, not from now) when no identity was forgotten since `epoch`.
   */
  set(digest: string, verified: VerifiedCredentials, readAt?: number, epoch?: number): void {
    if (!this.enabled) return;
    if (epoch !== undefined && epoch !== this.#epoch) return;
    this.#entries.delete(digest);
    if (this.#entries.size >= this.#max) this.#entries.deleteOldest();
    const now = this.#clock.now();
    this.#entries.set(digest, {
      ...verified,
      expires: now + this.#ttl,
      checkedUntil: (readAt ?? now) + this.#revalidate,
    });
  }

  /** Whether the account behind `digest` was checked within `revalidateAfter`. */
  checked(digest: string): boolean {
    const entry = this.#entries.get(digest);
    return entry !== undefined && entry.checkedUntil > this.#clock.now();
  }

  /** Notes that the account behind `digest` still held its hash at `readAt`. */
  confirm(digest: string, readAt = this.#clock.now()): void {
    const entry = this.#entries.get(digest);
    if (entry) entry.checkedUntil = readAt + this.#revalidate;
  }

  /** Forgets every header of `identityKey` (its password or key changed on this server). */
  forgetIdentity(identityKey: string): void {
    this.#epoch++;
    for (const [digest, entry] of this.#entries.entries()) {
      if (entry.identityKey === identityKey) this.#entries.delete(digest);
    }
  }

  /** Forgets `digest` (its account no longer holds the hash it matched). */
  delete(digest: string): void {
    this.#entries.delete(digest);
  }
}
