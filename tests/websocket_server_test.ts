/**
 * The standalone listener's own WebSocket server, spoken to by a client written by hand: the
 * upgrade's limits, the frame rules and their close codes, the close handshake bounded in time,
 * the 1009 on an oversize header, and real receive backpressure.
 */
import assert from "node:assert/strict";
import { Message } from "../src/envelope.ts";
import { serializeEnvelope } from "../src/codec.ts";
import {
  type AcceptedWebSocket,
  type WebSocketListenerOptions,
  WebSocketTransportListener,
} from "../src/transport/websocket_server.ts";
import { Keepalive } from "../src/transport/websocket_keepalive.ts";
import { clientFrame, RawWebSocket, upgradeRequest } from "./websocket_raw_client.ts";

const MiB = 1024 * 1024;
const text = (id: string) => serializeEnvelope(new Message("text/plain", `hi ${id}`, { id }));

/** A listener, a raw client upgraded on it, and the server side of that connection. */
async function rawPair(options: WebSocketListenerOptions = {}, hostile = false) {
  const listener = new WebSocketTransportListener({ port: 0, ...options });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = await RawWebSocket.open(listener.address!, hostile);
  const server = (await accepted).value as AcceptedWebSocket;
  return {
    listener,
    client,
    server,
    async [Symbol.asyncDispose]() {
      await client.close();
      await listener.close({ closeTransports: true });
    },
  };
}

Deno.test("WebSocketServerTransport answers a ping with a pong of the same payload", async () => {
  await using pair = await rawPair();
  await pair.client.write(clientFrame(9, "are you there"));
  const pong = await pair.client.next();
  assert.notEqual(pong, "closed");
  assert.equal((pong as { opcode: number }).opcode, 10);
  assert.equal(
    new TextDecoder().decode((pong as { payload: Uint8Array }).payload),
    "are you there",
  );
});

Deno.test("WebSocketServerTransport does not pile up pongs for a peer that pings without reading", async () => {
  await using pair = await rawPair({ maxQueuedBytes: 256 * 1024 });
  pair.client.socket.pause(); // never reads the pongs
  const ping = clientFrame(9, "p".repeat(125));
  const burst = new Uint8Array(ping.length * 50_000); // 6.5 MiB of pings, as many pongs
  for (let i = 0; i < 50_000; i++) burst.set(ping, i * ping.length);
  await pair.client.write(burst);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const held = (pair.server as unknown as { queuedBytes: number }).queuedBytes;
  assert.ok(held <= 64 * 1024 + 256, `the server holds ${held} bytes of pongs`);
  assert.ok(pair.server.isConnected);
});

Deno.test("WebSocketServerTransport echoes a client's close, hangs up, and reports a remote close", async () => {
  await using pair = await rawPair();
  await pair.client.write(clientFrame(8, new Uint8Array([0x03, 0xe8])));
  assert.deepEqual(await pair.client.nextClose(), { code: 1000, reason: "" });
  assert.equal(await pair.client.next(), "closed"); // the server closed the TCP connection
  assert.equal((await pair.server.closed).by, "remote");
});

Deno.test("WebSocketServerTransport reports a peer close with another code as an io error, echoed", async () => {
  await using pair = await rawPair();
  const reason = new TextEncoder().encode("app says no");
  await pair.client.write(clientFrame(8, new Uint8Array([0x0f, 0xa1, ...reason])));
  assert.equal((await pair.client.nextClose()).code, 4001);
  const info = await pair.server.closed;
  assert.equal(info.by, "error");
  assert.equal(info.error?.code, "io");
  assert.match(info.error!.message, /closed with code 4001: app says no/);
});

Deno.test("WebSocketServerTransport reports a connection dropped without a close frame as 1006", async () => {
  await using pair = await rawPair();
  pair.client.socket.destroy();
  const info = await pair.server.closed;
  assert.equal(info.error?.code, "io");
  assert.match(info.error!.message, /code 1006/);
});

Deno.test("WebSocketServerTransport pings a quiet peer and drops one that never answers", async () => {
  await using pair = await rawPair({ idleTimeout: 0.1 });
  const started = performance.now();
  const ping = await pair.client.next();
  assert.equal((ping as { opcode: number }).opcode, 9);
  const info = await pair.server.closed; // the raw client never answers pings
  const elapsed = performance.now() - started;
  assert.match(info.error!.message, /No answer to a WebSocket ping within 0.1 s/);
  assert.ok(elapsed < 1500, `dropped after ${elapsed} ms`);
});

