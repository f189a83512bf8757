/**
 * What the server records about a session's life: the establishment span, the session and
 * refusal metrics, and the log lines (established with node, scheme, remote address,
 * transport, TLS and gzip; refused with the server-side cause next to the reason the peer got;
 * ended with its duration, reason and who ended it). Once per session, never per envelope.
 * @module
 */
import {
  type Attributes,
  type Span,
  SpanKind,
  SpanStatusCode,
} from "npm:@opentelemetry/api@1.10.0";
import type { Reason } from "../errors.ts";
import type { Transport } from "../transport/transport.ts";
import { sessionLog } from "./log.ts";
import {
  attributeCache,
  establishmentsCounter,
  refusalsCounter,
  sessionsGauge,
} from "./metrics.ts";
import { liveTracer } from "./tracing.ts";

/** What a session is counted under: `tcp`, `websocket`, `http`, `memory`, or `other`. */
export type TransportLabel = "tcp" | "websocket" | "http" | "memory" | "other";

/** The label of a transport handed to `LimeServer.accept` (by its class). */
export function transportLabel(transport: Transport): TransportLabel {
  const name = transport.constructor?.name ?? "";
  if (/tcp/i.test(name)) return "tcp";
  if (/websocket/i.test(name)) return "websocket";
  if (/memory/i.test(name)) return "memory";
  if (/edge|http/i.test(name)) return "http";
  return "other";
}

const sessionAttributes = attributeCache((key: string) => {
  const [transport, scheme] = key.split(" ");
  return { "lime.transport": transport, "lime.scheme": scheme };
});

const refusalAttributes = attributeCache((key: string) => {
  const [transport, code] = key.split(" ");
  return { "lime.transport": transport, "lime.reason.code": Number(code) };
});

/** One session's record, from its first byte to its end. */
export class SessionEvents {
  readonly #label: TransportLabel;
  readonly #transport: Transport;
  readonly #startedAt = performance.now();
  #establishedAt = 0;
  #attributes: Attributes | undefined;
  #span: Span | undefined;

  /** Starts the establishment span (when tracing is on). */
  constructor(transport: Transport, label: TransportLabel) {
    this.#transport = transport;
    this.#label = label;
    this.#span = liveTracer()?.startSpan("lime.session.establish", {
      kind: SpanKind.SERVER,
      attributes: { "lime.transport": label },
    });
  }

  /** The session was refused: `reason` went to the peer, `cause` is the server's own. */
  refused(reason: Reason, cause?: string, node?: string): void {
    refusalsCounter.add(1, refusalAttributes(`${this.#label} ${reason.code}`));
    const span = this.#span;
    if (span) {
      span.setAttribute("lime.reason.code", reason.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: cause ?? reason.description });
      span.end();
    }
    const transport = this.#transport;
    sessionLog.info(
      "Session refused from {remote} ({transport}): {cause}; the peer got {code} {description}",
      () => ({
        remote: transport.remoteEndpoint,
        transport: this.#label,
        cause: cause ?? reason.description ?? "refused",
        code: reason.code,
        description: reason.description,
        ...(node ? { node } : {}),
      }),
    );
  }

  /** The session is established as `node` with `scheme`. */
  established(node: string, scheme: string): void {
    this.#establishedAt = performance.now();
    const attributes = this.#attributes = sessionAttributes(`${this.#label} ${scheme}`);
    establishmentsCounter.add(1, attributes);
    sessionsGauge.add(1, attributes);
    const span = this.#span;
    if (span) {
      span.setAttributes({ "lime.scheme": scheme, "lime.node": node });
      span.end();
    }
    const transport = this.#transport;
    sessionLog.info(
      "Session established: {node} ({scheme}) from {remote} over {over}",
      () => ({
        node,
        scheme,
        remote: transport.remoteEndpoint,
        over: this.#label + (transport.encryption === "tls" ? "+tls" : "") +
          (transport.compression === "gzip" ? "+gzip" : ""),
        transport: this.#label,
        tls: transport.encryption === "tls",
        gzip: transport.compression === "gzip",
        establishMs: Math.round(this.#establishedAt - this.#startedAt),
      }),
    );
  }

  /** The established session ended. */
  ended(node: string, end: { state: string; reason?: Reason; error?: Error }, by: string): void {
    if (this.#attributes) sessionsGauge.add(-1, this.#attributes);
    sessionLog.info(
      "Session ended: {node} after {durationMs} ms, by {by} (state {state}){why}",
      () => ({
        node,
        transport: this.#label,
        durationMs: Math.round(performance.now() - this.#establishedAt),
        state: end.state,
        by,
        why: end.reason
          ? `: ${end.reason.code} ${end.reason.description ?? ""}`
          : end.error
          ? `: ${end.error.message}`
          : "",
        ...(end.reason ? { code: end.reason.code } : {}),
      }),
    );
  }
}

/**
 * The sessions of the HTTP edge (one per identity signed in over the HTTP API or webhooks):
 * counted in `lime.server.sessions` and `lime.server.session.establishments` under transport
 * `http`, and logged when registered and when they end. Unregistering twice counts once.
 */
export class EdgeSessionEvents {
  readonly #live = new Map<object, { attributes: Attributes; since: number }>();

  /** A session was registered (`outcome` a session) or refused (a reason). */
  registered<T extends { node: string; scheme: string } | Reason>(outcome: T): T {
    if (!("node" in outcome)) return outcome;
    const attributes = sessionAttributes(`http ${outcome.scheme}`);
    this.#live.set(outcome, { attributes, since: performance.now() });
    establishmentsCounter.add(1, attributes);
    sessionsGauge.add(1, attributes);
    sessionLog.info("Session established: {node} ({scheme}) over {transport}", {
      node: outcome.node,
      scheme: outcome.scheme,
      transport: "http",
    });
    return outcome;
  }

  /** A session was unregistered. */
  unregistered(session: { node: string }): void {
    const live = this.#live.get(session);
    if (!live) return;
    this.#live.delete(session);
    sessionsGauge.add(-1, live.attributes);
    sessionLog.info("Session ended: {node} after {durationMs} ms ({transport})", {
      node: session.node,
      durationMs: Math.round(performance.now() - live.since),
      transport: "http",
    });
  }
}
