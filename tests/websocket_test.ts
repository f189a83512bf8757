import assert from "node:assert/strict";
import { Message } from "../src/envelope.ts";
import type { Envelope } from "../src/envelope.ts";
import { serializeEnvelope } from "../src/codec.ts";
import { TransportError } from "../src/transport/errors.ts";
import type { Transport } from "../src/transport/transport.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import {
  type AcceptedWebSocket,
  type WebSocketListenerOptions,
  WebSocketTransportListener,
} from "../src/transport/websocket_server.ts";
import { transportConformance } from "./transport_conformance.ts";

async function startListener(
  options: WebSocketListenerOptions = {},
): Promise<WebSocketTransportListener> {
  const listener = new WebSocketTransportListener({ hostname: "127.0.0.1", port: 0, ...options });
  await listener.listen();
  return listener;
}

async function accept(listener: WebSocketTransportListener): Promise<AcceptedWebSocket> {
  const next = await listener[Symbol.asyncIterator]().next();
  assert.equal(next.done, false);
  return next.value;
}

/** A listener, a client connected to it and the server side of that connection. */
async function connect(
  serverOptions: WebSocketListenerOptions = {},
  clientOptions: ConstructorParameters<typeof WebSocketTransport>[0] = {},
) {
  const listener = await startListener(serverOptions);
  const client = new WebSocketTransport(clientOptions);
  const accepted = accept(listener);
  await client.open(listener.url!);
  const server = await accepted;
  return {
    listener,
    client,
    server,
    async dispose() {
      await Promise.allSettled([client.close(), server.close()]);
      await listener.close({ closeTransports: true });
    },
  };
}

async function take(transport: Transport, count: number): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const envelope of transport) {
    out.push(envelope);
    if (out.length === count) break;
  }
  return out;
}

/** A plain WebSocket client, to send what the transport never would. */
function rawClient(url: string, protocols?: string | string[]) {
  const socket = new WebSocket(url, protocols);
  socket.binaryType = "arraybuffer";
  const opened = new Promise<void>((resolve) => socket.addEventListener("open", () => resolve()));
  const closed = new Promise<CloseEvent>((resolve) =>
    socket.addEventListener("close", (event) => resolve(event))
  );
  return { socket, opened, closed };
}

function isCode(code: string) {
  return (error: unknown) => error instanceof TransportError && error.code === code;
}

const text = (id: string) => serializeEnvelope(new Message("text/plain", `hi ${id}`, { id }));

transportConformance("WebSocketTransport", async ({ maxEnvelopeSize }) => {
  const { client, server, listener } = await connect({ maxEnvelopeSize }, { maxEnvelopeSize });
  return { client, server, dispose: () => listener.close({ closeTransports: true }) };
});

Deno.test("WebSocketTransport exchanges envelopes both ways with the lime subprotocol", async () => {
  const pair = await connect();
  try {
    const { client, server, listener } = pair;
    assert.equal(client.socket?.protocol, "lime");
    assert.equal(client.remoteEndpoint, listener.address);
    assert.match(server.remoteEndpoint ?? "", /^127\.0\.0\.1:\d+$/);
    // Read when asked for (not at the upgrade): the listener's address, and the same once cached.
    assert.equal(server.localEndpoint, listener.address);
    assert.equal(server.localEndpoint, listener.address);
    assert.equal(listener.transports.size, 1);
    for (const t of [client, server]) {
      assert.equal(t.encryption, "none");
      assert.deepEqual(t.supportedEncryption(), ["none"]);
      assert.deepEqual(t.supportedCompression(), ["none"]);
    }
    const atServer = take(server, 2);
    await client.send(new Message("text/plain", "one", { id: "1" }));
    await client.send(new Message("text/plain", "two", { id: "2" }));
    assert.deepEqual((await atServer).map((e) => e.id), ["1", "2"]);
    const atClient = take(client, 1);
    await server.send(new Message("text/plain", "back", { id: "3" }));
    assert.equal(((await atClient)[0] as Message).content, "back");
  } finally {
    await pair.dispose();
  }
});

