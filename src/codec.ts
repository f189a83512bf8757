/**
 * The envelope codec: bytes or text → validated, typed envelope, and envelope → compact JSON.
 *
 * Decoding runs the fast checks generated from the spec; only when one fails does the generated
 * explainer run, to say where and why (the first problem only: it stops where the check stopped,
 * so a rejection costs no more than the check), with the reason code the spec gives that field.
 * zod is not on this path: the zod schemas are generated for users (`validators.generated.ts`).
 * @module
 */
import { ENVELOPE_KINDS, envelopeKindOf, FIELD_REASONS } from "./generated/registry.generated.ts";
import { ReasonCode } from "./generated/reasons.generated.ts";
import type { EnvelopeKindEntry } from "./document_types.ts";
import type { Envelope } from "./envelope.ts";
import { type JsonPath, ValidationError, type ValidationIssue } from "./errors.ts";

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
          ReasonCode.VALIDATION_ERROR,
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
      ReasonCode.VALIDATION_ERROR,
      `Invalid envelope: not JSON (${(error as Error).message})`,
    );
  }
  let envelope: Envelope;
  try {
    envelope = validateEnvelope(value);
  } catch (error) {
    // Documents nested thousands deep (containers in containers) exhaust the stack.
    if (error instanceof RangeError) {
      throw new ValidationError(
        ReasonCode.VALIDATION_ERROR,
        "Invalid envelope: documents are nested too deeply",
      );
    }
    throw error;
  }
  return stripNulls(envelope);
}

/**
 * Validates an already-parsed JSON value as an envelope and returns it typed.
 * @throws {ValidationError} like {@link parseEnvelope}.
 */
export function validateEnvelope(value: unknown): Envelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
    throw new ValidationError(
      ReasonCode.VALIDATION_ERROR,
      `Invalid envelope: expected a JSON object, got ${what}`,
    );
  }
  const kind = envelopeKindOf(value);
  if (kind !== undefined) {
    if (kind.check(value)) return value as Envelope;
    throw explain(kind, value as Record<string, unknown>);
  }
  throw new ValidationError(
    ReasonCode.VALIDATION_ERROR,
    `Invalid envelope: none of the keys ${
      ENVELOPE_KINDS.map((k) => `"${k.key}"`).join(", ")
    } tells its kind`,
    [],
    [],
    value as Record<string, unknown>,
  );
}

function explain(kind: EnvelopeKindEntry, value: Record<string, unknown>): ValidationError {
  const first = kind.explain(value);
  if (first === undefined) {
    // The fast check and the explainer come from the same spec; a disagreement is a bug.
    return new ValidationError(ReasonCode.VALIDATION_ERROR, `Invalid ${kind.kind}`, [], [], value);
  }
  const issue: ValidationIssue = { path: first.path, message: first.message };
  const field = issue.path[0];
  const reasons = typeof field === "string" ? FIELD_REASONS[kind.kind][field] : undefined;
  const code = reasons
    ? (value[field as string] == null ? reasons.empty : reasons.invalid)
    : ReasonCode.VALIDATION_ERROR;
  const where = issue.path.length ? ` at ${formatPath(issue.path.map(shortKey))}` : "";
  return new ValidationError(
    code,
    `Invalid ${kind.kind}${where}: ${issue.message}`,
    issue.path,
    [issue],
    value,
  );
}

/** A key cut to 64 characters for a message (the error's `path` keeps it whole). */
function shortKey(key: string | number): string | number {
  return typeof key === "string" && key.length > 64 ? `${key.slice(0, 64)}…` : key;
}

/** `content.options[0].text` style. */
export function formatPath(path: JsonPath): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
}

/** Removes top-level keys whose value is null; documents keep their nulls (they are data). */
function stripNulls(envelope: Envelope): Envelope {
  const object = envelope as unknown as Record<string, unknown>;
  for (const key in object) {
    if (object[key] === null) delete object[key];
  }
  return envelope;
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
  for (const key in object) {
    if (object[key] === null) return true;
  }
  const metadata = object.metadata;
  if (typeof metadata === "object" && metadata !== null) {
    for (const key in metadata) {
      if ((metadata as Record<string, unknown>)[key] === null) return true;
    }
  }
  return false;
}
