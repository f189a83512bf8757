/**
 * What a client sends to authenticate (a scheme and its `authentication` object) and what a
 * server's authentication yields (a domain role), plus the base64 helpers the `plain` and `key`
 * schemes need. One file per scheme sits beside this one.
 * @module
 */
import type { AuthenticationScheme } from "../../generated/enums.generated.ts";

/** A scheme and the `authentication` object sent with it in the `authenticating` envelope. */
export interface Credentials {
  /** The scheme. */
  readonly scheme: AuthenticationScheme;
  /** The scheme's object (`{}` for guest and transport). */
  readonly authentication: Record<string, unknown>;
}

export type { DomainRole } from "../../generated/enums.generated.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Base64 of the UTF-8 bytes of `text`. */
export function encodeBase64Text(text: string): string {
  const bytes = encoder.encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The UTF-8 text whose base64 is `value`; throws a TypeError when it is not base64 of UTF-8. */
export function decodeBase64Text(value: string): string {
  let binary: string;
  try {
    binary = atob(value);
  } catch {
    throw new TypeError("The value is not valid base64");
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  try {
    return decoder.decode(bytes);
  } catch {
    throw new TypeError("The base64 value does not hold UTF-8 text");
  }
}

/** A string field of an authentication object, or undefined. */
export function stringField(authentication: unknown, key: string): string | undefined {
  if (authentication === null || typeof authentication !== "object") return undefined;
  const value = (authentication as Record<string, unknown>)[key];
  return typeof value === "string" ? value : undefined;
}
