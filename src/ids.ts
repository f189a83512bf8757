/**
 * Envelope ids: lowercase hyphenated UUID v4 strings, like every LIME implementation.
 * @module
 */

/** A new random envelope id (UUID v4). */
export function newId(): string {
  return crypto.randomUUID();
}
