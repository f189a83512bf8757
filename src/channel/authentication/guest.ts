/**
 * The `guest` scheme: no credentials; the server gives a temporary identity.
 * @module
 */
import type { Credentials } from "./credentials.ts";

/** Guest credentials: `{"scheme":"guest","authentication":{}}`. */
export function guestCredentials(): Credentials {
  return { scheme: "guest", authentication: {} };
}
