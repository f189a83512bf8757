/**
 * Transport errors: one class with a machine-readable `code` and the underlying `cause`.
 * @module
 */

/** Why a transport operation failed. */
export type TransportErrorCode =
  /** The transport is closed (or closing): nothing can be sent or received any more. */
  | "closed"
  /** The transport is not open yet. */
  | "not-open"
  /** An outgoing envelope is larger than the maximum; the transport stays usable. */
  | "too-large"
  /** The incoming byte stream is not a sequence of JSON objects (or an object is too large/deep). */
  | "framing"
  /** An incoming envelope is not valid LIME (cause: the ValidationError). */
  | "invalid-envelope"
  /** The connection failed or broke. */
  | "io"
  /** The TLS handshake or session failed. */
  | "tls"
  /** An option the transport does not support (compression, encryption, URI scheme). */
  | "unsupported"
  /** The operation was aborted through its signal. */
  | "aborted"
  /**
   * The peer does not take what is sent to it: the bytes accepted for sending and not yet taken
   * by the peer would pass `maxQueuedBytes`. The transport closes, and every send still waiting
   * rejects with this error.
   */
  | "slow-reader";

/** A transport failure. */
export class TransportError extends Error {
  /** What failed. */
  readonly code: TransportErrorCode;

  /** Creates a transport error. */
  constructor(code: TransportErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransportError";
    this.code = code;
  }
}

/** How and why a transport closed. */
export interface TransportCloseInfo {
  /** `local`: this side called close(); `remote`: the peer closed; `error`: a failure closed it. */
  readonly by: "local" | "remote" | "error";
  /** The failure, when `by` is `error`. */
  readonly error?: TransportError;
}

/** Throws a TransportError `aborted` when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new TransportError("aborted", `${what} was aborted`, { cause: signal.reason });
  }
}
