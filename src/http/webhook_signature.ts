/**
 * How a webhook delivery is signed, and checked by the bot (Web Crypto only: runs on Deno
 * Deploy and in browsers). Each delivery carries three headers:
 *
 * - `X-Lime-Delivery`: the delivery's id (the same on every retry of it);
 * - `X-Lime-Timestamp`: when this attempt was signed, in Unix seconds;
 * - `X-Lime-Signature`: `v1=` and the hex HMAC-SHA256, keyed by the webhook's secret, of
 *   `v1:<timestamp>:<delivery id>:<body>`.
 *
 * A bot accepts a delivery only when the signature matches and the timestamp is within a few
 * minutes of its clock (`verifyWebhookSignature`), and refuses one it saw already
 * (`replay_guard.ts`): a captured request cannot be replayed later, nor its body altered.
 * @module
 */

/** The delivery headers (lower case). */
export const WEBHOOK_HEADERS: Readonly<{
  delivery: "x-lime-delivery";
  timestamp: "x-lime-timestamp";
  signature: "x-lime-signature";
}> = Object.freeze({
  delivery: "x-lime-delivery",
  timestamp: "x-lime-timestamp",
  signature: "x-lime-signature",
});

/** Seconds a signed timestamp may differ from the checker's clock by default. */
export const DEFAULT_SIGNATURE_TOLERANCE = 300;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key of `secret` (a few are kept: a server signs with few secrets at once). */
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= 256) keys.delete(keys.keys().next().value!);
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(secret, key);
  }
  return key;
}

function signedText(timestamp: number, delivery: string, body: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`v1:${timestamp}:${delivery}:${body}`);
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function fromHex(hex: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** The `X-Lime-Signature` value of a delivery: `v1=<hex HMAC-SHA256>`. */
export async function signWebhook(
  secret: string,
  timestamp: number,
  delivery: string,
  body: string,
): Promise<string> {
  const key = await hmacKey(secret);
  const mac = await crypto.subtle.sign("HMAC", key, signedText(timestamp, delivery, body));
  return `v1=${toHex(new Uint8Array(mac))}`;
}

/** The headers of one signed attempt of a delivery. */
export async function webhookHeaders(
  secret: string,
  delivery: string,
  body: string,
  now: number = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = Math.floor(now / 1000);
  return {
    "content-type": "application/json",
    [WEBHOOK_HEADERS.delivery]: delivery,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: await signWebhook(secret, timestamp, delivery, body),
  };
}

/** Options of {@link verifyWebhookSignature}. */
export interface SignatureCheckOptions {
  /** Seconds the timestamp may differ from `now`. Default 300. */
  tolerance?: number;
  /** The checker's clock, in ms since the epoch. Default `Date.now()`. */
  now?: number;
}

/** What a delivery's headers say, once checked. */
export interface VerifiedDelivery {
  /** The delivery id. */
  delivery: string;
  /** The signed timestamp, in Unix seconds. */
  timestamp: number;
  /** The signature as sent (what a replay would repeat). */
  signature: string;
}

/**
 * Checks a delivery's signature and timestamp: the delivery, or a one-line problem (missing
 * header, stale or future timestamp, wrong signature). The comparison is Web Crypto's `verify`.
 */
export async function verifyWebhookSignature(
  secret: string,
  headers: Headers,
  body: string,
  options: SignatureCheckOptions = {},
): Promise<VerifiedDelivery | string> {
  const delivery = headers.get(WEBHOOK_HEADERS.delivery);
  const stamp = headers.get(WEBHOOK_HEADERS.timestamp);
  const signature = headers.get(WEBHOOK_HEADERS.signature);
  if (!delivery || !stamp || !signature) return "The delivery is not signed";
  if (delivery.length > 128) return "The delivery id is too long";
  const timestamp = /^\d{1,12}$/.test(stamp) ? Number(stamp) : NaN;
  if (!Number.isSafeInteger(timestamp)) return "The delivery timestamp is not a number";
  const tolerance = options.tolerance ?? DEFAULT_SIGNATURE_TOLERANCE;
  const skew = Math.abs((options.now ?? Date.now()) / 1000 - timestamp);
  if (skew > tolerance) return `The delivery timestamp is ${Math.round(skew)} s away from now`;
  const mac = signature.startsWith("v1=") ? fromHex(signature.slice(3)) : undefined;
  if (!mac || mac.length !== 32) return "The delivery signature is malformed";
  const key = await hmacKey(secret);
  const valid = await crypto.subtle.verify(
    "HMAC",
    key,
    mac as BufferSource,
    signedText(timestamp, delivery, body),
  );
  return valid ? { delivery, timestamp, signature } : "The delivery signature does not match";
}
