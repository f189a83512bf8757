/**
 * The `lime.route` span around the routing of one envelope that carries a trace context: a
 * child of the context in its `metadata` (`traceparent`), whose own context replaces it before
 * the envelope is handed on, so the receiver's spans are its children. Untraced envelopes get a
 * (root) span only with `traceRouting: "all"`: at about 15 µs of CPU each with Deno's exporter,
 * five times the cost of routing. Nothing happens without a tracer provider: {@link routeTraced}
 * returns false at once and the caller routes untraced.
 * @module
 */
import { SpanKind } from "npm:@opentelemetry/api@1.10.0";
import type { Envelope } from "../envelope.ts";
import { injectSpan, liveTracer, parentContextOf, TRACEPARENT } from "./tracing.ts";

/**
 * Runs `route(sender, envelope)` inside a `lime.route <kind>` span when tracing and the envelope
 * carries a trace context (or `all`); false (having done nothing) when not.
 */
export function routeTraced<S extends { readonly node: string }>(
  sender: S,
  envelope: Envelope,
  route: (sender: S, envelope: Envelope) => void,
  all: boolean,
): boolean {
  const tracer = liveTracer();
  if (!tracer || !(all || typeof envelope.metadata?.[TRACEPARENT] === "string")) return false;
  const kind = "content" in envelope ? "message" : "event" in envelope ? "notification" : "command";
  const span = tracer.startSpan(`lime.route ${kind}`, {
    kind: SpanKind.SERVER,
    attributes: {
      "lime.envelope.kind": kind,
      "lime.from": sender.node,
      ...(envelope.to ? { "lime.to": envelope.to } : {}),
      ...(envelope.id ? { "lime.envelope.id": envelope.id } : {}),
      ...("method" in envelope ? { "lime.command.method": envelope.method } : {}),
      ...("event" in envelope ? { "lime.notification.event": envelope.event } : {}),
    },
  }, parentContextOf(envelope));
  injectSpan(envelope, span);
  try {
    route(sender, envelope);
  } finally {
    span.end();
  }
  return true;
}
