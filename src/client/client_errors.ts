/**
 * Errors of the resilient client.
 * @module
 */

/** Why a {@link LimeClient} call failed. */
export type LimeClientErrorCode =
  /** The outbox is full: the message was not taken (never dropped silently). */
  | "outbox-full"
  /** The connection was lost while the command waited (and it is not retried). */
  | "disconnected"
  /** The client was closed. */
  | "closed"
  /** Reconnecting gave up (`maxAttempts` reached). */
  | "gave-up";

/** A failure of the resilient client. */
export class LimeClientError extends Error {
  /** What failed. */
  readonly code: LimeClientErrorCode;

  /** Creates a client error. */
  constructor(code: LimeClientErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LimeClientError";
    this.code = code;
  }
}
