/**
 * The HTTP API's answers: JSON bodies, and every refusal a LIME reason with a fitting HTTP status
 * (`{"reason":{"code":13,"description":"…"}}`), so an HTTP client reads the same codes a session
 * client gets.
 * @module
 */
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** A JSON response with `status` and the serialized `body` (already JSON text). */
export function jsonText(status: number, text: string, headers: HeadersInit = {}): Response {
  return new Response(text, { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** A refusal: `status` with `{"reason": reason}` as the body. */
export function refusal(status: number, reason: Reason, headers: HeadersInit = {}): Response {
  return jsonText(status, JSON.stringify({ reason }), headers);
}

/** Seconds to put in `Retry-After` for a wait of `ms` (at least 1). */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** A refusal a client may retry later: 429 (or `status`) with `Retry-After`. */
export function tooMany(reason: Reason, waitMs: number, status = 429): Response {
  return refusal(status, reason, { "retry-after": retryAfterSeconds(waitMs) });
}

/** The wait a reason from the login throttle names (`try again in N s`), in ms; 1 s if none. */
export function waitOf(reason: Reason): number {
  const match = /in (\d+) s/.exec(reason.description ?? "");
  return match ? Number(match[1]) * 1000 : 1000;
}

/** Reasons of the HTTP layer itself. */
export const HTTP_REASONS = {
  notFound: (path: string): Reason => ({
    code: ReasonCode.COMMAND_RESOURCE_NOT_SUPPORTED,
    description: `There is nothing at ${path.slice(0, 64)}: POST to /messages, /notifications ` +
      "or /commands",
  }),
  method: (): Reason => ({
    code: ReasonCode.COMMAND_METHOD_NOT_SUPPORTED,
    description: "Only POST is accepted here",
  }),
  mediaType: (type: string | null): Reason => ({
    code: ReasonCode.VALIDATION_ERROR,
    description: `The body must be JSON (Content-Type: application/json), got ${
      JSON.stringify((type ?? "none").slice(0, 64))
    }`,
  }),
  busy: (): Reason => ({
    code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
    description: "Too many requests from your address in progress; try again shortly",
  }),
  overloaded: (): Reason => ({
    code: ReasonCode.SESSION_ERROR,
    description: "The server has too many HTTP requests in progress; try again shortly",
  }),
  rate: (): Reason => ({
    code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
    description: "You send more than you may per second; retry after the time in Retry-After",
  }),
  shuttingDown: (): Reason => ({
    code: ReasonCode.SESSION_ERROR,
    description: "The server is being shut down",
  }),
  kind: (path: string, kind: string): Reason => ({
    code: ReasonCode.VALIDATION_ERROR,
    description: `${path} takes a ${path.slice(1, -1)}, got a ${kind}`,
  }),
  commandTimeout: (ms: number): Reason => ({
    code: ReasonCode.GATEWAY_OPERATION_TIMED_OUT,
    description: `No response to the command within ${ms} ms`,
  }),
  duplicateCommand: (id: string): Reason => ({
    code: ReasonCode.COMMAND_INVALID_ARGUMENT,
    description: `A command with id ${JSON.stringify(id.slice(0, 64))} is already waiting for ` +
      "its response",
  }),
  response: (): Reason => ({
    code: ReasonCode.VALIDATION_INVALID_STATUS,
    description: "POST /commands takes a request (a command without status); responses to " +
      "commands you received go through your webhook's session, not here",
  }),
} as const;
