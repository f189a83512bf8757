/**
 * Trace context in envelope `metadata`, as lime-csharp carries it: `traceparent` and
 * `tracestate` (W3C Trace Context), written and read here directly so that the keys do not
 * depend on the propagator an application registered. Spans come from `@opentelemetry/api`'s
 * global tracer provider (Deno's with `OTEL_DENO=true`); {@link liveTracer} is `undefined`
 * without one, and then nothing here allocates or touches an envelope.
 * @module
 */
import {
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  trace,
  type Tracer,
  type TraceState,
} from "npm:@opentelemetry/api@1.10.0";
import type { Envelope } from "../envelope.ts";

/** The metadata key of the W3C `traceparent`. */
export const TRACEPARENT = "traceparent";
/** The metadata key of the W3C `tracestate`. */
export const TRACESTATE = "tracestate";

const TRACER_NAME = "lime";
/** Where `@opentelemetry/api` 1.x registers its global providers. */
const API_KEY = Symbol.for("opentelemetry.js.api.1");
let tracer: Tracer | undefined;
let tracerOf: unknown;

/**
 * The tracer of the module, or `undefined` when no tracer provider is registered (the API's
 * proxy has no delegate): callers skip all tracing work then.
 */
export function liveTracer(): Tracer | undefined {
  // The API's global registry: no `trace` entry, no provider (the common case, two reads).
  if (!(globalThis as Record<symbol, { trace?: unknown } | undefined>)[API_KEY]?.trace) {
    return undefined;
  }
  const provider = trace.getTracerProvider() as ReturnType<typeof trace.getTracerProvider> & {
    getDelegateTracer?: (name: string) => Tracer | undefined;
  };
  if (typeof provider.getDelegateTracer === "function") {
    return provider.getDelegateTracer(TRACER_NAME);
  }
  if (tracerOf !== provider) {
    tracer = provider.getTracer(TRACER_NAME);
    tracerOf = provider;
  }
  return tracer;
}

const TRACEPARENT_SHAPE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

class ParsedTraceState implements TraceState {
  constructor(readonly raw: string) {}
  set(): TraceState {
    return this;
  }
  unset(): TraceState {
    return this;
  }
  get(key: string): string | undefined {
    for (const member of this.raw.split(",")) {
      const eq = member.indexOf("=");
      if (eq > 0 && member.slice(0, eq).trim() === key) return member.slice(eq + 1).trim();
    }
    return undefined;
  }
  serialize(): string {
    return this.raw;
  }
}

/** The remote span context in an envelope's metadata, when it has a valid `traceparent`. */
export function spanContextOf(envelope: Envelope): SpanContext | undefined {
  const value = envelope.metadata?.[TRACEPARENT];
  if (typeof value !== "string") return undefined;
  const match = TRACEPARENT_SHAPE.exec(value);
  if (!match || /^0+$/.test(match[1]) || /^0+$/.test(match[2])) return undefined;
  const state = envelope.metadata?.[TRACESTATE];
  return {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16) & 1,
    isRemote: true,
    ...(typeof state === "string" && state !== ""
      ? { traceState: new ParsedTraceState(state.slice(0, 512)) }
      : {}),
  };
}

/** The context to start a span under: the envelope's remote parent, else the active context. */
export function parentContextOf(envelope: Envelope): Context {
  const remote = spanContextOf(envelope);
  return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : context.active();
}

/** Writes `span`'s context into `envelope.metadata` (a recording span only). */
export function injectSpan(envelope: Envelope, span: Span): void {
  if (!span.isRecording()) return;
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  const metadata = { ...envelope.metadata };
  metadata[TRACEPARENT] = `00-${traceId}-${spanId}-${traceFlags & 1 ? "01" : "00"}`;
  const state = traceState?.serialize();
  if (state) metadata[TRACESTATE] = state;
  else delete metadata[TRACESTATE];
  envelope.metadata = metadata;
}

/**
 * Writes the active span's context into `envelope.metadata` when there is a recording one and
 * the envelope carries no `traceparent` yet; true when it wrote.
 */
export function injectActive(envelope: Envelope): boolean {
  if (envelope.metadata?.[TRACEPARENT]) return false;
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return false;
  injectSpan(envelope, span);
  return true;
}
