/**
 * The `guest` scheme: no credentials; the server gives a temporary identity.
 * @module
 */
import type { Credentials } from "./credentials.ts";

/** Guest credentials: `{"scheme":"guest","authentication":{}}`. */
export function guestCredentials(): Credentials {
  return { scheme: "guest", authentication: {} };
}

/**
 * A guest identity every server accepts: a random UUID as the name, `${uuid}@${domain}`. lime-go
 * refuses guests whose name is not a UUID (`failed` with code 1), and BLiP's guests are named so.
 */
export function guestIdentity(domain: string): string {
  return `${crypto.randomUUID()}@${domain}`;
}
