/**
 * `maxQueuedBytes`: a peer that does not read cannot make this side hold more than the cap. Over
 * TCP, TCP+TLS, TCP+gzip and WebSocket, a server-side transport sends to a peer that stopped
 * reading until the cap closes the transport with `slow-reader`; every waiting send rejects with
 * that error, and what was held stayed within the cap. A peer that reads is never cut off.
 */
import assert from "node:assert/strict";
import { Message } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { DEFAULT_MAX_QUEUED_BYTES, type Transport } from "../src/transport/transport.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { WebSocketTransportListener } from "../src/transport/websocket_server.ts";
import { connectPair, negotiate, readUntil, within, writeAll } from "./tcp_helpers.ts";
import { mulberry32 } from "./prng.ts";
import { tlsFixture } from "./tls_fixture.ts";

const CAP = 1024 * 1024;
// Random text, a different slice of 1 MiB for each envelope: gzip cannot shrink it much (nor
// refer back to an earlier envelope), so the compressed stream is about as large as the traffic.
const random = mulberry32(7);
const NOISE = btoa(
  Array.from({ length: 1 << 20 }, () => String.fromCharCode(random() * 256)).join(""),
);
const envelope = (i: number) =>
  new Message("text/plain", NOISE.substr((i * 4001) % (NOISE.length - 4000), 4000), {
    to: "slow@localhost/r",
  });
const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

interface Flood {
  /** Bytes of envelopes handed to `send` before the first rejection. */
  accepted: number;
  /** The largest `queuedBytes` seen before a send. */
  peak: number;
  /** What every send that did not resolve rejected with. */
  rejections: unknown[];
  resolved: number;
}

/**
 * Sends envelopes without waiting for them (as a server routing to a session does), letting the
 * event loop run every 64, until a send rejects or `limit` bytes were sent.
 */
async function flood(transport: Transport, limit = 256 * 1024 * 1024): Promise<Flood> {
  const size = 4096;
  const outcomes: Promise<unknown>[] = [];
  let rejected = false;
  let accepted = 0;
  let peak = 0;
  let resolved = 0;
  for (let sent = 0; sent < limit && !rejected; sent += size) {
    peak = Math.max(peak, transport.queuedBytes ?? 0);
    outcomes.push(
      transport.send(envelope(outcomes.length)).then(() => resolved++, (error) => {
        rejected = true;
        return error;
      }),
    );
    if (!rejected) accepted += size;
    if (outcomes.length % 64 === 0) await macrotask();
  }
  const settled = await within(Promise.all(outcomes), 10000, "the sends settling");
  return { accepted, peak, resolved, rejections: settled.filter((x) => x instanceof Error) };
}

/** Asserts the flood ended in `slow-reader` with everything held within the cap. */
async function assertSlowReader(transport: Transport, result: Flood): Promise<void> {
  const info = await within(transport.closed, 10000, "the transport closing");
  assert.equal(info.by, "error");
  assert.equal(info.error?.code, "slow-reader", info.error?.message ?? "");
  assert.match(info.error!.message, /maxQueuedBytes \(1048576\)/);
  assert.ok(result.rejections.length > 0, "no send was rejected");
  for (const rejection of result.rejections) assert.equal(rejection, info.error);
  assert.ok(result.peak <= CAP + 8192, `held ${result.peak} bytes, over the cap`);
  // What the peer's kernel and ours buffer is outside the count: allow generously for it.
  assert.ok(result.accepted < CAP + 32 * 1024 * 1024, `accepted ${result.accepted} bytes`);
  // Once closed, a send is refused as on any closed transport.
  await assert.rejects(transport.send(envelope(0)), (error: TransportError) => {
    return error.code === "closed";
  });
}

type Modes = "tcp" | "tls" | "gzip" | "tls+gzip";

/**
 * A server-side transport whose peer switched to `modes` and then reads nothing more. The peer
 * is a raw Deno connection (with `Deno.startTls` for TLS): Deno's `node:tls` client sockets keep
 * reading while paused, so a transport client would not stall.
 */
