/**
 * The TCP and WebSocket listeners go on accepting after many connections were destroyed: Deno
 * 2.5's `node:net` server stopped for good after 513 with Node's default backlog (it never lowered
 * its count for a destroyed connection), so a LimeServer on Deno 2.5 went deaf after its 513th
 * hostile connection (found by `deno task fuzz` on Deno 2.5). This suite runs on 2.5 in CI.
 */
import assert from "node:assert/strict";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { WebSocketTransportListener } from "../src/transport/websocket_server.ts";
import { RawWebSocket } from "./websocket_raw_client.ts";

const CONNECTIONS = 600;

Deno.test(`TcpTransportListener accepts ${CONNECTIONS} connections one after another, each dropped at once`, async () => {
  const listener = new TcpTransportListener({ hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  const [hostname, port] = listener.address!.split(":");
  const accepted = listener[Symbol.asyncIterator]();
  try {
    for (let i = 0; i < CONNECTIONS; i++) {
      const conn = await Deno.connect({ hostname, port: Number(port) });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        accepted.next(),
        new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 2000)),
      ]);
      clearTimeout(timer);
      assert.ok(next && !next.done, `connection ${i + 1} was not accepted within 2 s`);
      conn.close();
      await next.value.close();
    }
  } finally {
    await listener.close({ closeTransports: true });
  }
});

Deno.test(`WebSocketTransportListener answers ${CONNECTIONS} upgrades one after another, each dropped at once`, async () => {
  const listener = new WebSocketTransportListener({ hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]();
  try {
    for (let i = 0; i < CONNECTIONS; i++) {
      const client = await RawWebSocket.open(listener.address!);
      const next = await accepted.next();
      assert.ok(!next.done);
      await client.close();
      await next.value.close();
    }
  } finally {
    await listener.close({ closeTransports: true });
  }
});
