/**
 * The `Authorization` header of the HTTP API (lime-protocol §5.5 and §15, the lime-csharp host's
 * and BLiP's shapes): `Key base64(identity:key)` signs in with the account's access key (the key
 * as its owner set it, the text `keyCredentials` takes), `Basic base64(identity:password)` with
 * its password. There is no guest over HTTP. Reading the header costs no hashing; a header that
 * cannot be read is refused before anything else.
 * @module
 */
import { decodeBase64Text, encodeBase64Text } from "../channel/authentication/credentials.ts";

/** The longest `Authorization` header read, in characters (the rest is refused unread). */
export const MAX_AUTHORIZATION_LENGTH = 4096;

/** Credentials read from an `Authorization` header. */
export interface HttpCredentials {
  /** `key` (`Authorization: Key …`) or `plain` (`Authorization: Basic …`). */
  readonly scheme: "key" | "plain";
  /** The identity as written (`name@domain`). */
  readonly identity: string;
  /** The key or password. */
  readonly secret: string;
}

/**
 * Reads an `Authorization` header: the credentials, or a one-line problem (to send back with
 * 401). The identity is everything before the first colon of the decoded text, the secret
 * everything after it.
 */
export function readAuthorization(header: string | null): HttpCredentials | string {
  if (header === null || header === "") {
    return "Sign in with Authorization: Key base64(identity:key) or Basic " +
      "base64(identity:password)";
  }
  if (header.length > MAX_AUTHORIZATION_LENGTH) {
    return `The Authorization header is longer than ${MAX_AUTHORIZATION_LENGTH} characters`;
  }
  const space = header.indexOf(" ");
  const kind = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const scheme = kind === "key" ? "key" : kind === "basic" ? "plain" : undefined;
  if (!scheme) {
    return `Unsupported authorization scheme ${
      JSON.stringify(kind.slice(0, 16))
    }: use Key or Basic (no guest over HTTP)`;
  }
  let text: string;
  try {
    text = decodeBase64Text(header.slice(space + 1).trim());
  } catch {
    return "The Authorization credentials are not base64 of UTF-8 text";
  }
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) {
    return "The Authorization credentials must be base64 of identity:secret";
  }
  return { scheme, identity: text.slice(0, colon), secret: text.slice(colon + 1) };
}

/** The `Authorization` header value for `identity` with its access key. */
export function keyAuthorization(identity: string, key: string): string {
  return `Key ${encodeBase64Text(`${identity}:${key}`)}`;
}

/** The `Authorization` header value for `identity` with its password. */
export function basicAuthorization(identity: string, password: string): string {
  return `Basic ${encodeBase64Text(`${identity}:${password}`)}`;
}
