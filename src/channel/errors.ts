/**
 * Channel errors: one class with a machine-readable `code`; a peer's failure reason travels in
 * a {@link LimeError} instead.
 * @module
 */

/** Why a channel operation failed. */
export type ChannelErrorCode =
  /** The session state does not allow the operation. */
  | "invalid-state"
  /** A wait ran past its timeout. */
  | "timeout"
  /** A wait was aborted through its signal. */
  | "aborted"
  /** A command with the same id is already waiting for its response. */
  | "duplicate-id"
  /** The channel closed while the operation waited. */
  | "closed"
  /** The peer broke the protocol (wrong session id, unexpected envelope). */
  | "protocol";

/** A channel failure. */
export class ChannelError extends Error {
  /** What failed. */
  readonly code: ChannelErrorCode;

  /** Creates a channel error. */
  constructor(code: ChannelErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChannelError";
    this.code = code;
  }
}