Deno.test("WebSocketTransportListener refuses an upgrade without the lime subprotocol with 400", async () => {
  const listener = await startListener();
  try {
    const port = Number(listener.address!.split(":")[1]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(
      new TextEncoder().encode(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
          "Sec-WebSocket-Protocol: chat\r\nConnection: close\r\n\r\n",
      ),
    );
    const reply = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /must request the "lime" subprotocol/);

    const raw = rawClient(listener.url!);
    let errored = false;
    raw.socket.addEventListener("error", () => errored = true);
    const event = await raw.closed;
    assert.ok(errored);
    assert.equal(event.wasClean, false);
    assert.equal(listener.transports.size, 0);
  } finally {
    await listener.close();
  }
});

Deno.test("WebSocketTransportListener answers a plain HTTP request with 400 and a reason", async () => {
  const listener = await startListener();
  try {
    const response = await fetch(`http://${listener.address}/`);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /WebSocket upgrade request with the "lime" subprotocol/);
  } finally {
    await listener.close();
  }
});

Deno.test("WebSocketTransportListener answers 404 outside its path and 503 when its queue is full", async () => {
  const listener = await startListener({ path: "/lime", backlog: 1 });
  try {
    assert.equal(
      await fetch(`http://${listener.address}/other`).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }),
      404,
    );
    const first = new WebSocketTransport();
    await first.open(listener.url!);
    const second = new WebSocketTransport();
    await assert.rejects(second.open(listener.url!), isCode("io"));
    assert.equal((await second.closed).by, "error");
    await first.close();
  } finally {
    await listener.close({ closeTransports: true });
  }
});

Deno.test("WebSocketTransport delivers a message of two envelopes and whitespace as two envelopes", async () => {
  const listener = await startListener();
  const raw = rawClient(listener.url!, "lime");
  try {
    const server = await accept(listener);
    await raw.opened;
    const received = take(server, 3);
    raw.socket.send(`${text("a")}\n${text("b")}\r\n \t`);
    raw.socket.send(new TextEncoder().encode(` ${text("c")}`)); // binary, leading space
    assert.deepEqual((await received).map((e) => e.id), ["a", "b", "c"]);
    assert.ok(server.isConnected);
  } finally {
    raw.socket.close();
    await raw.closed;
    await listener.close({ closeTransports: true });
  }
});

for (
  const [what, payload, message, code] of [
    ["text between envelopes", `${text("a")} hello`, /Unexpected byte 0x68/, 4000],
    ["an envelope split across messages", text("a").slice(0, 10), /ends inside an envelope/, 4000],
    [
      "nesting deeper than maxDepth",
      `{"a":${"[".repeat(70)}${"]".repeat(70)}}`,
      /deeper than 64/,
      4000,
    ],
    // Refused on the frame header: 1009 (message too big).
    ["a message over maxEnvelopeSize", text("x".repeat(2000)), /over the maximum envelope/, 1009],
  ] as const
) {
  Deno.test(`WebSocketTransport closes with a framing error on ${what}`, async () => {
    const listener = await startListener({ maxEnvelopeSize: 1024 });
    const raw = rawClient(listener.url!, "lime");
    try {
      const server = await accept(listener);
      await raw.opened;
      raw.socket.send(payload);
      const info = await server.closed;
      assert.equal(info.by, "error");
      assert.equal(info.error?.code, "framing");
      assert.match(info.error!.message, message);
      const event = await raw.closed;
      assert.equal(event.code, code);
      assert.equal(server.isConnected, false);
    } finally {
      await listener.close({ closeTransports: true });
    }
  });
}

Deno.test("WebSocketTransport: an oversize envelope closes the receiver with framing and the sender sees why", async () => {
  const pair = await connect({ maxEnvelopeSize: 1024 });
  try {
    await pair.client.send(new Message("text/plain", "z".repeat(4096)));
    const atServer = await pair.server.closed;
    assert.equal(atServer.error?.code, "framing");
    const atClient = await pair.client.closed;
    assert.equal(atClient.by, "error");
    assert.equal(atClient.error?.code, "io");
    assert.match(
      atClient.error!.message,
      /code 1009: The incoming WebSocket message is .*4\d{3} bytes/,
    );
  } finally {
    await pair.dispose();
  }
});

