/**
 * Shapes of the generated registry entries.
 * @module
 */

/** One problem found by a {@link SchemaValidator}. */
export interface SchemaIssue {
  /** Where, from the validated value. */
  readonly path: readonly PropertyKey[];
  /** What. */
  readonly message: string;
}

/**
 * The part of a generated zod schema that the zod refinements use to explain nested documents
 * (the zod schemas are public API; the codec explains failures with {@link Explain} functions).
 */
export interface SchemaValidator {
  /** Validates without throwing. */
  safeParse(value: unknown):
    | { readonly success: true }
    | { readonly success: false; readonly error: { readonly issues: readonly SchemaIssue[] } };
}

/** A fast validity check generated from the spec. */
export type Check = (value: unknown) => boolean;

/**
 * The first problem an {@link Explain} function found: where (JSON path from the explained value)
 * and what. The path is a fresh array: callers that nest values prefix it in place.
 */
export interface ExplainedIssue {
  /** Where, from the explained value. */
  path: (string | number)[];
  /** What, e.g. `expected a string, got number`. */
  message: string;
}

/**
 * Says why a value fails its {@link Check}: the first problem, or `undefined` exactly when the
 * check accepts the value. Generated from the spec next to the check; it stops at the first
 * problem, so it never costs more than the check did.
 */
export type Explain = (value: unknown) => ExplainedIssue | undefined;

/** A registered document type. */
export interface DocumentEntry {
  /** Type name in the spec (and in the generated TypeScript types). */
  readonly name: string;
  /** The media type, as spelled in the spec. */
  readonly mediaType: string;
  /** Whether the document travels as a JSON value (else as a JSON string). */
  readonly json: boolean;
  /** Fast check. */
  readonly check: Check;
}

/** The authentication object of one scheme. */
export interface AuthenticationEntry {
  /** The scheme's wire name. */
  readonly scheme: string;
  /** Type name in the spec. */
  readonly name: string;
  /** Fast check. */
  readonly check: Check;
}

/** One envelope kind. */
export interface EnvelopeKindEntry {
  /** `message`, `notification`, `command` or `session`. */
  readonly kind: "message" | "notification" | "command" | "session";
  /** The key whose presence tells the kind. */
  readonly key: string;
  /** Type name in the spec. */
  readonly name: string;
  /** Fast check. */
  readonly check: Check;
}

/** Reason codes of an envelope's fields: when the value is invalid, and when it is missing. */
export type FieldReasons = Readonly<
  Record<string, { readonly invalid: number; readonly empty: number }>
>;