Deno.test("WebSocketServerTransport reads frames sent in the same packet as the upgrade request", async () => {
  const listener = new WebSocketTransportListener({ port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = await RawWebSocket.connect(listener.address!);
  try {
    const request = new TextEncoder().encode(upgradeRequest(listener.address!));
    await client.write(new Uint8Array([...request, ...clientFrame(1, text("early"))]));
    const server = (await accepted).value as AcceptedWebSocket;
    for await (const envelope of server) {
      assert.equal(envelope.id, "early");
      break;
    }
  } finally {
    await client.close();
    await listener.close({ closeTransports: true });
  }
});

Deno.test("WebSocketServerTransport reads a fragmented message and a pipelined one", async () => {
  await using pair = await rawPair();
  const received: string[] = [];
  pair.server.onEnvelope((envelope) => received.push(envelope.id!));
  const a = text("a");
  await pair.client.write(
    new Uint8Array([
      ...clientFrame(1, a.slice(0, 5), { fin: false }),
      ...clientFrame(9, ""),
      ...clientFrame(0, a.slice(5)),
      ...clientFrame(2, text("b")),
    ]),
  );
  while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(received, ["a", "b"]);
});

for (
  const [what, frame, code, message] of [
    [
      "invalid UTF-8 in a text message",
      clientFrame(1, new Uint8Array([0x7b, 0xff, 0x7d])),
      1007,
      /not UTF-8/,
    ],
    ["an unmasked frame", clientFrame(1, "{}", { mask: null }), 1002, /must be masked/],
    [
      "a control frame over 125 bytes",
      clientFrame(9, "p".repeat(200)),
      1002,
      /Control frame of 200/,
    ],
  ] as const
) {
  Deno.test(`WebSocketServerTransport closes with ${code} on ${what}`, async () => {
    await using pair = await rawPair();
    await pair.client.write(frame);
    const close = await pair.client.nextClose();
    assert.equal(close.code, code);
    assert.match(close.reason, message);
    const info = await pair.server.closed;
    assert.equal(info.error?.code, "framing");
    assert.match(info.error!.message, message);
  });
}

Deno.test("WebSocketServerTransport refuses a frame announcing 60 MiB on its header: 1009 and TCP closed within 1 s", async () => {
  await using pair = await rawPair({ maxEnvelopeSize: 64 * 1024 });
  const started = performance.now();
  // The header only; the client never sends the payload and never answers the close.
  await pair.client.write(clientFrame(1, "", { length: 60 * MiB }).subarray(0, 14));
  const close = await pair.client.nextClose();
  assert.equal(close.code, 1009);
  assert.match(close.reason, /62914560 bytes, over the maximum envelope size of 65536/);
  const closedAt = await pair.client.closedAt;
  console.log(
    `1009 header only: TCP closed by the server after ${(closedAt - started).toFixed(0)} ms`,
  );
  assert.ok(closedAt - started < 1200, `closed after ${closedAt - started} ms`);
  const info = await pair.server.closed;
  assert.equal(info.error?.code, "framing");
});

Deno.test("WebSocketServerTransport reads almost nothing of a 60 MiB frame a peer sends anyway after its 1009", async () => {
  // A peer that ignores the close frame and the FIN, and goes on sending.
  await using pair = await rawPair({ maxEnvelopeSize: 64 * 1024 }, true);
  const started = performance.now();
  const chunk = new Uint8Array(MiB).fill(0x20);
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
  let sent = 0;
  try {
    await pair.client.write(clientFrame(1, "", { length: 60 * MiB }).subarray(0, 14));
    for (; sent < 60 * MiB; sent += chunk.length) {
      if (!(await pair.client.write(chunk))) break;
    }
    // The server's transport resolves `closed` once its socket is closed.
    assert.equal((await pair.server.closed).error?.code, "framing");
  } finally {
    clearInterval(sampler);
  }
  const grown = (peak - before) / MiB;
  const elapsed = performance.now() - started;
  console.log(
    `1009 then 60 MiB sent anyway: ${sent / MiB} MiB written, RSS +${grown.toFixed(1)} MiB, ` +
      `socket destroyed after ${elapsed.toFixed(0)} ms`,
  );
  assert.ok(elapsed < 1500, `destroyed after ${elapsed} ms`);
  assert.ok(grown < 8, `RSS grew by ${grown.toFixed(1)} MiB`);
});

Deno.test("WebSocketServerTransport destroys the socket of a peer that does not answer its close within closeTimeout", async () => {
  await using pair = await rawPair({ closeTimeout: 200 });
  const started = performance.now();
  await pair.server.close(); // the client never answers
  const elapsed = performance.now() - started;
  assert.deepEqual(await pair.client.nextClose(), { code: 1000, reason: "" });
  assert.equal(await pair.client.next(), "closed");
  assert.ok(elapsed >= 190 && elapsed < 1500, `closed after ${elapsed} ms`);
});

Deno.test("WebSocketServerTransport stops reading while its receive queue is full", async () => {
  await using pair = await rawPair({ receiveBufferSize: 4 });
  // Nobody takes the envelopes: after the queue fills, the server stops reading the socket,
  // and what the client writes stays in the kernel's buffers and then in the client's.
  const frame = clientFrame(1, text("x".repeat(1000)));
  const burst = new Uint8Array(frame.length * 20_000); // 20,000 envelopes, ~21 MiB
  for (let i = 0; i < 20_000; i++) burst.set(frame, i * frame.length);
  const writing = pair.client.write(burst);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(pair.client.socket.writableLength > 0, "the server read everything");
  let count = 0;
  for await (const _ of pair.server) {
    if (++count === 20_000) break;
  }
  assert.equal(await writing, true);
});

Deno.test("WebSocketTransportListener refuses a request head over 8 KiB with 431", async () => {
  const listener = new WebSocketTransportListener({ port: 0 });
  await listener.listen();
  try {
    const client = await RawWebSocket.connect(
      listener.address!,
      upgradeRequest(listener.address!, `X-Padding: ${"p".repeat(9000)}\r\n`),
    );
    await client.closedAt;
    assert.match(client.response, /^HTTP\/1\.1 431 [^]*over 8192 bytes/);
  } finally {
    await listener.close();
  }
});

Deno.test("WebSocketTransportListener drops a client that sends its head too slowly (slowloris)", async () => {
  const listener = new WebSocketTransportListener({ port: 0, handshakeTimeout: 300 });
  await listener.listen();
  try {
    const started = performance.now();
    const client = await RawWebSocket.connect(listener.address!);
    const request = upgradeRequest(listener.address!);
    let written = 0;
    const dribble = setInterval(() => void client.write(request[written++]), 50);
    const closedAt = await client.closedAt;
    clearInterval(dribble);
    assert.ok(closedAt - started < 1500, `dropped after ${closedAt - started} ms`);
    assert.equal(client.response, "");
    assert.equal(listener.transports.size, 0);
  } finally {
    await listener.close();
  }
});

Deno.test("WebSocketTransportListener refuses a handshake without a proper key or version with 400", async () => {
  const listener = new WebSocketTransportListener({ port: 0 });
  await listener.listen();
  try {
    for (
      const [find, replace, reason] of [
        ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", /Version must be 13/],
        ["dGhlIHNhbXBsZSBub25jZQ==", "short", /Key must be 16 bytes/],
        ["Connection: Upgrade", "Connection: keep-alive", /Connection header/],
        ["GET", "POST", /method must be GET/],
      ] as const
    ) {
      const request = upgradeRequest(listener.address!).replace(find, replace);
      const client = await RawWebSocket.connect(listener.address!, request);
      await client.untilResponse();
      await client.closedAt;
      assert.match(client.response, /^HTTP\/1\.1 400 /);
      assert.match(client.response, reason);
    }
  } finally {
    await listener.close();
  }
});

/**
 * A listener, a raw client that sends its upgrade request and a close frame (code 1000) in one
 * write, and the server side of that connection, as accepted (reading not started yet).
 */
async function closedWithUpgrade(options: WebSocketListenerOptions) {
  const listener = new WebSocketTransportListener({ port: 0, ...options });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const request = new TextEncoder().encode(upgradeRequest(listener.address!));
  const client = await RawWebSocket.connect(listener.address!);
  await client.write(new Uint8Array([...request, ...clientFrame(8, new Uint8Array([3, 0xe8]))]));
  return {
    server: (await accepted).value as AcceptedWebSocket,
    async [Symbol.asyncDispose]() {
      await client.close();
      await listener.close({ closeTransports: true });
    },
  };
}

Deno.test("WebSocketServerTransport ended by a close frame sent with the upgrade keeps no keepalive", async () => {
  await using pair = await closedWithUpgrade({ idleTimeout: 60 });
  assert.equal((await pair.server.closed).error, undefined);
  // Reading started with the close: nothing is left to keep alive (a keepalive's timer would
  // hold the process for two periods, and the transport with it).
  assert.equal(Keepalive.watched, 0);
  assert.equal(Keepalive.timers, 0);
});

Deno.test("WebSocketServerTransport closed before reading starts still reads the peer's close that came with the upgrade", async () => {
  await using pair = await closedWithUpgrade({ closeTimeout: 5_000 });
  const started = performance.now();
  await pair.server.close(); // at once: reading starts on the next macrotask
  const elapsed = performance.now() - started;
  // The close frame was there already: no wait for one (the close timeout is 5 s).
  assert.ok(elapsed < 1_000, `close() took ${elapsed.toFixed(0)} ms`);
});
