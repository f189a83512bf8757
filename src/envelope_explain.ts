/**
 * Explains an envelope that failed its fast check: the first problem the generated explainer
 * finds (it stops where the check stopped, so a rejection costs no more than the check), as a
 * `ValidationError` with the JSON path and the reason code the spec gives that field.
 * @module
 */
import type { EnvelopeKindEntry } from "./document_types.ts";
import { ValidationError, type ValidationIssue } from "./errors.ts";
import { EXPLAINERS, FIELD_REASONS } from "./generated/explain.generated.ts";
import { ReasonCode } from "./generated/reasons.generated.ts";
import { formatPath } from "./codec_core.ts";

/** The error for an envelope object of `kind` that failed its fast check. */
export function explainEnvelope(
  kind: EnvelopeKindEntry,
  value: Record<string, unknown>,
): ValidationError {
  const first = EXPLAINERS[kind.name](value);
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
