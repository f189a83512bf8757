/**
 * Salted password (and key) hashes with PBKDF2-HMAC-SHA-256 through WebCrypto. Only hashes are
 * stored; verification compares in constant time.
 * @module
 */

/** A stored hash. */
export interface PasswordHash {
  /** Always `PBKDF2-SHA256`. */
  readonly algorithm: "PBKDF2-SHA256";
  /** PBKDF2 iterations. */
  readonly iterations: number;
  /** Base64 salt (16 random bytes). */
  readonly salt: string;
  /** Base64 derived key (32 bytes). */
  readonly hash: string;
}

/** Default iterations: OWASP's 2023 figure for PBKDF2-HMAC-SHA-256. */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function derive(secret: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** Hashes a secret with a new random salt. */
export async function hashPassword(
  secret: string,
  iterations = DEFAULT_PBKDF2_ITERATIONS,
): Promise<PasswordHash> {
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError(`PBKDF2 iterations must be a positive integer, got ${iterations}`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(secret, salt, iterations);
  return { algorithm: "PBKDF2-SHA256", iterations, salt: toBase64(salt), hash: toBase64(hash) };
}

/** Whether `secret` matches `stored` (constant-time comparison of the derived keys). */
export async function verifyPassword(secret: string, stored: PasswordHash): Promise<boolean> {
  if (stored.algorithm !== "PBKDF2-SHA256") return false;
  const expected = fromBase64(stored.hash);
  const actual = await derive(secret, fromBase64(stored.salt), stored.iterations);
  if (actual.length !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < actual.length; i++) difference |= actual[i] ^ expected[i];
  return difference === 0;
}
