/**
 * Loopback throughput of the transports, one connection, ~1 KiB message envelopes, each as a
 * ratio to a raw socket of the same kind moving the same bytes in the same run:
 *
 * - TCP, TCP+TLS, TCP+gzip (LIME transport) vs raw `node:net` / `node:tls` sockets writing the
 *   same serialized envelopes, pre-encoded, one write each (the physical limit of that stack);
 * - TCP ceiling: the same raw socket doing only what any envelope-level transport must do,
 *   `JSON.stringify` and a write per envelope, streaming UTF-8 decoding and `JSON.parse` per
 *   envelope on the receiver (told the lengths: no framing cost), as a ratio to raw bytes; and
 *   the LIME transport as a ratio to that ceiling;
 * - WebSocket (LIME transport) vs raw `WebSocket` text messages of the same envelopes;
 * - gzip: TCP+gzip against plain LIME TCP (target ≥ 0.6×) and against the gzip ceiling, a raw
 *   socket whose bytes go through `node:zlib` gzip and gunzip (64 KiB writes, a sync flush each);
 *   compression ratio of the same stream with a sync flush per envelope and per 16 envelopes, at
 *   the transport's level and at zlib's default.
 *
 * Two modes. **One thread**: both ends on the main thread. **Split** (TCP rows): the receiving
 * end of the raw baseline, the ceiling and the LIME transport runs in a Deno Worker
 * (`transport_receiver.ts`), so sender and receiver use separate cores, like a client and a
 * server in separate processes.
 *
 * `deno run -A bench/transport_throughput.ts [--envelopes=20000] [--rounds=5] [--split | --one-thread]`
 * (both modes unless one is named).
 *
 * Each round runs every path of a group back to back (the order rotates each round); a ratio is
 * the median of the per-round ratios. Exit code 0: this is a report.
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";
import { Message } from "../src/envelope.ts";
import { serializeEnvelope } from "../src/codec.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { GZIP_LEVEL } from "../src/transport/tcp_gzip.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { WebSocketTransportListener } from "../src/transport/websocket_server.ts";
import type { Transport } from "../src/transport/transport.ts";
import { tlsFixture } from "../tests/tls_fixture.ts";
import { closeSocket, socketPair } from "./socket_pair.ts";
import type { ReceiverReply, ReceiverRun } from "./transport_receiver.ts";
import { parseKnownLengths } from "./json_ceiling.ts";
import { numberOption } from "./cli_option.ts";

const option = (name: string, fallback: number) => numberOption(name, fallback);
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
const textLengths = texts.map((t) => t.length);

/**
 * Sends every envelope from client to server; resolves with ms from first send to last receive.
 * The sender streams like the raw baselines: it sends the next envelope at once while the
 * connection takes them, and waits for the send that filled it (`sendsWaiting`, the transport's
 * `write() === false`). With `burst`, every send is made at once instead (`Promise.all` of 20,000:
 * the transport queues all 20 MB).
 */
async function runTransport(client: Transport, server: Transport, burst = false): Promise<number> {
  let received = 0;
  const done = new Promise<void>((resolve) => {
    server.onEnvelope(() => {
      if (++received === COUNT) resolve();
    });
  });
  const start = performance.now();
  await (burst ? Promise.all(envelopes.map((e) => client.send(e))) : stream(client));
  await done;
  return performance.now() - start;
}

