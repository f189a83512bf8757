/**
 * Command round trips, traced and timed: the client side of `processCommand` (a `CLIENT` span
 * whose context travels in the request's `metadata`, ended by the response) and the server side
 * of a request the server answers itself (a `SERVER` span under the request's context). Both
 * record `lime.command.duration`. Without a tracer provider only the histogram is recorded.
 * @module
 */
import {
  type Attributes,
  type Span,
  SpanKind,
  SpanStatusCode,
} from "npm:@opentelemetry/api@1.10.0";
import type { Command } from "../envelope.ts";
import { attributeCache, commandDuration } from "./metrics.ts";
import { injectSpan, liveTracer, parentContextOf } from "./tracing.ts";

const durationAttributes = attributeCache((key: string) => {
  const [side, method, status] = key.split(" ");
  return { "lime.side": side, "lime.command.method": method, "lime.command.status": status };
});

function spanAttributes(request: Command): Attributes {
  return {
    "lime.command.method": request.method,
    ...(request.uri ? { "lime.command.uri": String(request.uri).slice(0, 256) } : {}),
    ...(request.to ? { "lime.to": request.to } : {}),
  };
}

function finish(
  side: "client" | "server",
  request: Command,
  started: number,
  span: Span | undefined,
  response: Command | undefined,
  error?: unknown,
): void {
  const status = response?.status ?? "error";
  commandDuration.record(
    (performance.now() - started) / 1000,
    durationAttributes(`${side} ${request.method} ${status}`),
  );
  if (!span) return;
  span.setAttribute("lime.command.status", status);
  if (response?.reason) span.setAttribute("lime.reason.code", response.reason.code);
  if (error !== undefined || status === "failure") {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: response?.reason?.description ?? (error as Error)?.message,
    });
  }
  span.end();
}

/**
 * Runs a client's command round trip: `send` sends `request` (carrying the span's context when
 * tracing) and resolves with the response.
 */
export function traceClientCommand(
  request: Command,
  send: () => Promise<Command>,
): Promise<Command> {
  const started = performance.now();
  const tracer = liveTracer();
  let span: Span | undefined;
  if (tracer) {
    span = tracer.startSpan(`lime.command ${request.method}`, {
      kind: SpanKind.CLIENT,
      attributes: spanAttributes(request),
    }, parentContextOf(request));
    injectSpan(request, span);
  }
  return send().then(
    (response) => {
      finish("client", request, started, span, response);
      return response;
    },
    (error) => {
      finish("client", request, started, span, undefined, error);
      throw error;
    },
  );
}

/**
 * Runs the server's processing of a request addressed to it: `process` resolves with the
 * reply, whose response gets the span's context.
 */
export function traceServerCommand<T extends { response: Command }>(
  request: Command,
  process: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const tracer = liveTracer();
  let span: Span | undefined;
  if (tracer) {
    span = tracer.startSpan(`lime.command.handle ${request.method}`, {
      kind: SpanKind.SERVER,
      attributes: spanAttributes(request),
    }, parentContextOf(request));
  }
  return process().then(
    (reply) => {
      if (span) injectSpan(reply.response, span);
      finish("server", request, started, span, reply.response);
      return reply;
    },
    (error) => {
      finish("server", request, started, span, undefined, error);
      throw error;
    },
  );
}
