/**
 * Metrics, traces and logs of a real run: `deno task start` as a subprocess with Deno's OTLP
 * exporter pointed at a receiver in this test (JSON protocol), and the peers (a bot and a client)
 * in another process with `OTEL_DENO=true` too. One scripted scenario: 2 sessions established,
 * 1 refused for a wrong password (13), N messages routed to the bot, one command answered by the
 * bot; then, over the HTTP API, a message posted (202) and a wrong password (401). Asserted: the span trees of a message and of the command (client → server → bot and
 * back, one trace), the metric values, and the JSON log lines (the refusal names its cause and
 * no line holds a password).
 * @module
 */
import assert from "node:assert/strict";
import { basicAuthorization } from "../../src/http/http_credentials.ts";
import { StartProcess } from "../server_start_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { OtlpReceiver, type ReceivedSpan } from "./otlp_receiver.ts";

const PEERS = new URL("./traced_peers.ts", import.meta.url).pathname;
const PASSWORD = "s3cret-PASSWORD";
const MESSAGES = 5;

/** The span of `service` named `name` whose parent is `parent` (or a root when undefined). */
function child(
  spans: ReceivedSpan[],
  service: string,
  name: string,
  parent: ReceivedSpan | undefined,
  where: (span: ReceivedSpan) => boolean = () => true,
): ReceivedSpan {
  const found = spans.find((span) =>
    span.service === service && span.name === name && where(span) &&
    (parent
      ? span.parentSpanId === parent.spanId && span.traceId === parent.traceId
      : span.parentSpanId === "")
  );
  assert.ok(
    found,
    `no ${name} of ${service} under ${parent?.name ?? "nothing"}:\n` +
      spans.map((span) =>
        `${span.service} ${span.name} ${span.traceId}/${span.spanId} <- ${span.parentSpanId}`
      ).join("\n"),
  );
  return found;
}

