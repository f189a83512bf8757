/**
 * The error a user sees names the fix: a TCP client pointed at a LIME server's WebSocket (HTTP)
 * port is told it reached an HTTP server, and a `LimeClient` given `host:port` without a scheme
 * is told to write `net.tcp://`.
 */
import assert from "node:assert/strict";
import { ClientChannel, LimeClient, TcpTransport, TransportError } from "../mod.ts";
import { LimeClient as BrowserLimeClient } from "../web.ts";
import { TestServer } from "./server_test_helpers.ts";
import { within } from "./tcp_helpers.ts";

Deno.test("TcpTransport pointed at a WebSocket port says it looks like an HTTP server", async () => {
  await using server = await TestServer.start();
  const transport = new TcpTransport();
  await transport.open(`net.tcp://${server.server.websocketAddress}`);
  const channel = new ClientChannel(transport);
  const error = await within(channel.establishSession({ identity: "ann@localhost" })).then(
    () => undefined,
    (caught) => caught,
  );
  const cause = (error as Error).cause;
  assert.ok(cause instanceof TransportError, `expected a TransportError cause, got ${error}`);
  assert.equal(cause.code, "framing");
  assert.match(cause.message, /^The server answered in HTTP \("HTTP\/1\.1 400 Bad Request"\)/);
  assert.match(cause.message, /looks like an HTTP server .*Connect to it with ws:\/\//);
  assert.match((error as Error).message, /looks like an HTTP server/);
});

Deno.test("LimeClient given host:port without a scheme says the URI needs net.tcp://", () => {
  assert.throws(
    () => new LimeClient({ uri: "localhost:55321", identity: "ann@localhost" }),
    (error) =>
      error instanceof TypeError &&
      error.message ===
        'The URI "localhost:55321" needs a scheme: write "net.tcp://localhost:55321" for TCP ' +
          "(or ws://, wss:// for WebSocket)",
  );
  assert.throws(
    () => new LimeClient({ uri: "http://localhost:8080", identity: "ann@localhost" }),
    /the scheme must be net\.tcp:\/\/, ws:\/\/, wss:\/\//,
  );
});

Deno.test("LimeClient from web.ts given host:port without a scheme says the URI needs ws://", async () => {
  await using client = new BrowserLimeClient({
    uri: "localhost:8080",
    identity: "ann@localhost",
    reconnect: { maxAttempts: 1 },
  });
  await assert.rejects(
    client.start(),
    (error) =>
      error instanceof TypeError &&
      error.message ===
        'The URI "localhost:8080" needs ws:// or wss:// (LimeClient from mod.ts takes net.tcp:// too)',
  );
});