/** Sends every envelope, waiting only when the connection is full (see `runTransport`). */
async function stream(client: Transport): Promise<void> {
  let last: Promise<void> = Promise.resolve();
  for (const e of envelopes) {
    last = client.send(e);
    if (client.sendsWaiting) await last;
  }
  await last;
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
 * The ceiling for any envelope-level transport on the same socket: `JSON.stringify` and one write
 * per envelope (as the raw baseline writes), and on the receiving end streaming UTF-8 decoding
 * and one `JSON.parse` per envelope. No delimiter and no framing cost: the receiver is told each
 * envelope's length in advance. No validation, no size or depth limits.
 */
async function runRawJson(): Promise<number> {
  const [client, server] = await rawTcpPair();
  const done = new Promise<void>((resolve) =>
    server.on("data", parseKnownLengths(resolve, textLengths))
  );
  const start = performance.now();
  for (const e of envelopes) {
    if (!client.write(JSON.stringify(e))) await new Promise((r) => client.once("drain", r));
  }
  await done;
  const ms = performance.now() - start;
  await Promise.all([closeSocket(client), closeSocket(server)]);
  return ms;
}

async function rawTcpPair(
  secure?: { cert: string; key: string; ca: string },
): Promise<[net.Socket, net.Socket]> {
  const [client, raw] = await socketPair();
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
  const ms = await runTransport(client, server, true);
  await client.close();
  await listener.close({ closeTransports: true });
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One receiving Worker for the split mode, spawned on first use. */
let receiver: Worker | undefined;
let replies: ((reply: ReceiverReply) => void)[] = [];

function nextReply(): Promise<ReceiverReply> {
  return new Promise((resolve) => replies.push(resolve));
}

/**
 * Split mode: the receiving end runs in a Worker (another thread, so both cores work, as a client
 * and a server in separate processes would); this thread sends. Ms from the first send until the
 * worker reported that it received everything.
 */
async function runSplit(kind: ReceiverRun["kind"] | "lime-burst"): Promise<number> {
  if (!receiver) {
    receiver = new Worker(new URL("./transport_receiver.ts", import.meta.url), { type: "module" });
    receiver.onmessage = (event: MessageEvent<ReceiverReply>) => {
      const waiting = replies;
      replies = [];
      for (const resolve of waiting) resolve(event.data);
    };
  }
  const listening = nextReply();
  receiver.postMessage(
    {
      kind: kind === "lime-burst" ? "lime" : kind,
      count: COUNT,
      totalBytes,
      lengths: textLengths,
    } satisfies ReceiverRun,
  );
  const { port } = await listening as { port: number };
  let done!: Promise<ReceiverReply>;
  let ms: number;
  if (kind === "lime" || kind === "lime-burst") {
    const client = new TcpTransport();
    await client.open(`net.tcp://127.0.0.1:${port}`);
    done = nextReply();
    const start = performance.now();
    await (kind === "lime-burst"
      ? Promise.all(envelopes.map((e) => client.send(e)))
      : stream(client));
    await done;
    ms = performance.now() - start;
    const released = nextReply();
    await client.close();
    await released;
  } else {
    const client = net.connect(port, "127.0.0.1");
    await new Promise((r) => client.once("connect", r));
    done = nextReply();
    const start = performance.now();
    if (kind === "bytes") {
      for (const b of bytes) {
        if (!client.write(b)) await new Promise((r) => client.once("drain", r));
      }
    } else {
      for (const e of envelopes) {
        if (!client.write(JSON.stringify(e))) {
          await new Promise((r) => client.once("drain", r));
        }
      }
    }
    await done;
    ms = performance.now() - start;
    const released = nextReply();
    await closeSocket(client);
    await released;
  }
  return ms;
}

/** A measured path against a baseline; the ratio is baseline time / measured time. */
interface Row {
  mode: "one thread" | "split";
  transport: string;
  measured: string;
  baseline: string;
  target?: number;
}

/** Paths measured together, round by round (the order rotates each round). */
interface Group {
  runners: Record<string, () => Promise<number>>;
  rows: (Row & { measuredRunner: string; baselineRunner: string })[];
}

const fixture = await tlsFixture();
const secure = { cert: fixture.server.cert, key: fixture.server.key, ca: fixture.ca };

async function limeTcp(
  mode: { tls?: typeof secure; gzip?: boolean },
  burst = false,
): Promise<number> {
  const [client, server, dispose] = await tcpTransportPair(mode);
  try {
    return await runTransport(client, server, burst);
  } finally {
    await client.close();
    await dispose();
  }
}

const RAW_BYTES = "`node:net` socket, bytes only";
const RAW_JSON = "`node:net` + `JSON.stringify`/`JSON.parse` per envelope (ceiling)";
const LIME_TCP = "LIME `TcpTransport`";

function tcpGroup(mode: Row["mode"], runners: Group["runners"]): Group {
  return {
    runners,
    rows: [
      {
        mode,
        transport: "TCP",
        measured: LIME_TCP,
        baseline: RAW_BYTES,
        measuredRunner: "lime",
        baselineRunner: "bytes",
        target: 0.5,
      },
      {
        mode,
        transport: "TCP (ceiling)",
        measured: "`node:net` + `JSON.stringify`/`JSON.parse` per envelope",
        baseline: RAW_BYTES,
        measuredRunner: "json",
        baselineRunner: "bytes",
      },
      {
        mode,
        transport: "TCP",
        measured: LIME_TCP,
        baseline: RAW_JSON,
        measuredRunner: "lime",
        baselineRunner: "json",
        target: 0.9,
      },
      {
        mode,
        transport: "TCP",
        measured: `${LIME_TCP}, all 20,000 sends at once (\`Promise.all\`)`,
        baseline: RAW_JSON,
        measuredRunner: "burst",
        baselineRunner: "json",
      },
    ],
  };
}

function pairGroup(
  transport: string,
  baseline: string,
  runRaw: () => Promise<number>,
  runLime: () => Promise<number>,
): Group {
  return {
    runners: { raw: runRaw, lime: runLime },
    rows: [{
      mode: "one thread",
      transport,
      measured: `LIME ${transport}`,
      baseline,
      measuredRunner: "lime",
      baselineRunner: "raw",
    }],
  };
}

/**
 * gzip on a raw socket, the least any gzip transport does: the sender compresses the same bytes in
 * writes of up to 64 KiB of whole envelopes (as the transport coalesces queued sends), each ending
 * with a sync flush, at zlib's default level (the transport's); the receiver inflates and counts.
 */
async function runRawGzip(): Promise<number> {
  const [client, server] = await rawTcpPair();
  const gzip = zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH, level: GZIP_LEVEL });
  const gunzip = zlib.createGunzip();
  gzip.pipe(client);
  server.pipe(gunzip);
  let got = 0;
  const done = new Promise<void>((resolve) => {
    gunzip.on("data", (chunk: Uint8Array) => {
      got += chunk.length;
      if (got >= totalBytes) resolve();
    });
  });
  const start = performance.now();
  for (let i = 0; i < bytes.length;) {
    let end = i + 1;
    let size = texts[i].length;
    while (end < bytes.length && size + texts[end].length <= 64 * 1024) size += texts[end++].length;
    const room = gzip.write(texts.slice(i, end).join(""));
    i = end;
    if (!room) await new Promise((r) => gzip.once("drain", r));
  }
  await done;
  const ms = performance.now() - start;
  gzip.unpipe(client);
  server.unpipe(gunzip);
  gzip.destroy();
  gunzip.destroy();
  await Promise.all([closeSocket(client), closeSocket(server)]);
  return ms;
}

