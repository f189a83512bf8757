/**
 * The exit codes of `lime` and the errors that carry them. Scripts can rely on the codes:
 *
 * | code | meaning                                                                          |
 * | ---: | -------------------------------------------------------------------------------- |
 * |    0 | done                                                                             |
 * |    1 | LIME failure: the server or the peer answered with a reason (printed with it)    |
 * |    2 | usage: a bad flag or argument, or no password available                          |
 * |    3 | cannot connect: no server at the address, DNS, TLS, not a LIME port, connection lost |
 * |    4 | the server refused the session (authentication or registration; reason printed) |
 * |    5 | timeout: no answer within `--timeout`                                            |
 * |  130 | interrupted (Ctrl-C at the password prompt)                                      |
 * @module
 */
import { ChannelError } from "../channel/errors.ts";
import { LimeError } from "../errors.ts";
import { TransportError } from "../transport/errors.ts";

/** The exit codes, by name. */
export const ExitCode = {
  /** Done. */
  OK: 0,
  /** The server or the peer answered with a LIME reason. */
  LIME_FAILURE: 1,
  /** A bad flag or argument, or no password available. */
  USAGE: 2,
  /** No connection to a LIME server (or it was lost). */
  CANNOT_CONNECT: 3,
  /** The server refused the session. */
  REFUSED: 4,
  /** No answer in time. */
  TIMEOUT: 5,
  /** Ctrl-C at the password prompt. */
  INTERRUPTED: 130,
} as const;

/** One of {@link ExitCode}. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/** A problem with the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  /** Creates a usage error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure with its exit code and the one line to print. */
export class CliError extends Error {
  /** The exit code. */
  readonly exitCode: ExitCode;

  /** Creates a failure that exits with `exitCode`. */
  constructor(exitCode: ExitCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** `description (reason N)`: how a LIME reason is printed. */
export function describeReason(reason: { code: number; description?: string }): string {
  return `${reason.description ?? "no description"} (reason ${reason.code})`;
}

/** The innermost message of an error and its causes that says what happened on the wire. */
function rootMessage(error: Error): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return (current as Error).message;
}

/** The exit code and the message to print for an error thrown by a command. */
export function classify(error: unknown): { exitCode: ExitCode; message: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  if (error instanceof UsageError) return { exitCode: ExitCode.USAGE, message: error.message };
  if (error instanceof LimeError) {
    return { exitCode: ExitCode.LIME_FAILURE, message: describeReason(error.reason) };
  }
  if (error instanceof ChannelError && error.code === "timeout") {
    return { exitCode: ExitCode.TIMEOUT, message: `timed out: ${error.message}` };
  }
  if (
    error instanceof TransportError ||
    (error instanceof ChannelError && error.code === "closed")
  ) {
    return {
      exitCode: ExitCode.CANNOT_CONNECT,
      message: `the connection was lost: ${rootMessage(error)}`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.LIME_FAILURE, message };
}
