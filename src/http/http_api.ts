/**
 * LIME over HTTP (lime-protocol §5.5 and §15): `POST /messages`, `POST /notifications` and
 * `POST /commands` with one JSON envelope, signed in per request (`http_authenticator.ts`), and
 * routed as an envelope from the identity's session on instance `http` (`edge_session.ts`): the
 * same `from` stamping and `from`/`pp` rule (403 with reason 32 here, before routing), quotas
 * and rate limits. A message or notification is answered 202 with `{"id": …}` (a message without
 * an id gets one); a command with its response envelope (200, whatever its status), or 504 with
 * reason 86 when none comes within the timeout.
 *
 * Budgets, in the order they apply: requests in progress per source address and in all (429,
 * 503); the sign-in's (401, 403, 429, 503); the body's (`http_body.ts`: 400, 408, 413); the rate
 * limits of the session, its identity and the source address (429 with `Retry-After`).
 * @module
 */
import { parseEnvelope, serializeEnvelope } from "../codec_core.ts";
import { type Envelope, envelopeKind, isCommand, isMessage } from "../envelope.ts";
import { ValidationError } from "../errors.ts";
import { newId } from "../ids.ts";
import { identityKeyOf } from "../server/identity_rules.ts";
import { ROUTING_REASONS } from "../server/routing_reasons.ts";
import { isLoopbackHost, sourceKey } from "../server/source_address.ts";
import { forwardedClientAddress } from "../transport/forwarded.ts";
import { requestIsTls } from "../transport/websocket_upgrade.ts";
import { DEFAULT_MAX_DEPTH } from "../transport/transport.ts";
import type { EdgeHost } from "./edge_host.ts";
import type { EdgeSession } from "./edge_session.ts";
import type { EdgeSessions } from "./edge_sessions.ts";
import type { HttpAuthenticator, RequestFacts } from "./http_authenticator.ts";
import { readEnvelopeBody } from "./http_body.ts";
import type { AddressShapers, RequestSlots } from "./http_budget.ts";
import { HTTP_REASONS, jsonText, refusal, tooMany } from "./http_reply.ts";

/** The paths of the API and the envelope kind each takes. */
export const HTTP_API_PATHS: Readonly<Record<string, "message" | "notification" | "command">> =
  Object.freeze({
    "/messages": "message",
    "/notifications": "notification",
    "/commands": "command",
  });

/** Limits of the HTTP API. */
export interface HttpApiLimits {
  /** Milliseconds a command waits for its response before 504. */
  commandTimeout: number;
  /** Milliseconds a request body has to arrive before 408. */
  bodyTimeout: number;
}

/** What the API is made of. */
export interface HttpApiParts {
  /** The server. */
  host: EdgeHost;
  /** The identities' sessions. */
  sessions: EdgeSessions;
  /** Signs requests in. */
  authenticator: HttpAuthenticator;
  /** Requests in progress. */
  slots: RequestSlots;
  /** Rate buckets of source addresses. */
  addresses: AddressShapers;
  /** Limits. */
  limits: HttpApiLimits;
}

/** Where a request came from, as far as the server may believe it. */
export function requestFacts(
  request: Request,
  info: Deno.ServeHandlerInfo | undefined,
  trustProxy: boolean,
  trustProxyTls: boolean,
): RequestFacts {
  const remote = info?.remoteAddr;
  const peer = remote && remote.transport === "tcp" ? remote.hostname : undefined;
  const host = trustProxy ? forwardedClientAddress(request.headers) ?? peer : peer;
  return {
    source: sourceKey(host),
    loopback: isLoopbackHost(host),
    tls: requestIsTls(request, trustProxyTls),
  };
}

/** Serves `POST /messages`, `/notifications` and `/commands`. */
export class HttpApi {
  readonly #parts: HttpApiParts;

  /** An API made of `parts`. */
  constructor(parts: HttpApiParts) {
    this.#parts = parts;
  }