/** TCP+gzip against raw bytes, against plain LIME TCP, and the raw gzip socket (same run). */
function gzipGroup(): Group {
  const row = (measured: string, baseline: string, m: string, b: string, target?: number) => ({
    mode: "one thread" as const,
    transport: "TCP+gzip",
    measured,
    baseline,
    measuredRunner: m,
    baselineRunner: b,
    target,
  });
  return {
    runners: {
      raw: () => runRawStream(() => rawTcpPair()),
      zlib: runRawGzip,
      tcp: () => limeTcp({}),
      lime: () => limeTcp({ gzip: true }),
    },
    rows: [
      row("LIME TCP+gzip", "`node:net` socket, uncompressed bytes", "lime", "raw"),
      row(
        "`node:net` + `node:zlib` gzip/gunzip (64 KiB writes, sync flush each)",
        "`node:net` socket, uncompressed bytes",
        "zlib",
        "raw",
      ),
      row("LIME TCP+gzip", "`node:net` + `node:zlib` (gzip ceiling)", "lime", "zlib"),
      row("LIME TCP+gzip", LIME_TCP + " (plain TCP)", "lime", "tcp", 0.6),
    ],
  };
}

const only = Deno.args.includes("--split")
  ? "split"
  : Deno.args.includes("--one-thread")
  ? "one thread"
  : undefined;
