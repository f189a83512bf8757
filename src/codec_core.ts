/**
 * The codec's fast path: bytes or text → validated, typed envelope, and envelope → compact JSON,
 * without the explainer. Decoding runs the fast checks generated from the spec; when one fails,
 * the installed envelope explainer says where and why. `codec.ts` installs the generated
 * explainer when it loads (so does every public entry); a program that never loads it (the
 * browser client bundle) gets, for an invalid envelope, a `ValidationError` with reason 21 and no
 * path, and {@link explainLater} loads the explainer on demand (a dynamic import of `codec.ts`)
 * to give the full error. The transports use this module, so they do not pull the explainer in.
 * @module
 */
import { ENVELOPE_KINDS, envelopeKindOf } from "./generated/registry.generated.ts";
import { VALIDATION_ERROR } from "./generated/reason_codes.generated.ts";
import type { EnvelopeKindEntry } from "./document_types.ts";
import type { Envelope } from "./envelope.ts";
import { type JsonPath, ValidationError } from "./errors.ts";

/** Says why an envelope object of a kind failed its fast check, as the error to throw. */
export type EnvelopeExplainer = (
  kind: EnvelopeKindEntry,
  value: Record<string, unknown>,
) => ValidationError;

let explainer: EnvelopeExplainer | undefined;
// Errors made while no explainer was installed: explainLater can explain them again.
const unexplained = new WeakSet<ValidationError>();

/** Installs the envelope explainer (`codec.ts` installs the generated one when it loads). */
export function setEnvelopeExplainer(explain: EnvelopeExplainer): void {
  explainer = explain;
}

/**
 * Loads the generated explainer (a dynamic import of `codec.ts`), so that every later invalid
 * envelope is explained synchronously with its JSON path and reason code. A no-op once loaded.
 */
export async function loadExplainer(): Promise<void> {
  if (explainer === undefined) await import("./codec.ts");
}

/**
 * The full explanation of a `ValidationError` made before the explainer was loaded (reason 21, no
 * path): loads the explainer on demand and validates the offending envelope again. Other errors,
 * and this one when the explainer cannot be loaded (a page gone offline), are returned as they are.
 */
export async function explainLater(error: ValidationError): Promise<ValidationError> {
  if (!unexplained.has(error) || error.envelope === undefined) return error;
  try {
    await loadExplainer();
  } catch {
    return error;
  }
  try {
    validateEnvelope(error.envelope);
  } catch (explained) {
    if (explained instanceof ValidationError) return explained;
  }
  return error;
}

/** Whether a `ValidationError` was made without the explainer (see {@link explainLater}). */
export function isUnexplained(error: ValidationError): boolean {
  return unexplained.has(error);
}

// Deno decodes UTF-8 much faster without `fatal` (a direct fast path); the fatal decoder only runs
// when the lenient one produced U+FFFD, to tell a real U+FFFD from an invalid sequence.
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes one envelope from JSON text or UTF-8 bytes, validating it and its documents against the
 * spec. Explicit `null` envelope fields are accepted and removed; unknown keys are kept and ignored.
 * @throws {ValidationError} with a reason code (21–27) and the JSON path of the problem.
 */
