/**
 * Loopback throughput of the transports, one connection, ~1 KiB message envelopes, each as a
 * ratio to a raw socket of the same kind moving the same bytes in the same run:
 *
 * - TCP, TCP+TLS, TCP+gzip (LIME transport) vs raw `node:net` / `node:tls` sockets writing the
 *   same serialized envelopes (the physical limit of that socket stack);
 * - WebSocket (LIME transport) vs raw `WebSocket` text messages of the same envelopes;
 * - gzip: compression ratio of the same chat-like stream with a sync flush per envelope (the wire
 *   format), and its throughput cost against plain TCP.
 *
 * `deno run -A bench/transport_throughput.ts [--envelopes=20000] [--rounds=5]`
 *
 * Each round runs the raw baseline and the transport back to back (alternating which goes
 * first); the ratio is the median of the per-round ratios. Exit code 0: this is a report.
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";
import { Message } from "../src/envelope.ts";
import { serializeEnvelope } from "../src/codec.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { WebSocketTransportListener } from "../src/transport/websocket_server.ts";
import type { Transport } from "../src/transport/transport.ts";
import { tlsFixture } from "../tests/tls_fixture.ts";

function option(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
}
const COUNT = option("envelopes", 20_000);
const ROUNDS = option("rounds", 5);

// A chat-like ~1 KiB message: Portuguese and English text, realistic ids and nodes.
const words = ("olá tudo bem como posso ajudar hoje seu pedido foi enviado ontem e deve chegar " +
  "amanhã hello thanks for your message we will get back to you shortly order tracking number")
  .split(" ");
function chatText(i: number): string {
  let text = "";
  for (let j = 0; text.length < 900; j++) text += words[(i * 7 + j * 13) % words.length] + " ";
  return text;
}
const envelopes = Array.from({ length: COUNT }, (_, i) =>
  new Message("text/plain", chatText(i), {
    id: crypto.randomUUID(),
    from: `bot${i % 10}@msging.net/instance-${i % 3}`,
    to: `user${i % 100}@0mn.io`,
  }));
const texts = envelopes.map(serializeEnvelope);
const bytes = texts.map((t) => new TextEncoder().encode(t));
const totalBytes = bytes.reduce((n, b) => n + b.length, 0);

/** Sends every envelope from client to server; resolves with ms from first send to last receive. */
async function runTransport(client: Transport, server: Transport): Promise<number> {
  let received = 0;
  const done = new Promise<void>((resolve) => {
    server.onEnvelope(() => {
      if (++received === COUNT) resolve();
    });
  });
  const start = performance.now();
  const sends = envelopes.map((e) => client.send(e));
  await Promise.all(sends);
  await done;
  return performance.now() - start;
}

/** Writes the same bytes through a raw stream socket pair; ms until the server read them all. */
async function runRawStream(connect: () => Promise<[net.Socket, net.Socket]>): Promise<number> {
  const [client, server] = await connect();
  let got = 0;
  const done = new Promise<void>((resolve) => {
    server.on("data", (chunk: Uint8Array) => {
      got += chunk.length;
      if (got >= totalBytes) resolve();
    });
  });
  const start = performance.now();
  for (const b of bytes) {
    if (!client.write(b)) await new Promise((r) => client.once("drain", r));
  }
  await done;
  const ms = performance.now() - start;
  await Promise.all([closeSocket(client), closeSocket(server)]);
  return ms;
}

/**
 * The floor for any JSON envelope protocol on the same socket: `JSON.stringify` + one write per
 * envelope (newline-delimited) on the client, newline split + `JSON.parse` on the server; no
 * validation, no LIME framing.
 */
async function runRawJson(): Promise<number> {
  const [client, server] = await rawTcpPair();
  let got = 0;
  let rest = "";
  const decoder = new TextDecoder();
  const done = new Promise<void>((resolve) => {
    server.on("data", (chunk: Uint8Array) => {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        JSON.parse(line);
        if (++got === COUNT) resolve();
      }
    });
  });
  const start = performance.now();
  for (const e of envelopes) {
    if (!client.write(JSON.stringify(e) + "\n")) await new Promise((r) => client.once("drain", r));
  }
  await done;
  const ms = performance.now() - start;
  await Promise.all([closeSocket(client), closeSocket(server)]);
  return ms;
}

function closeSocket(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once("close", () => resolve());
    socket.destroy();
  });
}

async function rawTcpPair(
  secure?: { cert: string; key: string; ca: string },
): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const client = net.connect(port, "127.0.0.1");
  await new Promise((r) => client.once("connect", r));
  const raw = await accepted;
  server.close(); // stops listening; its callback would wait for the open connections
  if (!secure) return [client, raw];
  const serverTls = new tls.TLSSocket(raw, { isServer: true, cert: secure.cert, key: secure.key });
  const clientTls = tls.connect({ socket: client, servername: "localhost", ca: secure.ca });
  await new Promise((r) => clientTls.once("secureConnect", r));
  return [clientTls, serverTls];
}

async function tcpTransportPair(
  mode: { tls?: { cert: string; key: string; ca: string }; gzip?: boolean },
): Promise<[Transport, Transport, () => Promise<void>]> {
  const listener = new TcpTransportListener({
    hostname: "127.0.0.1",
    port: 0,
    tls: mode.tls ? { cert: mode.tls.cert, key: mode.tls.key } : undefined,
  });
  await listener.listen();
  const client = new TcpTransport({
    tls: mode.tls ? { caCerts: [mode.tls.ca], serverName: "localhost" } : undefined,
  });
  const accepted = listener[Symbol.asyncIterator]().next();
  await client.open(`net.tcp://${listener.address}`);
  const server = (await accepted).value as Transport;
  // Switch both sides as after a negotiation confirmation: TLS on the connection, gzip inside it.
  if (mode.tls) await Promise.all([client.setEncryption("tls"), server.setEncryption("tls")]);
  if (mode.gzip) await Promise.all([client.setCompression("gzip"), server.setCompression("gzip")]);
  return [client, server, () => listener.close({ closeTransports: true })];
}