Deno.test("WebSocketTransport closes with invalid-envelope on valid JSON that is not LIME", async () => {
  const listener = await startListener();
  const raw = rawClient(listener.url!, "lime");
  try {
    const server = await accept(listener);
    await raw.opened;
    raw.socket.send(`{"type":"text/plain","content":{"not":"a string"}}`);
    const info = await server.closed;
    assert.equal(info.error?.code, "invalid-envelope");
    assert.equal((await raw.closed).code, 4000);
  } finally {
    await listener.close({ closeTransports: true });
  }
});

Deno.test("WebSocketTransport.open fails with io when nothing listens, and refuses other schemes", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  await assert.rejects(new WebSocketTransport().open(`ws://127.0.0.1:${port}`), isCode("io"));
  await assert.rejects(new WebSocketTransport().open("http://127.0.0.1:1"), isCode("unsupported"));
  await assert.rejects(new WebSocketTransport().open(), isCode("io"));
});

Deno.test("WebSocketTransport.open honours its signal while the handshake hangs", async () => {
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = tcp.accept(); // accepts, never answers the upgrade
  try {
    const client = new WebSocketTransport();
    const controller = new AbortController();
    const opening = client.open(`ws://127.0.0.1:${tcp.addr.port}`, { signal: controller.signal });
    const conn = await accepted;
    controller.abort();
    await assert.rejects(opening, isCode("aborted"));
    assert.equal((await client.closed).error?.code, "aborted");
    conn.close();
  } finally {
    tcp.close();
  }
});

Deno.test("WebSocketTransport send waits until bufferedAmount is under the high-water mark", async () => {
  const pair = await connect({}, { highWaterMark: 0 });
  try {
    const received = take(pair.server, 1);
    await pair.client.send(new Message("text/plain", "m".repeat(4 * 1024 * 1024)));
    assert.equal(pair.client.socket!.bufferedAmount, 0);
    assert.equal(((await received)[0] as Message<string>).content.length, 4 * 1024 * 1024);
  } finally {
    await pair.dispose();
  }
});

Deno.test("WebSocketTransport.fromSocket waits for a connecting socket before sending", async () => {
  const listener = await startListener();
  try {
    const socket = new WebSocket(listener.url!, "lime");
    assert.equal(socket.readyState, WebSocket.CONNECTING);
    const client = WebSocketTransport.fromSocket(socket);
    assert.ok(client.isConnected);
    const sent = client.send(new Message("text/plain", "early", { id: "early" }));
    const server = await accept(listener);
    await sent;
    assert.equal((await take(server, 1))[0].id, "early");
    await client.close();
    assert.equal((await server.closed).by, "remote");
  } finally {
    await listener.close({ closeTransports: true });
  }
});

Deno.test("WebSocketTransportListener.close closes its transports, or leaves taken ones open", async () => {
  for (const closeTransports of [true, false]) {
    const { listener, client, server } = await connect();
    const iterator = listener[Symbol.asyncIterator]();
    const ended = iterator.next();
    await listener.close({ closeTransports });
    assert.equal((await ended).done, true);
    if (!closeTransports) {
      // Like the TCP listener: the listener stops accepting, the session goes on.
      const received = take(client, 1);
      await server.send(new Message("text/plain", "still here", { id: "after" }));
      assert.equal((await received)[0].id, "after");
      await server.close();
    }
    assert.equal((await client.closed).by, "remote");
    assert.equal((await server.closed).by, "local");
    assert.equal(listener.transports.size, 0);
  }
});

Deno.test("WebSocketTransport.ts uses no Deno API (it must run in browsers)", async () => {
  for (const file of ["websocket.ts", "websocket_message.ts"]) {
    const source = await Deno.readTextFile(new URL(`../src/transport/${file}`, import.meta.url));
    assert.ok(source.length > 1000);
    assert.equal(/\bDeno\./.test(source), false, `${file} mentions Deno.`);
  }
});

Deno.test("WebSocketTransportListener.listen refuses a taken port and a closed listener", async () => {
  const first = await startListener();
  try {
    const port = Number(first.address!.split(":")[1]);
    const second = new WebSocketTransportListener({ hostname: "127.0.0.1", port });
    await assert.rejects(second.listen(), isCode("io"));
    await second.close();
    await assert.rejects(second.listen(), isCode("closed"));
    await assert.rejects(first.listen(), isCode("io"));
  } finally {
    await first.close();
  }
});
