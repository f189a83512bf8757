/**
 * The `lime.route` span around the routing of one envelope: a child of the context the envelope
 * carries in `metadata` (`traceparent`), whose own context replaces it before the envelope is
 * handed on, so the receiver's spans are its children. Nothing happens without a tracer
 * provider: {@link routeTraced} returns false at once and the caller routes untraced.
 * @module
 */
import { SpanKind } from "npm:@opentelemetry/api@1.10.0";
import type { Envelope } from "../envelope.ts";
import { injectSpan, liveTracer, parentContextOf } from "./tracing.ts";

/**
 * Runs `route(sender, envelope)` inside a `lime.route <kind>` span when tracing; false (having
 * done nothing) when not.
 */
export function routeTraced<S>(
  from: string,
  envelope: Envelope,
  route: (sender: S, envelope: Envelope) => void,
  sender?: S,
): boolean {
  const tracer = liveTracer();
  if (!tracer) return false;
  const kind = "content" in envelope ? "message" : "event" in envelope ? "notification" : "command";
  const span = tracer.startSpan(`lime.route ${kind}`, {
    kind: SpanKind.SERVER,
    attributes: {
      "lime.envelope.kind": kind,
      "lime.from": from,
      ...(envelope.to ? { "lime.to": envelope.to } : {}),
      ...(envelope.id ? { "lime.envelope.id": envelope.id } : {}),
      ...("method" in envelope ? { "lime.command.method": envelope.method } : {}),
      ...("event" in envelope ? { "lime.notification.event": envelope.event } : {}),
    },
  }, parentContextOf(envelope));
  injectSpan(envelope, span);
  try {
    route(sender as S, envelope);
  } finally {
    span.end();
  }
  return true;
}
