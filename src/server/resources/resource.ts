/**
 * The shape of a server resource handler, and the responses and failures every handler uses.
 * @module
 */
import { Command, type CommandInit } from "../../envelope.ts";
import type { Reason } from "../../errors.ts";
import type { CommandMethod } from "../../generated/enums.generated.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";
import type { ServerSession } from "../server_session.ts";

/** What a handler needs besides the request. */
export interface ResourceContext {
  /** The requesting session. */
  session: ServerSession;
  /** The path below the resource root (`""` for the root, `alice@localhost` for `/contacts/alice@localhost`). */
  subpath: string;
  /** Runs `effect` once the response was handed to the session (after a success only). */
  afterSent(effect: () => void): void;
}

/** A failure a handler throws; the dispatcher turns it into a failure response. */
export class ResourceFailure extends Error {
  /** The reason sent back. */
  readonly reason: Reason;

  /** Creates a failure (`code` from `ReasonCode`). */
  constructor(code: number, description: string) {
    super(description);
    this.reason = { code, description };
  }
}

/** What a successful handler returns: a resource with its type, or nothing. */
export type ResourceResult = { type: string; resource: unknown } | undefined;

/** Handles the methods of one resource root (`/presence`, `/contacts`, …). */
export interface ResourceHandler {
  /** Methods handled; others get reason 63. */
  readonly methods: readonly CommandMethod[];
  /** Whether sub-paths (`/contacts/{identity}`) exist. */
  readonly hasSubpaths?: boolean;
  /** Handles one request. */
  handle(request: Command, context: ResourceContext): Promise<ResourceResult> | ResourceResult;
}

/** A response to `request` for `session`, with the given outcome fields. */
function respond(request: Command, session: ServerSession, outcome: CommandInit): Command {
  return new Command(request.method, undefined, { id: request.id, to: session.node, ...outcome });
}

/** A success response to `request` for `session`. */
export function successResponse(
  request: Command,
  session: ServerSession,
  result: ResourceResult,
): Command {
  return respond(request, session, {
    status: "success",
    ...(result ? { type: result.type, resource: result.resource } : {}),
  });
}

/** A failure response to `request`. */
export function failureResponse(request: Command, session: ServerSession, reason: Reason): Command {
  return respond(request, session, { status: "failure", reason });
}

/** A value of the request as reasons show it: at most 64 characters (the peer wrote it). */
function shown(value: string | undefined): string {
  const text = value ?? "";
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/** The resource of a `set`/`merge` as an object, or a 64 failure. */
export function objectResource(request: Command): Record<string, unknown> {
  const resource = request.resource;
  if (resource === null || typeof resource !== "object" || Array.isArray(resource)) {
    throw new ResourceFailure(
      ReasonCode.COMMAND_INVALID_ARGUMENT,
      `A ${request.method} of ${shown(request.uri)} needs a resource object`,
    );
  }
  return resource as Record<string, unknown>;
}

/** The size of a value as UTF-8 JSON, in bytes. */
export function jsonSize(value: unknown): number {
  return encoder.encode(JSON.stringify(value) ?? "").length;
}

const encoder = new TextEncoder();

/** Refuses (64) a document whose JSON is over `max` bytes; returns its size. */
export function expectSizeAtMost(value: unknown, max: number, what: string): number {
  const size = jsonSize(value);
  if (size > max) {
    throw new ResourceFailure(
      ReasonCode.COMMAND_INVALID_ARGUMENT,
      `The ${what} is ${size} bytes of JSON, over the maximum of ${max}`,
    );
  }
  return size;
}

/** Checks the media type of a `set`/`merge` (reason 64 otherwise). */
export function expectType(request: Command, type: string): void {
  if (request.type?.toLowerCase() !== type) {
    throw new ResourceFailure(
      ReasonCode.COMMAND_INVALID_ARGUMENT,
      `A ${request.method} of ${shown(request.uri)} needs type "${type}", got "${
        shown(request.type)
      }"`,
    );
  }
}
