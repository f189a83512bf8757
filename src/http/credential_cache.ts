/**
 * Verified HTTP credentials, remembered briefly: a request signed in with a password or key
 * costs a PBKDF2 hash (600,000 iterations, tens of milliseconds of a worker thread), so a bot
 * sending with the same `Authorization` header again within `ttl` is let in without hashing.
 *
 * Entries are keyed by the SHA-256 of the whole header (the secret itself is not kept) and hold
 * the identity and the stored hash the secret matched. A hit still reads the account: it counts
 * only while the account holds that same hash, so a new password or key (or a deleted account)
 * invalidates it at once, in every process sharing the store. At most `maxEntries` are kept (the
 * oldest go first); failures are never cached (the login throttle counts them).
 * @module
 */
import type { Clock } from "../clock.ts";

/** Options of a {@link CredentialCache}. */
export interface CredentialCacheOptions {
  /** Milliseconds a verified header is remembered. Default 60,000; 0 turns the cache off. */
  ttl?: number;
  /** Most headers remembered. Default 10,000. */
  maxEntries?: number;
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
}

const encoder = new TextEncoder();

/** The cache key of an `Authorization` header: its SHA-256, hex. */
export async function headerDigest(header: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(header)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** A bounded, short-lived map from header digests to what they proved. */
export class CredentialCache {
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();

  /** A cache on `clock`. */
  constructor(clock: Clock, options: CredentialCacheOptions = {}) {
    this.#clock = clock;
    this.#ttl = options.ttl ?? 60_000;
    this.#max = Math.max(1, options.maxEntries ?? 10_000);
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

  /** Remembers what `digest` proved. */
  set(digest: string, verified: VerifiedCredentials): void {
    if (!this.enabled) return;
    this.#entries.delete(digest);
    if (this.#entries.size >= this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(digest, { ...verified, expires: this.#clock.now() + this.#ttl });
  }

  /** Forgets `digest` (its account no longer holds the hash it matched). */
  delete(digest: string): void {
    this.#entries.delete(digest);
  }
}
