/**
 * Dispatches command requests addressed to the server to its resources by the URI's first path
 * segment: 62 for an unknown resource, 63 for a method the resource does not support, 66 for
 * another identity's resources, the handler's own reason otherwise (61 for an unexpected error).
 * @module
 */
import type { Command } from "../../envelope.ts";
import { LimeUri } from "../../lime_uri.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";
import { quoteForError } from "../../formats.ts";
import type { ServerEndpoint, ServerReply } from "../router.ts";
import type { ServerSession } from "../server_session.ts";
import {
  failureResponse,
  ResourceFailure,
  type ResourceHandler,
  successResponse,
} from "./resource.ts";
import { serverLog } from "../../observability/log.ts";

/** The server's resources by root (`ping`, `presence`, …). */
export class ServerResources implements ServerEndpoint {
  readonly #handlers: ReadonlyMap<string, ResourceHandler>;
  readonly #domain: string;

  /** Resources by root name; `domain` is the server's domain (its URIs are the server's own). */
  constructor(handlers: Record<string, ResourceHandler>, domain: string) {
    this.#handlers = new Map(Object.entries(handlers));
    this.#domain = domain.toLowerCase();
  }

  /** Processes one request; always resolves with a response. */
  async processCommand(session: ServerSession, request: Command): Promise<ServerReply> {
    const effects: (() => void)[] = [];
    try {
      const { root, subpath } = this.#locate(session, request.uri);
      const handler = this.#handlers.get(root);
      if (!handler || (subpath && !handler.hasSubpaths)) {
        throw new ResourceFailure(
          ReasonCode.COMMAND_RESOURCE_NOT_SUPPORTED,
          `There is no resource at ${quoteForError(request.uri ?? "")}`,
        );
      }
      if (!handler.methods.includes(request.method)) {
        throw new ResourceFailure(
          ReasonCode.COMMAND_METHOD_NOT_SUPPORTED,
          `The method "${request.method}" is not supported on ${quoteForError(request.uri ?? "")}`,
        );
      }
      const afterSent = (effect: () => void) => effects.push(effect);
      const result = await handler.handle(request, { session, subpath, afterSent });
      // The answer's size counts against the session's rate limits (a small request must not
      // buy a large answer for free).
      if (result?.resource !== undefined && typeof result.resource === "object") {
        session.chargeAnswer(JSON.stringify(result.resource).length);
      }
      return {
        response: successResponse(request, session, result),
        ...(effects.length ? { afterSent: () => effects.forEach((effect) => effect()) } : {}),
      };
    } catch (error) {
      const reason = error instanceof ResourceFailure ? error.reason : {
        code: ReasonCode.COMMAND_PROCESSING_ERROR,
        description: `The command could not be processed: ${(error as Error).message}`,
      };
      if (!(error instanceof ResourceFailure)) {
        serverLog.error("A resource handler failed ({method} {uri}): {error}", {
          method: request.method,
          uri: request.uri,
          error,
        });
      }
      return { response: failureResponse(request, session, reason) };
    }
  }

  #locate(session: ServerSession, uri: string | undefined): { root: string; subpath: string } {
    const parsed = uri === undefined ? undefined : LimeUri.tryParse(uri);
    if (!parsed) {
      throw new ResourceFailure(
        ReasonCode.COMMAND_RESOURCE_NOT_SUPPORTED,
        `There is no resource at ${quoteForError(uri ?? "")}`,
      );
    }
    const owner = parsed.owner?.toString().toLowerCase();
    // A domain-only owner (`lime://localhost/ping`) reads "@localhost": the server's own.
    if (owner && owner !== session.identityKey && owner !== `@${this.#domain}`) {
      const domain = owner.slice(owner.indexOf("@") + 1);
      if (!owner.startsWith("postmaster@") || domain !== this.#domain) {
        throw new ResourceFailure(
          ReasonCode.COMMAND_NOT_ALLOWED,
          `The resources of ${quoteForError(String(parsed.owner))} are not yours`,
        );
      }
    }
    const path = parsed.path.replace(/^\/+/, "");
    const slash = path.indexOf("/");
    return slash < 0
      ? { root: path, subpath: "" }
      : { root: path.slice(0, slash), subpath: path.slice(slash + 1) };
  }
}