const groups: Group[] = [];
if (only !== "split") {
  groups.push(
    tcpGroup("one thread", {
      bytes: () => runRawStream(() => rawTcpPair()),
      json: runRawJson,
      lime: () => limeTcp({}),
      burst: () => limeTcp({}, true),
    }),
    pairGroup(
      "TCP+TLS",
      "`node:tls` socket, bytes only",
      () => runRawStream(() => rawTcpPair(secure)),
      () => limeTcp({ tls: secure }),
    ),
    gzipGroup(),
    pairGroup(
      "TCP+TLS+gzip",
      "`node:tls` socket, uncompressed bytes",
      () => runRawStream(() => rawTcpPair(secure)),
      () => limeTcp({ tls: secure, gzip: true }),
    ),
    pairGroup("WebSocket", "`WebSocket` text messages", rawWebSocketRun, webSocketTransportRun),
  );
}
if (only !== "one thread") {
  groups.push(tcpGroup("split", {
    bytes: () => runSplit("bytes"),
    json: () => runSplit("json"),
    lime: () => runSplit("lime"),
    burst: () => runSplit("lime-burst"),
  }));
}

console.log(
  `${COUNT} message envelopes of ${Math.round(totalBytes / COUNT)} B (${
    (totalBytes / 1e6).toFixed(1)
  } MB) per run, ` +
    `client → server over 127.0.0.1, ${ROUNDS} rounds; Deno ${Deno.version.deno}; ` +
    `one thread: both ends on the main thread; split: the receiving end in a Worker.`,
);
const lines: string[] = [];
const mb = totalBytes / 1e6;
for (const group of groups) {
  const names = Object.keys(group.runners);
  // Warm-up of every path.
  for (const name of names) await group.runners[name]();
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      times[name].push(await group.runners[name]());
    }
  }
  for (const row of group.rows) {
    const base = times[row.baselineRunner];
    const measured = times[row.measuredRunner];
    const ratios = base.map((t, r) => t / measured[r]);
    const ratio = median(ratios);
    const baseRate = mb / (median(base) / 1000);
    const rate = mb / (median(measured) / 1000);
    console.error(
      `  ${row.mode} ${row.transport} ${row.measured} / ${row.baseline}: ratios ${
        ratios.map((x) => x.toFixed(2)).join(", ")
      }`,
    );
    lines.push(
      `| ${row.mode} | ${row.transport} | ${row.measured} | ${row.baseline} | ${
        baseRate.toFixed(0)
      } | ${rate.toFixed(0)} | ${
        Math.round((COUNT / median(measured)) * 1000).toLocaleString("en-US")
      } | ${ratio.toFixed(2)}× | ${
        row.target ? `≥ ${row.target}× ${ratio >= row.target ? "(met)" : "(**not met**)"}` : "–"
      } |`,
    );
  }
}
receiver?.terminate();

// gzip on the wire: the same stream with a sync flush after every envelope (the least the
// transport writes at once), and after every 16 (envelopes queued together).
async function gzipSize(perFlush: number, level: number): Promise<number> {
  const gzip = zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH, level });
  let compressed = 0;
  gzip.on("data", (chunk: Uint8Array) => compressed += chunk.length);
  for (let i = 0; i < texts.length; i += perFlush) {
    await new Promise<void>((r) => gzip.write(texts.slice(i, i + perFlush).join(""), () => r()));
  }
  await new Promise<void>((r) => gzip.end(() => r()));
  return compressed;
}
const sizes = [[1, GZIP_LEVEL], [16, GZIP_LEVEL], [1, 6], [16, 6]];
const compressedSizes: number[] = [];
for (const [perFlush, level] of sizes) compressedSizes.push(await gzipSize(perFlush, level));

console.log();
console.log();
console.log(
  "| mode | transport | measured | baseline | baseline MB/s | measured MB/s | measured envelopes/s | ratio | target |",
);
console.log("|---|---|---|---|--:|--:|--:|--:|---|");
for (const line of lines) console.log(line);
console.log();
console.log(
  sizes.map(([perFlush, level], i) =>
    `gzip wire size, level ${level}${level === GZIP_LEVEL ? " (the transport's)" : ""}, a sync ` +
    `flush per ${perFlush === 1 ? "envelope" : `${perFlush} envelopes`}: ` +
    `${compressedSizes[i].toLocaleString("en-US")} of ${totalBytes.toLocaleString("en-US")} ` +
    `bytes (${(compressedSizes[i] / totalBytes * 100).toFixed(1)}%, ratio ${
      (totalBytes / compressedSizes[i]).toFixed(2)
    }:1).`
  ).join("\n"),
);
