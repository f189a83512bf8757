/**
 * Trace context on a client's channel (added to client channels when a tracer provider is
 * registered, see `builtInModules`): a received command request carrying `traceparent` opens a
 * `lime.command.handle` span that the response with the same id closes and carries back, so a
 * bot's answer continues the caller's trace; a received message or notification carrying one
 * gets a `lime.receive` span; a message or notification sent with no `traceparent` gets the
 * active span's context, or a `lime.send message` span's when there is none.
 * @module
 */
import { AgedMap } from "../aged_map.ts";
import { type Span, SpanKind, SpanStatusCode, type Tracer } from "npm:@opentelemetry/api@1.10.0";
import type { ChannelModule } from "../channel/channel_module.ts";
import type { Envelope } from "../envelope.ts";
import { injectActive, injectSpan, parentContextOf, TRACEPARENT } from "./tracing.ts";

/** Requests being handled at once whose spans are kept; past it the oldest is ended. */
const MAX_HANDLING = 1024;

/** The channel module; see the module doc. */
export class TraceContextModule implements ChannelModule {
  readonly #tracer: Tracer;
  readonly #handling = new AgedMap<string, Span>();

  /** Spans from `tracer`. */
  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** Opens the handling or receiving span of an envelope that carries a trace context. */
  onReceiving(envelope: Envelope): Envelope {
    if (typeof envelope.metadata?.[TRACEPARENT] !== "string") return envelope;
    const parent = parentContextOf(envelope);
    if ("method" in envelope) {
      if (envelope.status != null || !envelope.id) return envelope;
      if (this.#handling.size >= MAX_HANDLING) this.#handling.deleteOldest()![1].end();
      this.#handling.get(envelope.id)?.end();
      this.#handling.set(
        envelope.id,
        this.#tracer.startSpan(`lime.command.handle ${envelope.method}`, {
          kind: SpanKind.SERVER,
          attributes: {
            "lime.command.method": envelope.method,
            ...(envelope.uri ? { "lime.command.uri": String(envelope.uri).slice(0, 256) } : {}),
            ...(envelope.from ? { "lime.from": envelope.from } : {}),
          },
        }, parent),
      );
      return envelope;
    }
    const kind = "content" in envelope ? "message" : "notification";
    this.#tracer.startSpan(`lime.receive ${kind}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        "lime.envelope.kind": kind,
        ...(envelope.id ? { "lime.envelope.id": envelope.id } : {}),
        ...(envelope.from ? { "lime.from": envelope.from } : {}),
      },
    }, parent).end();
    return envelope;
  }

  /** Closes a handling span with its response; gives other envelopes a trace context. */
  onSending(envelope: Envelope): Envelope {
    if ("method" in envelope) {
      if (envelope.status == null || !envelope.id) {
        injectActive(envelope);
        return envelope;
      }
      const span = this.#handling.get(envelope.id);
      if (!span) return envelope;
      this.#handling.delete(envelope.id);
      injectSpan(envelope, span);
      span.setAttribute("lime.command.status", envelope.status);
      if (envelope.status === "failure") {
        span.setStatus({ code: SpanStatusCode.ERROR, message: envelope.reason?.description });
      }
      span.end();
      return envelope;
    }
    if (injectActive(envelope) || envelope.metadata?.[TRACEPARENT]) return envelope;
    if (!("content" in envelope)) return envelope;
    const span = this.#tracer.startSpan("lime.send message", {
      kind: SpanKind.PRODUCER,
      attributes: {
        "lime.envelope.kind": "message",
        ...(envelope.id ? { "lime.envelope.id": envelope.id } : {}),
        ...(envelope.to ? { "lime.to": envelope.to } : {}),
      },
    });
    injectSpan(envelope, span);
    span.end();
    return envelope;
  }

  /** Ends the spans of requests never answered. */
  onClosed(): void {
    for (const [, span] of this.#handling.entries()) span.end();
    this.#handling.clear();
  }
}
