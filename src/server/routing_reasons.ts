/**
 * The reasons routing answers with: a sender claiming another identity (32), a destination in a
 * domain this server does not route to (41) or unknown (42), a message addressed to the server,
 * and why an envelope handed to a session's channel did not go out.
 * @module
 */
import type { Reason } from "../errors.ts";
import { quoteForError } from "../formats.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { TransportError } from "../transport/errors.ts";

/** Reasons the router answers with. */
export const ROUTING_REASONS = {
  unauthorizedSender: (claimed: string): Reason => ({
    code: ReasonCode.AUTHORIZATION_UNAUTHORIZED_SENDER,
    description: `The sender is not authorized to send as ${quoteForError(claimed)}`,
  }),
  notFound: (to: string): Reason => ({
    code: ReasonCode.ROUTING_DESTINATION_NOT_FOUND,
    description: `The destination ${quoteForError(to)} was not found`,
  }),
  otherDomain: (to: string): Reason => ({
    code: ReasonCode.ROUTING_ERROR,
    description: `The destination ${
      quoteForError(to)
    } is in a domain this server does not route to`,
  }),
  messageToServer: (): Reason => ({
    code: ReasonCode.MESSAGE_PROCESSING_ERROR,
    description: "The server takes no messages: address a node or an identity",
  }),
} as const;

/**
 * Why an envelope handed to a session's channel did not go out: the destination left (42), does
 * not read what it is sent (51), or the envelope is too large once the server stamped it (61).
 */
export function sendFailureReason(error: unknown, to: string): Reason {
  if (error instanceof TransportError) {
    if (error.code === "too-large") {
      return {
        code: ReasonCode.MESSAGE_PROCESSING_ERROR,
        description: `Cannot deliver to ${quoteForError(to)}: ${error.message}`,
      };
    }
    if (error.code === "slow-reader") {
      return {
        code: ReasonCode.DISPATCH_ERROR,
        description: `Cannot deliver to ${quoteForError(to)}: it does not read what it is sent`,
      };
    }
  }
  return ROUTING_REASONS.notFound(to);
}
