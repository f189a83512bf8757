/**
 * What a server channel tolerates from real clients that break the protocol in known ways
 * (lime-protocol §16). blip-sdk (Python), when a bot's message handler raises, sends a `failed`
 * notification whose `reason` is the text of lime-python's `Reason` (`"boom (Code 101)"`) instead
 * of an object: the server reads it back into `{ code, description }`.
 *
 * This runs only after an envelope failed validation, so valid traffic never pays for it, and it
 * lives in the server's channel rather than in the codec: the spec keeps saying what the protocol
 * is (a reason is an object), and no other decoder accepts the text form.
 * @module
 */
import { validateEnvelope } from "../codec_core.ts";
import type { Envelope } from "../envelope.ts";
import type { Reason } from "../errors.ts";

// lime-python's Reason.__str__: "{description} (Code {code})".
const REASON_TEXT = /^([\s\S]*?)\s*\(Code (\d{1,9})\)$/;

/** Reads a reason written as text in lime-python's shape (`"text (Code 101)"`); else undefined. */
export function parseReasonText(text: string): Reason | undefined {
  const match = REASON_TEXT.exec(text);
  if (!match) return undefined;
  const code = Number(match[2]);
  return match[1] ? { code, description: match[1] } : { code };
}

/**
 * The notification `raw` (a JSON object that failed validation) with a text reason read into an
 * object, when that makes it a valid notification (top-level nulls removed, as the codec does);
 * undefined otherwise.
 */
export function repairNotification(raw: Readonly<Record<string, unknown>>): Envelope | undefined {
  if (typeof raw.reason !== "string") return undefined;
  const reason = parseReasonText(raw.reason);
  if (!reason) return undefined;
  const repaired: Record<string, unknown> = {};
  for (const key in raw) {
    if (raw[key] !== null) repaired[key] = raw[key];
  }
  repaired.reason = reason;
  try {
    return validateEnvelope(repaired);
  } catch {
    return undefined;
  }
}
