/**
 * LIME over WebSocket inside an app's own `Deno.serve` (where Deno owns the socket):
 * `upgradeLimeWebSocket`, and the client against a server that does not select `lime`.
 */
import assert from "node:assert/strict";
import { Message } from "../src/envelope.ts";
import type { Envelope } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import type { Transport } from "../src/transport/transport.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { upgradeLimeWebSocket } from "../src/transport/websocket_upgrade.ts";

async function take(transport: Transport, count: number): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const envelope of transport) {
    out.push(envelope);
    if (out.length === count) break;
  }
  return out;
}

function isCode(code: string) {
  return (error: unknown) => error instanceof TransportError && error.code === code;
}

Deno.test("WebSocketTransport.open fails when the server does not select lime", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request); // no protocol
    socket.addEventListener("message", () => {});
    return response;
  });
  try {
    const client = new WebSocketTransport();
    await assert.rejects(
      client.open(`ws://127.0.0.1:${server.addr.port}`),
      (e) => isCode("io")(e) && /did not select the "lime" subprotocol/.test((e as Error).message),
    );
    assert.equal((await client.closed).by, "error");
    assert.equal(client.isConnected, false);
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeLimeWebSocket works inside an app's own Deno.serve handler next to other routes", async () => {
  const accepted = Promise.withResolvers<WebSocketTransport>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request, info) => {
      const { pathname } = new URL(request.url);
      if (pathname === "/health") return new Response("ok");
      if (pathname !== "/lime") return new Response("not here", { status: 404 });
      const { response, transport } = upgradeLimeWebSocket(request, { info });
      if (transport) accepted.resolve(transport);
      return response;
    },
  );
  const base = `127.0.0.1:${server.addr.port}`;
  const client = new WebSocketTransport();
  try {
    assert.equal(await fetch(`http://${base}/health`).then((r) => r.text()), "ok");
    const refused = await fetch(`http://${base}/lime`);
    assert.equal(refused.status, 400);
    await refused.body?.cancel();
    await client.open(`ws://${base}/lime`);
    const transport = await accepted.promise;
    assert.match(transport.remoteEndpoint ?? "", /^127\.0\.0\.1:\d+$/);
    const atServer = take(transport, 1);
    await client.send(new Message("text/plain", "ping", { id: "p" }));
    const echoed = take(client, 1);
    await transport.send((await atServer)[0]);
    assert.equal((await echoed)[0].id, "p");
    await transport.close();
    assert.equal((await client.closed).by, "remote");
  } finally {
    await client.close();
    await server.shutdown();
  }
});
