/**
 * LIME over `wss://`: the listener serving TLS with a throwaway CA (needs --allow-run and
 * --allow-write for `openssl`, like the TCP TLS tests).
 * @module
 */
import assert from "node:assert/strict";
import { Message } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { WebSocketTransportListener } from "../src/transport/websocket_server.ts";
import { tlsFixture } from "./tls_fixture.ts";

Deno.test("WebSocketTransport opens wss:// to a TLS listener and reports tls on both sides", async () => {
  const { ca, server: leaf } = await tlsFixture();
  const listener = new WebSocketTransportListener({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.cert,
    key: leaf.key,
  });
  await listener.listen();
  const http = Deno.createHttpClient({ caCerts: [ca] });
  const client = new WebSocketTransport({
    createSocket: (url, protocol) => new WebSocket(url, { protocols: [protocol], client: http }),
  });
  try {
    const url = listener.url!.replace("127.0.0.1", "localhost");
    assert.match(url, /^wss:\/\/localhost:\d+\/$/);
    const accepted = listener[Symbol.asyncIterator]().next();
    await client.open(url);
    const server = (await accepted).value!;
    assert.equal(client.encryption, "tls");
    assert.deepEqual(client.supportedEncryption(), ["tls"]);
    assert.equal(server.encryption, "tls");
    assert.deepEqual(server.supportedEncryption(), ["tls"]);
    await assert.rejects(
      client.setEncryption("none"),
      (e) => e instanceof TransportError && e.code === "unsupported",
    );
    const received = (async () => {
      for await (const envelope of server) return envelope;
    })();
    await client.send(new Message("text/plain", "over tls", { id: "t" }));
    assert.equal((await received)?.id, "t");
  } finally {
    await client.close();
    await listener.close({ closeTransports: true });
    http.close();
  }
});

Deno.test("WebSocketTransport.open fails on wss:// to a server the runtime does not trust", async () => {
  const { server: leaf } = await tlsFixture();
  const listener = new WebSocketTransportListener({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.cert,
    key: leaf.key,
  });
  await listener.listen();
  try {
    const client = new WebSocketTransport();
    await assert.rejects(
      client.open(listener.url!.replace("127.0.0.1", "localhost")),
      (e) => e instanceof TransportError && e.code === "io",
    );
    assert.equal(listener.transports.size, 0);
  } finally {
    await listener.close({ closeTransports: true });
  }
});

Deno.test("WebSocketServerTransport over wss stops reading while its receive queue is full", async () => {
  const { ca, server: leaf } = await tlsFixture();
  const listener = new WebSocketTransportListener({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.cert,
    key: leaf.key,
    receiveBufferSize: 4,
  });
  await listener.listen();
  const http = Deno.createHttpClient({ caCerts: [ca] });
  const client = new WebSocketTransport({
    createSocket: (url, protocol) => new WebSocket(url, { protocols: [protocol], client: http }),
  });
  try {
    const accepted = listener[Symbol.asyncIterator]().next();
    await client.open(listener.url!.replace("127.0.0.1", "localhost"));
    const server = (await accepted).value!;
    // Nobody takes the envelopes: once the queue is full the server stops reading (the TLS
    // socket and the TCP socket under it), so the client's sends back up.
    const content = "x".repeat(1000);
    const count = 30_000; // ~31 MiB
    const sends = Array.from(
      { length: count },
      (_, i) => client.send(new Message("text/plain", content, { id: `m${i}` })),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(client.sendsWaiting, "the server read everything");
    let received = 0;
    for await (const _ of server) {
      if (++received === count) break;
    }
    await Promise.all(sends);
  } finally {
    await client.close();
    await listener.close({ closeTransports: true });
    http.close();
  }
});

Deno.test("WebSocketTransportListener refuses a key that does not belong to its certificate", async () => {
  const { ca, server: leaf } = await tlsFixture();
  assert.throws(
    () => new WebSocketTransportListener({ port: 0, cert: ca, key: leaf.key }),
    (e) => e instanceof TypeError && /does not belong/.test(e.message),
  );
  assert.throws(() => new WebSocketTransportListener({ port: 0, cert: leaf.cert }), TypeError);
});
