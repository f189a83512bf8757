/**
 * The errors callers catch: {@link LimeError} carries a LIME reason (from a peer or from local
 * validation); {@link ValidationError} is an invalid envelope or value, with the JSON path.
 * @module
 */

/** A LIME reason: a code from the reason table and an optional description. */
export interface Reason {
  /** The reason code. */
  code: number;
  /** Human-readable description. */
  description?: string;
}

/** An error carrying a LIME {@link Reason}. */
export class LimeError extends Error {
  /** The reason, as it travels on the wire. */
  readonly reason: Reason;

  /** Creates an error from a reason; the message is `"{description} (Code {code})"`. */
  constructor(reason: Reason, options?: ErrorOptions) {
    super(`${reason.description ?? "LIME error"} (Code ${reason.code})`, options);
    this.name = "LimeError";
    this.reason = {
      code: reason.code,
      ...(reason.description ? { description: reason.description } : {}),
    };
  }

  /** The reason code. */
  get code(): number {
    return this.reason.code;
  }
}

/** A JSON path: object keys and array indexes from the envelope root. */
export type JsonPath = readonly (string | number)[];

/** One validation problem, as reported by the validator. */
export interface ValidationIssue {
  /** Where. */
  readonly path: JsonPath;
  /** What. */
  readonly message: string;
}

/**
 * An invalid envelope or value. `reason.code` is in the validation family (21–27) or 1, so the
 * error can be sent back as is; `path` points at the offending value.
 */
export class ValidationError extends LimeError {
  /** Where the first problem is. */
  readonly path: JsonPath;
  /**
   * The problems found: the first one, from the generated explainer (which stops there, so that
   * an envelope with a million bad entries costs one issue, not a million).
   */
  readonly issues: readonly ValidationIssue[];

  /** Creates a validation error. */
  constructor(
    code: number,
    description: string,
    path: JsonPath = [],
    issues: readonly ValidationIssue[] = [],
    envelope?: Readonly<Record<string, unknown>>,
  ) {
    super({ code, description });
    this.name = "ValidationError";
    this.path = path;
    this.issues = issues;
    if (envelope) this.envelope = envelope;
  }

  /**
   * The JSON object that failed validation, when the input was a JSON object: a receiver can
   * still read its `id`, `method` or `state` to answer it with this error's reason.
   */
  readonly envelope?: Readonly<Record<string, unknown>>;
}