async function stalledServer(modes: Modes) {
  const fixture = modes.startsWith("tls") ? await tlsFixture() : undefined;
  const listener = new TcpTransportListener({
    port: 0,
    maxQueuedBytes: CAP,
    ...(fixture ? { tls: { cert: fixture.server.cert, key: fixture.server.key } } : {}),
  });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const [hostname, port] = listener.address!.split(":");
  const tcp = await Deno.connect({ hostname, port: Number(port) });
  let conn: Deno.Conn = tcp;
  const server = (await within(accepted)).value as TcpTransport;
  if (fixture) {
    const switched = server.setEncryption("tls");
    conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [fixture.ca] });
    await (conn as Deno.TlsConn).handshake();
    await within(switched);
  }
  if (modes.endsWith("gzip")) await within(server.setCompression("gzip"));
  return {
    server,
    async [Symbol.asyncDispose]() {
      conn.close();
      await listener.close({ closeTransports: true });
    },
  };
}

for (const modes of ["tcp", "tls", "gzip", "tls+gzip"] as const) {
  Deno.test(`TcpTransport (${modes}) fails with slow-reader when the peer stops reading`, async () => {
    await using stalled = await stalledServer(modes);
    const result = await flood(stalled.server);
    await assertSlowReader(stalled.server, result);
  });
}

Deno.test("TcpTransport maxQueuedBytes never cuts off a peer that reads, when sends are awaited", async () => {
  await using pair = await connectPair({ maxQueuedBytes: 256 * 1024 }, {});
  await negotiate(pair, { compression: "gzip" });
  const count = 3000; // 12 MB, 48 times the cap
  const received = (async () => {
    let n = 0;
    for await (const _ of pair.client) if (++n === count) break;
    return n;
  })();
  for (let i = 0; i < count; i++) await pair.server.send(envelope(i));
  assert.equal(await within(received, 20000), count);
  assert.equal(pair.server.isConnected, true);
});

Deno.test("TcpTransport queuedBytes counts what the socket holds for a peer that does not read", async () => {
  const listener = new TcpTransportListener({ port: 0, maxQueuedBytes: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const [hostname, port] = listener.address!.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const server = (await within(accepted)).value as TcpTransport;
  assert.equal(server.maxQueuedBytes, 0);
  // 48 MiB cannot all fit in the kernel's buffers: the rest is held (no cap: nothing fails).
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 12 * 1024; i++) sends.push(server.send(envelope(i)));
  await macrotask();
  assert.ok(server.queuedBytes > 8 * 1024 * 1024, `queuedBytes ${server.queuedBytes}`);
  assert.equal(server.isConnected, true);
  await server.close();
  await Promise.allSettled(sends);
  conn.close();
  await listener.close();
});

Deno.test("maxQueuedBytes defaults: 8 MiB on accepted transports, none on clients", async () => {
  assert.equal(new TcpTransport().maxQueuedBytes, 0);
  assert.equal(new WebSocketTransport().maxQueuedBytes, 0);
  await using pair = await connectPair();
  assert.equal(pair.server.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES);
  assert.equal(DEFAULT_MAX_QUEUED_BYTES, 8 * 1024 * 1024);
});

// ------------------------------------------------------------------ WebSocket

/** A WebSocket client by hand that completes the upgrade, then never reads again. */
async function silentWebSocket(address: string): Promise<Deno.Conn> {
  const [hostname, port] = address.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await writeAll(
    conn,
    new TextEncoder().encode(
      `GET / HTTP/1.1\r\nHost: ${address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: lime\r\n\r\n`,
    ),
  );
  const response = await readUntil(conn, (text) => text.includes("\r\n\r\n"));
  assert.match(response, /^HTTP\/1.1 101/);
  return conn;
}

Deno.test("WebSocketTransport fails with slow-reader when the peer stops reading", async () => {
  const listener = new WebSocketTransportListener({ port: 0, maxQueuedBytes: CAP });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const conn = await silentWebSocket(listener.address!);
  const server = (await within(accepted)).value as WebSocketTransport;
  assert.equal(server.maxQueuedBytes, CAP);
  const result = await flood(server);
  conn.close(); // lets the close handshake end at once
  await assertSlowReader(server, result);
  await listener.close({ closeTransports: true });
});

Deno.test("WebSocketTransport server side defaults to an 8 MiB cap", async () => {
  const listener = new WebSocketTransportListener({ port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = new WebSocketTransport();
  await client.open(listener.url!);
  const server = (await within(accepted)).value as WebSocketTransport;
  assert.equal(server.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES);
  assert.ok(server.queuedBytes >= 0);
  await client.close();
  await listener.close({ closeTransports: true });
});

Deno.test("TransportError slow-reader is a TransportError", () => {
  const error = new TransportError("slow-reader", "x");
  assert.equal(error.code, "slow-reader");
});