  /** Handles one request to one of {@link HTTP_API_PATHS} (`path` is its pathname). */
  async handle(request: Request, info: Deno.ServeHandlerInfo | undefined): Promise<Response> {
    const { host, slots } = this.#parts;
    const path = new URL(request.url).pathname;
    const kind = HTTP_API_PATHS[path];
    if (!kind) return refusal(404, HTTP_REASONS.notFound(path));
    if (request.method !== "POST") {
      return refusal(405, HTTP_REASONS.method(), { allow: "POST" });
    }
    if (host.stopping) return refusal(503, HTTP_REASONS.shuttingDown());
    const facts = requestFacts(request, info, host.trustProxy, host.trustProxyTls);
    const slot = slots.enter(facts.source);
    if (slot === "address") return tooMany(HTTP_REASONS.busy(), 1000);
    if (slot === "total") return tooMany(HTTP_REASONS.overloaded(), 1000, 503);
    try {
      return await this.#serve(request, facts, path, kind);
    } finally {
      slots.leave(facts.source);
      if (request.body && !request.bodyUsed) request.body.cancel().catch(() => {});
    }
  }

  async #serve(
    request: Request,
    facts: RequestFacts,
    path: string,
    kind: "message" | "notification" | "command",
  ): Promise<Response> {
    const { host, sessions, authenticator, limits } = this.#parts;
    const type = request.headers.get("content-type");
    if (type !== null && !/^\s*application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) {
      return refusal(415, HTTP_REASONS.mediaType(type));
    }
    const signedIn = await authenticator.signIn(request.headers.get("authorization"), facts);
    if ("response" in signedIn) return signedIn.response;
    const body = await readEnvelopeBody(request, {
      maxBytes: host.maxEnvelopeSize,
      maxDepth: DEFAULT_MAX_DEPTH,
      maxMembers: host.maxMembers,
      timeout: limits.bodyTimeout,
    });
    if ("response" in body) return body.response;
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(body.bytes);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return refusal(400, error.reason);
    }
    const actual = envelopeKind(envelope);
    if (actual !== kind) return refusal(400, HTTP_REASONS.kind(path, actual));
    if (isCommand(envelope) && envelope.status !== undefined) {
      return refusal(400, HTTP_REASONS.response());
    }
    for (const claimed of [envelope.from, envelope.pp]) {
      if (claimed !== undefined && identityKeyOf(claimed) !== signedIn.identityKey) {
        return refusal(403, ROUTING_REASONS.unauthorizedSender(claimed));
      }
    }
    const edge = await sessions.acquire(signedIn.identity, signedIn.scheme);
    if (!("session" in edge)) return refusal(409, edge);
    try {
      const wait = this.#charge(edge, facts.source, body.bytes.length);
      if (wait > 0) return tooMany(HTTP_REASONS.rate(), wait);
      if (!isCommand(envelope)) {
        if (isMessage(envelope)) envelope.id ??= newId();
        host.router.route(edge.session, envelope);
        return jsonText(202, JSON.stringify({ id: envelope.id ?? null }));
      }
      envelope.id ??= newId();
      const response = edge.waitForResponse(envelope.id, limits.commandTimeout);
      if (response === false) return refusal(409, HTTP_REASONS.duplicateCommand(envelope.id));
      host.router.route(edge.session, envelope);
      const answer = await response;
      if (!answer) {
        if (!edge.open) return refusal(503, HTTP_REASONS.shuttingDown());
        return refusal(504, HTTP_REASONS.commandTimeout(limits.commandTimeout));
      }
      return jsonText(200, serializeEnvelope(answer));
    } finally {
      sessions.release(edge);
    }
  }

  /**
   * Charges one envelope of `bytes` to the session's buckets and the address's; when one would
   * go into debt, gives everything back and returns the wait (the request is refused).
   */
  #charge(edge: EdgeSession, source: string | undefined, bytes: number): number {
    const { host, sessions, addresses } = this.#parts;
    if (!host.shaping.limited) return 0;
    const shapers = [
      sessions.shaperOf(edge),
      source === undefined ? undefined : addresses.get(source),
    ];
    let wait = 0;
    for (const shaper of shapers) wait = Math.max(wait, shaper?.charge(bytes) ?? 0);
    if (wait > 0) { for (const shaper of shapers) shaper?.refund(bytes); }
    return wait;
  }
}