Deno.test("deno task start exports metrics and one trace per message and command over OTLP, and logs refusals as JSON", async () => {
  await using receiver = new OtlpReceiver();
  await using server = new StartProcess(
    ["--tcp=127.0.0.1:0", "--ws=off", "--data=:memory:", "--log-format=json"],
    { ...receiver.env("lime-server"), LIME_ACCOUNTS: `alice@localhost:${PASSWORD}` },
  );
  const address = await server.tcpAddress();
  const peers = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PEERS, address, String(MESSAGES)],
    env: { ...receiver.env("lime-peers"), LIME_PASSWORD: PASSWORD },
    stdin: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const decoder = new TextDecoder();
  assert.ok(peers.success, decoder.decode(peers.stderr));
  assert.match(decoder.decode(peers.stdout), /done/);

  // The HTTP API: one message as alice (202), one sign-in with a wrong password (401).
  const http = (await within(
    server.stdout.find(/HTTP\s+(http:\/\/127\.0\.0\.1:\d+)/, () => server.exited),
    10_000,
    "the HTTP address line",
  ))[1];
  const post = (password: string) =>
    fetch(`${http}/messages`, {
      method: "POST",
      headers: {
        authorization: basicAuthorization("alice@localhost", password),
        "content-type": "application/json",
      },
      body: JSON.stringify({ to: "bob@localhost", type: "text/plain", content: "hi" }),
    }).then(async (response) => (await response.body?.cancel(), response.status));
  assert.equal(await post(PASSWORD), 202);
  assert.equal(await post("hunter2-HTTP"), 401);

  // Metrics: cumulative, so the latest export holds the totals.
  const server_ = "lime-server";
  await receiver.until(
    () =>
      receiver.total(server_, "lime.server.envelopes.routed", {
          "lime.envelope.kind": "message",
        }) >=
        MESSAGES + 1 &&
      receiver.total(server_, "lime.server.session.refusals") >= 2 &&
      receiver.total(server_, "lime.http.requests") >= 2 &&
      receiver.total(server_, "lime.server.sessions", { "lime.transport": "tcp" }) === 0 &&
      receiver.total(server_, "lime.server.session.establishments") >= 3,
    "the server's metrics",
  );
  assert.equal(
    receiver.total(server_, "lime.server.session.establishments", { "lime.transport": "tcp" }),
    2,
  );
  // alice's HTTP session, alive until it idles out.
  assert.equal(
    receiver.total(server_, "lime.server.session.establishments", {
      "lime.transport": "http",
      "lime.scheme": "plain",
    }),
    1,
  );
  assert.equal(receiver.total(server_, "lime.server.sessions", { "lime.transport": "http" }), 1);
  assert.equal(
    receiver.total(server_, "lime.server.session.establishments", {
      "lime.transport": "tcp",
      "lime.scheme": "plain",
    }),
    1,
  );
  assert.equal(
    receiver.total(server_, "lime.server.session.refusals", {
      "lime.transport": "tcp",
      "lime.reason.code": 13,
    }),
    1,
  );
  assert.equal(receiver.total(server_, "lime.server.session.refusals"), 2);
  assert.equal(
    receiver.total(server_, "lime.server.session.refusals", {
      "lime.transport": "http",
      "lime.reason.code": 13,
      "http.response.status_code": 401,
    }),
    1,
  );
  assert.equal(
    receiver.total(server_, "lime.http.requests", {
      "http.route": "/messages",
      "http.response.status_code": 202,
    }),
    1,
  );
  assert.equal(
    receiver.total(server_, "lime.http.requests", {
      "http.route": "/messages",
      "http.response.status_code": 401,
    }),
    1,
  );
  // The peers' messages and the one posted over HTTP (to bob, who is not there: failed 42).
  assert.equal(
    receiver.total(server_, "lime.server.envelopes.routed", { "lime.envelope.kind": "message" }),
    MESSAGES + 1,
  );
  assert.equal(
    receiver.total(server_, "lime.server.failures", { "lime.reason.code": 42 }),
    1,
  );
  // The command and its response.
  assert.equal(
    receiver.total(server_, "lime.server.envelopes.routed", { "lime.envelope.kind": "command" }),
    2,
  );
  assert.equal(
    receiver.total(server_, "lime.server.envelopes.in", { "lime.envelope.kind": "message" }),
    MESSAGES + 1,
  );
  assert.equal(
    receiver.total(server_, "lime.server.envelopes.out", { "lime.envelope.kind": "message" }),
    MESSAGES,
  );
  assert.equal(receiver.total(server_, "lime.server.sessions", { "lime.transport": "tcp" }), 0);
  assert.ok(receiver.pointsOf(server_, "lime.server.queued_bytes").length > 0);
  await receiver.until(
    () => receiver.total("lime-peers", "lime.command.duration", { "lime.side": "client" }) >= 1,
    "the client's command histogram",
  );
  assert.equal(
    receiver.total("lime-peers", "lime.command.duration", {
      "lime.side": "client",
      "lime.command.method": "get",
      "lime.command.status": "success",
    }),
    1,
  );

  // Traces: the message m1 and the command c1, each one trace across the three nodes.
  await receiver.until(
    () =>
      receiver.spans.filter((span) => span.name === "lime.route command").length >= 2 &&
      receiver.spans.some((span) => span.name === "lime.command get"),
    "the spans",
  );
  const spans = receiver.spans;
  const sent = child(
    spans,
    "lime-peers",
    "lime.send message",
    undefined,
    (span) => span.attributes["lime.envelope.id"] === "m1",
  );
  const routed = child(spans, server_, "lime.route message", sent);
  assert.equal(routed.attributes["lime.from"], "alice@localhost/home");
  child(spans, "lime-peers", "lime.receive message", routed);

  const command = child(spans, "lime-peers", "lime.command get", undefined);
  assert.equal(command.attributes["lime.command.uri"], "/status");
  assert.equal(command.attributes["lime.command.status"], "success");
  const request = child(spans, server_, "lime.route command", command);
  const handled = child(spans, "lime-peers", "lime.command.handle get", request);
  const response = child(spans, server_, "lime.route command", handled);
  assert.equal(response.attributes["lime.from"], "bot@localhost/b");

  // The establishment spans: two established, one refused.
  await receiver.until(
    () => spans.filter((span) => span.name === "lime.session.establish").length >= 3,
    "the establishment spans",
  );

  // Logs: JSON lines on stderr; the refusal names its cause; no password anywhere.
  server.child.kill("SIGTERM");
  await server.status;
  await server.stderr.done;
  const lines = server.stderr.lines.filter((line) => line.startsWith("{"));
  const records = lines.map((line) => JSON.parse(line));
  const httpRefusal = records.find((record) => /HTTP sign-in refused/.test(record.message));
  assert.equal(httpRefusal?.properties.cause, "wrong password");
  assert.equal(httpRefusal?.properties.identity, "alice@localhost");
  assert.equal(httpRefusal?.properties.status, 401);
  const refusal = records.find((record) => /Session refused/.test(record.message));
  assert.ok(refusal, lines.join("\n"));
  assert.equal(refusal.level, "INFO");
  assert.equal(refusal.logger, "lime.server.session");
  assert.equal(refusal.properties.cause, "wrong password");
  assert.equal(refusal.properties.code, 13);
  assert.match(refusal.properties.remote, /^127\.0\.0\.1:\d+$/);
  const overTcp = (record: { properties: { transport?: string } }) =>
    record.properties.transport === "tcp";
  const established = records.filter((record) =>
    /Session established/.test(record.message) && overTcp(record)
  );
  assert.deepEqual(
    established.map((record) => [record.properties.node, record.properties.scheme]).sort(),
    [["alice@localhost/home", "plain"], ["bot@localhost/b", "guest"]],
  );
  assert.ok(established.every((record) => record.properties.tls === false));
  const ended = records.filter((record) => /Session ended/.test(record.message) && overTcp(record));
  assert.ok(
    records.some((record) =>
      /Session established/.test(record.message) &&
      record.properties.node === "alice@localhost/http" && record.properties.transport === "http"
    ),
  );
  assert.equal(ended.length, 2, lines.join("\n"));
  assert.ok(ended.every((record) => typeof record.properties.durationMs === "number"));
  assert.ok(records.some((record) => record.properties.name === "TCP"));
  assert.ok(records.some((record) => /Shutting down/.test(record.message)));
  for (const line of server.stderr.lines.concat(server.stdout.lines)) {
    assert.ok(!line.includes(PASSWORD), line);
    assert.ok(!line.includes("hunter2"), line);
    assert.ok(!line.includes(btoa(`alice@localhost:${PASSWORD}`)), line);
  }
});