async function rawWebSocketRun(): Promise<number> {
  let got = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => resolveDone = r);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "lime" });
    socket.onmessage = () => {
      if (++got === COUNT) resolveDone();
    };
    return response;
  });
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}`, "lime");
  await new Promise((r) => ws.onopen = r);
  const start = performance.now();
  for (const t of texts) ws.send(t);
  await done;
  const ms = performance.now() - start;
  const closed = new Promise((r) => ws.onclose = r);
  ws.close();
  await closed;
  await server.shutdown();
  return ms;
}

async function webSocketTransportRun(): Promise<number> {
  const listener = new WebSocketTransportListener({ hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = new WebSocketTransport();
  await client.open(listener.url!);
  const server = (await accepted).value as Transport;
  const ms = await runTransport(client, server);
  await client.close();
  await listener.close({ closeTransports: true });
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Case {
  name: string;
  raw: string;
  runRaw: () => Promise<number>;
  runLime: () => Promise<number>;
  target?: number;
}

const fixture = await tlsFixture();
const secure = { cert: fixture.server.cert, key: fixture.server.key, ca: fixture.ca };

async function limeTcp(mode: { tls?: typeof secure; gzip?: boolean }): Promise<number> {
  const [client, server, dispose] = await tcpTransportPair(mode);
  try {
    return await runTransport(client, server);
  } finally {
    await client.close();
    await dispose();
  }
}

const cases: Case[] = [
  {
    name: "TCP",
    raw: "node:net + JSON.stringify/JSON.parse per envelope",
    runRaw: runRawJson,
    runLime: () => limeTcp({}),
  },
  {
    name: "TCP",
    raw: "node:net socket",
    runRaw: () => runRawStream(() => rawTcpPair()),
    runLime: () => limeTcp({}),
    target: 0.5,
  },
  {
    name: "TCP+TLS",
    raw: "node:tls socket",
    runRaw: () => runRawStream(() => rawTcpPair(secure)),
    runLime: () => limeTcp({ tls: secure }),
  },
  {
    name: "TCP+gzip",
    raw: "node:net socket (uncompressed)",
    runRaw: () => runRawStream(() => rawTcpPair()),
    runLime: () => limeTcp({ gzip: true }),
  },
  {
    name: "TCP+TLS+gzip",
    raw: "node:tls socket (uncompressed)",
    runRaw: () => runRawStream(() => rawTcpPair(secure)),
    runLime: () => limeTcp({ tls: secure, gzip: true }),
  },
  {
    name: "WebSocket",
    raw: "WebSocket text messages",
    runRaw: rawWebSocketRun,
    runLime: webSocketTransportRun,
  },
];

console.log(
  `${COUNT} message envelopes of ${Math.round(totalBytes / COUNT)} B (${
    (totalBytes / 1e6).toFixed(1)
  } MB) per run, ` +
    `client → server over 127.0.0.1, ${ROUNDS} rounds; Deno ${Deno.version.deno}.`,
);
const rows: string[] = [];
for (const c of cases) {
  // Warm-up of both paths.
  await c.runRaw();
  await c.runLime();
  const ratios: number[] = [];
  const raws: number[] = [];
  const limes: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [c.runLime, c.runRaw] : [c.runRaw, c.runLime];
    const [first, second] = [await order[0](), await order[1]()];
    const [raw, lime] = r % 2 ? [second, first] : [first, second];
    raws.push(raw);
    limes.push(lime);
    ratios.push(raw / lime);
  }
  const mb = totalBytes / 1e6;
  const rawRate = mb / (median(raws) / 1000);
  const limeRate = mb / (median(limes) / 1000);
  const ratio = median(ratios);
  console.error(`  ${c.name}: ratios ${ratios.map((x) => x.toFixed(2)).join(", ")}`);
  rows.push(
    `| ${c.name} | ${c.raw} | ${rawRate.toFixed(0)} | ${limeRate.toFixed(0)} | ${
      Math.round((COUNT / median(limes)) * 1000).toLocaleString("en-US")
    } | ` +
      `${ratio.toFixed(2)}× | ${
        c.target ? `≥ ${c.target}× ${ratio >= c.target ? "(met)" : "(**not met**)"}` : "–"
      } |`,
  );
}

// gzip on the wire: the same stream, one sync flush per envelope, as the transport writes it.
const gzip = zlib.createGzip();
let compressed = 0;
gzip.on("data", (chunk: Uint8Array) => compressed += chunk.length);
for (const b of bytes) {
  gzip.write(b);
  await new Promise<void>((r) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
}
await new Promise<void>((r) => gzip.end(() => r()));

console.log();
console.log(
  "| transport | raw baseline | raw MB/s | LIME MB/s | LIME envelopes/s | ratio to raw | target |",
);
console.log("|---|---|--:|--:|--:|--:|---|");
for (const row of rows) console.log(row);
console.log();
console.log(
  `gzip wire size with a sync flush per envelope: ${compressed.toLocaleString("en-US")} of ${
    totalBytes.toLocaleString("en-US")
  } bytes ` +
    `(${(compressed / totalBytes * 100).toFixed(1)}%, ratio ${
      (totalBytes / compressed).toFixed(2)
    }:1).`,
);