export function parseEnvelope(input: string | Uint8Array): Envelope {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    text = lenient.decode(input);
    if (text.indexOf("\uFFFD") !== -1) {
      try {
        text = utf8.decode(input);
      } catch {
        throw new ValidationError(
          VALIDATION_ERROR,
          "Invalid envelope: the bytes are not valid UTF-8",
        );
      }
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(
      VALIDATION_ERROR,
      `Invalid envelope: not JSON (${(error as Error).message})`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return validateEnvelope(value); // throws
  }
  const object = value as Record<string, unknown>;
  // One pass over the keys finds the kind (the first key of ENVELOPE_KINDS the envelope has) and
  // whether a null is to be stripped: cheaper than an `in` test per kind, which is megamorphic
  // (JSON.parse gives envelopes many hidden classes), and a separate pass for the nulls.
  let rank = KIND_KEYS.length;
  let nulls = false;
  for (const key in object) {
    if (object[key] === null) nulls = true;
    const length = key.length;
    if (length >= KIND_KEY_MIN_LENGTH && length <= KIND_KEY_MAX_LENGTH) {
      for (let i = 0; i < rank; i++) {
        if (KIND_KEYS[i] === key) {
          rank = i;
          break;
        }
      }
    }
  }
  if (rank === KIND_KEYS.length) return validateEnvelope(value); // throws
  const kind = ENVELOPE_KINDS[rank];
  try {
    if (!kind.check(object)) throw explain(kind, object);
  } catch (error) {
    // Documents nested thousands deep (containers in containers) exhaust the stack.
    if (error instanceof RangeError) {
      throw new ValidationError(
        VALIDATION_ERROR,
        "Invalid envelope: documents are nested too deeply",
      );
    }
    throw error;
  }
  if (nulls) stripNulls(object);
  return object as unknown as Envelope;
}

// The kind keys in the order that decides (`content` before `event`...), and their lengths.
const KIND_KEYS: readonly string[] = ENVELOPE_KINDS.map((k) => k.key);
const KIND_KEY_MIN_LENGTH = Math.min(...KIND_KEYS.map((k) => k.length));
const KIND_KEY_MAX_LENGTH = Math.max(...KIND_KEYS.map((k) => k.length));

/**
 * Validates an already-parsed JSON value as an envelope and returns it typed.
 * @throws {ValidationError} like {@link parseEnvelope}.
 */
export function validateEnvelope(value: unknown): Envelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
    throw new ValidationError(
      VALIDATION_ERROR,
      `Invalid envelope: expected a JSON object, got ${what}`,
    );
  }
  const kind = envelopeKindOf(value);
  if (kind !== undefined) {
    if (kind.check(value)) return value as Envelope;
    throw explain(kind, value as Record<string, unknown>);
  }
  throw new ValidationError(
    VALIDATION_ERROR,
    `Invalid envelope: none of the keys ${
      ENVELOPE_KINDS.map((k) => `"${k.key}"`).join(", ")
    } tells its kind`,
    [],
    [],
    value as Record<string, unknown>,
  );
}

function explain(kind: EnvelopeKindEntry, value: Record<string, unknown>): ValidationError {
  if (explainer !== undefined) return explainer(kind, value);
  const error = new ValidationError(
    VALIDATION_ERROR,
    `Invalid ${kind.kind} (not explained: the explainer was not loaded)`,
    [],
    [],
    value,
  );
  unexplained.add(error);
  return error;
}

/** `content.options[0].text` style. */
export function formatPath(path: JsonPath): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
}

/** Removes top-level keys whose value is null; documents keep their nulls (they are data). */
function stripNulls(object: Record<string, unknown>): void {
  for (const key in object) {
    if (object[key] === null) delete object[key];
  }
}

/**
 * Encodes an envelope as compact JSON, leaving out null and undefined envelope fields (and null
 * metadata values; nulls inside documents are data and stay). It does not validate: call
 * {@link validateEnvelope} first for envelopes built from untrusted data.
 */
export function serializeEnvelope(envelope: Envelope): string {
  if (!hasNullField(envelope)) return JSON.stringify(envelope);
  const metadata = envelope.metadata;
  return JSON.stringify(envelope, function (this: unknown, _key: string, value: unknown) {
    return value === null && (this === envelope || this === metadata) ? undefined : value;
  });
}

/** Whether a top-level field or a metadata value is null (what the slow path of encoding drops). */
function hasNullField(envelope: Envelope): boolean {
  const object = envelope as unknown as Record<string, unknown>;
  // The metadata is found in the same pass: `object.metadata` would be a megamorphic read.
  for (const key in object) {
    const value = object[key];
    if (value === null) return true;
    if (key === "metadata" && typeof value === "object") {
      for (const name in value) {
        if ((value as Record<string, unknown>)[name] === null) return true;
      }
    }
  }
  return false;
}
