/**
 * The `key` scheme: an access key, base64-encoded (UTF-8) on the wire. Use it on encrypted
 * sessions only.
 * @module
 */
import {
  type Credentials,
  decodeBase64Text,
  encodeBase64Text,
  stringField,
} from "./credentials.ts";

/** Key credentials; the library base64-encodes `key` (do not encode it yourself). */
export function keyCredentials(key: string): Credentials {
  return { scheme: "key", authentication: { key: encodeBase64Text(key) } };
}

/** The key in a received `key` authentication object, decoded; undefined when invalid. */
export function readKey(authentication: unknown): string | undefined {
  const encoded = stringField(authentication, "key");
  if (encoded === undefined) return undefined;
  try {
    return decodeBase64Text(encoded);
  } catch {
    return undefined;
  }
}
