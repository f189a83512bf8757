/**
 * The `plain` scheme: a password, base64-encoded (UTF-8) on the wire. Use it on encrypted
 * sessions only.
 * @module
 */
import {
  type Credentials,
  decodeBase64Text,
  encodeBase64Text,
  stringField,
} from "./credentials.ts";

/** Plain credentials; the library base64-encodes `password` (do not encode it yourself). */
export function plainCredentials(password: string): Credentials {
  return { scheme: "plain", authentication: { password: encodeBase64Text(password) } };
}

/**
 * The password in a received `plain` authentication object, decoded; undefined when it is
 * missing or not base64 of UTF-8 text.
 */
export function readPlainPassword(authentication: unknown): string | undefined {
  const encoded = stringField(authentication, "password");
  if (encoded === undefined) return undefined;
  try {
    return decodeBase64Text(encoded);
  } catch {
    return undefined;
  }
}
