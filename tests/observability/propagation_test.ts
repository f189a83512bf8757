/**
 * Trace context in envelope metadata, in one process: without a tracer provider nothing is added
 * to what a client sends or what the server routes; with one (a minimal provider made here, no
 * SDK), the server's `lime.route` span replaces the sender's `traceparent`, keeps `tracestate`,
 * and a bot's answer carries its handling span back. A malformed `traceparent` starts no trace.
 * @module
 */
import assert from "node:assert/strict";
import {
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  trace,
  type Tracer,
  type TracerProvider,
} from "npm:@opentelemetry/api@1.10.0";
import { Command, Message, Notification } from "../../mod.ts";
import { liveTracer, spanContextOf } from "../../src/observability/tracing.ts";
import { nextMessage, TestServer } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";

/** A started span: its name, context and parent. */
interface Made {
  name: string;
  context: SpanContext;
  parent?: SpanContext;
}

const hex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");

/** The smallest recording provider: spans remember their parent, nothing is exported. */
function recordingProvider(made: Made[]): TracerProvider {
  const tracer: Tracer = {
    startSpan(name: string, _options?: SpanOptions, context?: Context): Span {
      const parent = context ? trace.getSpanContext(context) : undefined;
      const spanContext: SpanContext = {
        traceId: parent?.traceId ?? hex(16),
        spanId: hex(8),
        traceFlags: 1,
        ...(parent?.traceState ? { traceState: parent.traceState } : {}),
      };
      made.push({ name, context: spanContext, ...(parent ? { parent } : {}) });
      const span: Span = {
        spanContext: () => spanContext,
        setAttribute: () => span,
        setAttributes: () => span,
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus: () => span,
        updateName: () => span,
        end: () => {},
        isRecording: () => true,
        recordException: () => {},
      };
      return span;
    },
    startActiveSpan: (() => {
      throw new Error("not used");
    }) as Tracer["startActiveSpan"],
  };
  return { getTracer: () => tracer };
}

Deno.test("without a tracer provider, nothing is added to what clients send and the server routes", async () => {
  assert.equal(liveTracer(), undefined);
  await using server = await TestServer.start();
  const alice = await server.login("alice@localhost/home");
  const bob = await server.login("bob@localhost/home");
  await alice.sendMessage(new Message("text/plain", "hi", { id: "m1", to: "bob@localhost/home" }));
  const received = await nextMessage(bob) as Record<string, unknown>;
  assert.equal(received.metadata, undefined);
  bob.onCommand((request) => {
    assert.equal(request.metadata, undefined);
    bob.sendCommand(
      new Command(request.method, undefined, {
        id: request.id,
        to: request.from,
        status: "success",
      }),
    ).catch(() => {});
  });
  const response = await within(
    alice.processCommand(new Command("get", "/x", { id: "c1", to: "bob@localhost/home" })),
  );
  assert.equal(response.status, "success");
  assert.equal(response.metadata, undefined);
});

Deno.test("with a tracer provider, the route span replaces the sender's traceparent and a bot's answer carries its span back", async () => {
  const made: Made[] = [];
  trace.setGlobalTracerProvider(recordingProvider(made));
  try {
    assert.ok(liveTracer());
    await using server = await TestServer.start();
    const alice = await server.login("alice@localhost/home");
    const bob = await server.login("bob@localhost/home");
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await alice.sendMessage(
      new Message("text/plain", "hi", {
        id: "m1",
        to: "bob@localhost/home",
        metadata: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, tracestate: "vendor=x" },
      }),
    );
    const received = await nextMessage(bob) as { metadata: Record<string, string> };
    const route = made.find((span) => span.name === "lime.route message")!;
    assert.equal(route.parent?.spanId, "b7ad6b7169203331");
    assert.equal(route.context.traceId, traceId);
    assert.equal(
      received.metadata.traceparent,
      `00-${traceId}-${route.context.spanId}-01`,
    );
    assert.equal(received.metadata.tracestate, "vendor=x");
    assert.ok(made.some((span) => span.name === "lime.receive message"));

    // A command: the client's span → the route → bob's handling span → the route of the answer.
    bob.onCommand((request) => {
      bob.sendCommand(
        new Command(request.method, undefined, {
          id: request.id,
          to: request.from,
          status: "success",
        }),
      ).catch(() => {});
    });
    const response = await within(
      alice.processCommand(new Command("get", "/x", { id: "c1", to: "bob@localhost/home" })),
    );
    const client = made.find((span) => span.name === "lime.command get")!;
    const routes = made.filter((span) => span.name === "lime.route command");
    const handle = made.find((span) => span.name === "lime.command.handle get")!;
    assert.equal(routes[0].parent?.spanId, client.context.spanId);
    assert.equal(handle.parent?.spanId, routes[0].context.spanId);
    assert.equal(routes[1].parent?.spanId, handle.context.spanId);
    assert.equal(
      response.metadata?.traceparent,
      `00-${client.context.traceId}-${routes[1].context.spanId}-01`,
    );
  } finally {
    trace.disable();
  }
  assert.equal(liveTracer(), undefined);
});

Deno.test("the server starts a route span for an untraced envelope only with traceRouting: all", async () => {
  const made: Made[] = [];
  trace.setGlobalTracerProvider(recordingProvider(made));
  try {
    for (const traceRouting of ["traced", "all"] as const) {
      made.length = 0;
      await using server = await TestServer.start({ traceRouting });
      const alice = await server.login("alice@localhost/home");
      const bob = await server.login("bob@localhost/home");
      // A notification sent with no active span carries no trace context (a message would: the
      // client gives it a lime.send span).
      await alice.sendNotification(
        new Notification("received", { id: "n1", to: "bob@localhost/home" }),
      );
      const received = await within(bob.receiveNotification());
      const routes = made.filter((span) => span.name === "lime.route notification");
      if (traceRouting === "traced") {
        assert.equal(routes.length, 0);
        assert.equal(received.metadata, undefined);
      } else {
        assert.equal(routes.length, 1);
        assert.equal(routes[0].parent, undefined);
        assert.equal(
          received.metadata?.traceparent,
          `00-${routes[0].context.traceId}-${routes[0].context.spanId}-01`,
        );
      }
    }
  } finally {
    trace.disable();
  }
});

Deno.test("spanContextOf reads a W3C traceparent and ignores a malformed or all-zero one", () => {
  const parent = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
  const message = (metadata: Record<string, string>) =>
    new Message("text/plain", "x", { metadata });
  assert.deepEqual(spanContextOf(message(parent)), {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: 1,
    isRemote: true,
  });
  assert.equal(spanContextOf(message({ traceparent: "garbage" })), undefined);
  assert.equal(
    spanContextOf(message({ traceparent: `00-${"0".repeat(32)}-b7ad6b7169203331-01` })),
    undefined,
  );
  assert.equal(
    spanContextOf(message({ ...parent, tracestate: "a=1,b=2" }))?.traceState?.get("b"),
    "2",
  );
});
