/**
 * Command round-trip latency over loopback TCP: a {@link ClientChannel} calling
 * `processCommand(new Command("get", "/ping-like-resource"))` sequentially against a
 * {@link ServerChannel} whose `onCommand` handler answers each request with a `success` response
 * of the same id (session established as guest, no TLS, no gzip), compared with a raw `node:net`
 * socket pair doing ping-pong of exactly the same bytes (the serialized request and response
 * JSON texts): the client writes the request, the server reads until it has all of it and writes
 * the response, the client waits until it has all of the response.
 *
 * Two more pairs in the same rounds show where the difference goes: the **JSON ceiling** (the same
 * raw sockets, but each end decodes the UTF-8 it reads, `JSON.parse`s it, and builds its next text
 * with `JSON.stringify`: what any envelope-level peer must do at least) and **LIME transports**
 * (two `TcpTransport`s exchanging the same envelopes: framing, validated decoding, serialization,
 * the send queue; no channel, no session state, no correlation).
 *
 * `deno task bench:latency [--calls=5000] [--warmup=500] [--rounds=5]`
 *
 * Both ends of every case run in this one process (one event loop). Each round runs the four
 * pairs back to back, the order rotating from round to round; every run makes `warmup`
 * unrecorded calls, then `calls` recorded ones, each timed with `performance.now()`. The figures
 * printed are the medians of the per-round figures (the ratios too). "CPU per call" is this
 * process's user + system time over the recorded calls divided by their number: it covers both
 * ends and the kernel's loopback work, and is far less sensitive than wall-clock latency to other
 * processes competing for the cores. "B allocated per call" is what V8 allocated meanwhile (its
 * `total_allocated_bytes`), per call: the garbage both ends make. Exit code 0: this is a report.
 * @module
 */
import type net from "node:net";
import process from "node:process";
import v8 from "node:v8";
import { Command } from "../src/envelope.ts";
import { serializeEnvelope } from "../src/codec.ts";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { ServerChannel } from "../src/channel/server_channel.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { numberOption } from "./cli_option.ts";
import { closeSocket, socketPair } from "./socket_pair.ts";

const option = (name: string, fallback: number) => numberOption(name, fallback);
const CALLS = option("calls", 5_000);
const WARMUP = option("warmup", 500);
const ROUNDS = option("rounds", 5);
// Issue 16's targets: the median p50 ratio, and every round's.
const TARGET = 1.3;
const ROUND_TARGET = 1.5;

const URI = "/ping-like-resource";
const SERVER_NODE = "postmaster@localhost/server";

/** The response the server sends for `request` (what the LIME server handler builds). */
function responseTo(request: Command): Command {
  return new Command(request.method, undefined, { id: request.id, status: "success" });
}

// The raw baseline's bytes: a request and its response as the channel writes them (UUID ids have
// a fixed length, so every LIME request and response has exactly these sizes).
const sampleRequest = new Command("get", URI);
const requestText = serializeEnvelope(sampleRequest);
const responseText = serializeEnvelope(responseTo(sampleRequest));
const requestBytes = new TextEncoder().encode(requestText);
const responseBytes = new TextEncoder().encode(responseText);

/** Per-call latencies in ms, in call order. */
type Samples = Float64Array;

interface Pair {
  /** Makes `count` sequential round trips; returns their latencies (ms). */
  run(count: number): Promise<Samples>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- LIME channels

async function limePair(): Promise<Pair> {
  const listener = new TcpTransportListener({ hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const clientTransport = new TcpTransport();
  await clientTransport.open(`net.tcp://${listener.address}`);
  const serverTransport = (await accepted).value as TcpTransport;
  const server = new ServerChannel(serverTransport, { serverNode: SERVER_NODE });
  const client = new ClientChannel(clientTransport);
  const [outcome] = await Promise.all([
    server.establishSession({ compressionOptions: ["none"], encryptionOptions: ["none"] }),
    client.establishSession({ identity: "bench@localhost" }),
  ]);
  if (!outcome.established) throw new Error(`Not established: ${outcome.reason.description}`);
  server.onCommand((request) => server.sendCommand(responseTo(request)));
  return {
    async run(count) {
      const samples = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const response = await client.processCommand(new Command("get", URI));
        samples[i] = performance.now() - start;
        if (response.status !== "success") throw new Error(`Unexpected ${response.status}`);
      }
      return samples;
    },
    async close() {
      await client.close();
      await server.closed;
      await listener.close({ closeTransports: true });
    },
  };
}

// ---------------------------------------------------------------- raw node:net ping-pong

async function rawPair(): Promise<Pair> {
  const [client, server] = await noDelayPair();

  let serverGot = 0;
  server.on("data", (chunk: Uint8Array) => {
    serverGot += chunk.length;
    if (serverGot >= requestBytes.length) {
      serverGot -= requestBytes.length;
      server.write(responseBytes);
    }
  });
  let clientGot = 0;
  let answered: (() => void) | undefined;
  client.on("data", (chunk: Uint8Array) => {
    clientGot += chunk.length;
    if (clientGot >= responseBytes.length) {
      clientGot -= responseBytes.length;
      const done = answered!;
      answered = undefined;
      done();
    }
  });
  return {
    async run(count) {
      const samples = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const response = new Promise<void>((r) => answered = r);
        client.write(requestBytes);
        await response;
        samples[i] = performance.now() - start;
      }
      return samples;
    },
    async close() {
      await Promise.all([closeSocket(client), closeSocket(server)]);
    },
  };
}

/** A socket pair with no Nagle delay on either side, like the TCP transport. */
async function noDelayPair(): Promise<[client: net.Socket, server: net.Socket]> {
  const [client, server] = await socketPair();
  client.setNoDelay(true);
  server.setNoDelay(true);
  return [client, server];
}

/**
 * Calls `onText` with each whole text of `size` UTF-8 bytes read from `socket`, decoded (every
 * text of a pair has a fixed size: UUID ids have a fixed length).
 */
function onTexts(socket: net.Socket, size: number, onText: (text: string) => void): void {
  const decoder = new TextDecoder();
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  socket.on("data", (chunk: Uint8Array) => {
    if (heldBytes === 0 && chunk.length === size) return onText(decoder.decode(chunk));
    held.push(chunk);
    heldBytes += chunk.length;
    while (heldBytes >= size) {
      const all = new Uint8Array(heldBytes);
      let at = 0;
      for (const part of held) {
        all.set(part, at);
        at += part.length;
      }
      onText(decoder.decode(all.subarray(0, size)));
      held = heldBytes > size ? [all.slice(size)] : [];
      heldBytes -= size;
    }
  });
}

/**
 * The JSON ceiling: the raw sockets, each end decoding and `JSON.parse`-ing what it reads and
 * `JSON.stringify`-ing what it writes (a request with a fresh UUID id, the response echoing it):
 * the same bytes as the LIME pair, with the least work any envelope-level peer does.
 */
async function jsonPair(): Promise<Pair> {
  const [client, server] = await noDelayPair();
  onTexts(server, requestBytes.length, (text) => {
    const request = JSON.parse(text);
    server.write(JSON.stringify({ id: request.id, method: request.method, status: "success" }));
  });
  let answered: ((response: unknown) => void) | undefined;
  onTexts(client, responseBytes.length, (text) => {
    const done = answered!;
    answered = undefined;
    done(JSON.parse(text));
  });
  return {
    async run(count) {
      const samples = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const response = new Promise((r) => answered = r);
        client.write(JSON.stringify({ id: crypto.randomUUID(), method: "get", uri: URI }));
        if ((await response as { status?: string }).status !== "success") {
          throw new Error("Unexpected response");
        }
        samples[i] = performance.now() - start;
      }
      return samples;
    },
    async close() {
      await Promise.all([closeSocket(client), closeSocket(server)]);
    },
  };
}

/**
 * LIME transports without channels: a `TcpTransport` client sends each request envelope, the
 * accepted `TcpTransport` answers every envelope it receives with the response, the client waits
 * for it (framing, validated decoding, serialization and the send queues; no session state, no
 * correlation).
 */
async function transportPair(): Promise<Pair> {
  const listener = new TcpTransportListener({ hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = new TcpTransport();
  await client.open(`net.tcp://${listener.address}`);
  const server = (await accepted).value as TcpTransport;
  server.onEnvelope((request) => void server.send(responseTo(request as Command)));
  let answered: ((response: Command) => void) | undefined;
  client.onEnvelope((response) => {
    const done = answered!;
    answered = undefined;
    done(response as Command);
  });
  return {
    async run(count) {
      const samples = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const response = new Promise<Command>((r) => answered = r);
        void client.send(new Command("get", URI));
        if ((await response).status !== "success") throw new Error("Unexpected response");
        samples[i] = performance.now() - start;
      }
      return samples;
    },
    async close() {
      await client.close();
      await listener.close({ closeTransports: true });
    },
  };
}

// ---------------------------------------------------------------- statistics

/** Bytes V8 has allocated in this process so far (NaN where the runtime does not say). */
function allocatedSoFar(): number {
  const bytes = (v8.getHeapStatistics() as { total_allocated_bytes?: number })
    .total_allocated_bytes;
  return typeof bytes === "number" ? bytes : NaN;
}

interface Figures {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** CPU time (user + system) of this process per call, in µs: both ends, less noisy. */
  cpu: number;
  /** Bytes V8 allocated per call (both ends; garbage the young generation collects). */
  allocated: number;
}

/** Percentiles (nearest rank), mean and CPU per call, in µs. */
function figures(samples: Samples, cpuMicros: number, allocatedBytes: number): Figures {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  let sum = 0;
  for (const s of sorted) sum += s;
  return {
    p50: at(0.5) * 1000,
    p90: at(0.9) * 1000,
    p99: at(0.99) * 1000,
    mean: (sum / sorted.length) * 1000,
    cpu: cpuMicros / sorted.length,
    allocated: allocatedBytes / sorted.length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medianFigures(rounds: Figures[]): Figures {
  return {
    p50: median(rounds.map((f) => f.p50)),
    p90: median(rounds.map((f) => f.p90)),
    p99: median(rounds.map((f) => f.p99)),
    mean: median(rounds.map((f) => f.mean)),
    cpu: median(rounds.map((f) => f.cpu)),
    allocated: median(rounds.map((f) => f.allocated)),
  };
}

// ---------------------------------------------------------------- main

console.log(
  `${CALLS} sequential command round trips per run after ${WARMUP} warm-up calls, ${ROUNDS} ` +
    `rounds; request ${requestBytes.length} B, response ${responseBytes.length} B; both ends in ` +
    `this process, 127.0.0.1; Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs.`,
);
const began = performance.now();
const pairs = [
  { name: "raw", pair: await rawPair(), rounds: [] as Figures[] },
  { name: "JSON", pair: await jsonPair(), rounds: [] as Figures[] },
  { name: "transports", pair: await transportPair(), rounds: [] as Figures[] },
  { name: "LIME", pair: await limePair(), rounds: [] as Figures[] },
];
const [raw, json, transports, lime] = pairs;
const p50Ratios: number[] = [];
const p99Ratios: number[] = [];
const ceilingRatios: number[] = [];
const ceilingP99Ratios: number[] = [];
const transportRatios: number[] = [];
const transportP99Ratios: number[] = [];
const limeOverCeiling: number[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const measure = async (pair: Pair) => {
      await pair.run(WARMUP);
      const allocatedBefore = allocatedSoFar();
      const before = process.cpuUsage();
      const samples = await pair.run(CALLS);
      const used = process.cpuUsage(before);
      return figures(samples, used.user + used.system, allocatedSoFar() - allocatedBefore);
    };
    // The order rotates: each pair goes first in every fourth round.
    for (let k = 0; k < pairs.length; k++) {
      const entry = pairs[(r + k) % pairs.length];
      entry.rounds.push(await measure(entry.pair));
    }
    const at = (entry: typeof raw) => entry.rounds[r];
    p50Ratios.push(at(lime).p50 / at(raw).p50);
    p99Ratios.push(at(lime).p99 / at(raw).p99);
    ceilingRatios.push(at(json).p50 / at(raw).p50);
    ceilingP99Ratios.push(at(json).p99 / at(raw).p99);
    transportRatios.push(at(transports).p50 / at(raw).p50);
    transportP99Ratios.push(at(transports).p99 / at(raw).p99);
    limeOverCeiling.push(at(lime).p50 / at(json).p50);
    console.error(
      `  round ${r + 1} (${pairs[r % pairs.length].name} first): p50 raw ${
        at(raw).p50.toFixed(1)
      } µs, JSON ${at(json).p50.toFixed(1)} µs, transports ${
        at(transports).p50.toFixed(1)
      } µs, LIME ${at(lime).p50.toFixed(1)} µs; LIME ÷ raw ${p50Ratios[r].toFixed(2)}×, p99 ${
        p99Ratios[r].toFixed(2)
      }×`,
    );
  }
} finally {
  for (const { pair } of pairs) await pair.close();
}

const limeMedian = medianFigures(lime.rounds);
const rawMedian = medianFigures(raw.rounds);
const p50Ratio = median(p50Ratios);
const p99Ratio = median(p99Ratios);
const worstRound = Math.max(...p50Ratios);
const met = (yes: boolean) => yes ? "met" : "**not met**";
const us = (v: number) => v.toFixed(1);
const row = (name: string, f: Figures, p50: string, p99: string) =>
  `| ${name} | ${us(f.p50)} | ${us(f.p90)} | ${us(f.p99)} | ${us(f.mean)} | ${us(f.cpu)} | ${
    Math.round(f.allocated)
  } | ${p50} | ${p99} |`;

console.log();
console.log(
  "| command round trip (µs) | p50 | p90 | p99 | mean | CPU per call | B allocated per call | " +
    "p50 ratio | p99 ratio |",
);
console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
console.log(row("raw `node:net` ping-pong, same bytes", rawMedian, "1×", "1×"));
const ratioOf = (ratios: number[]) =>
  `${median(ratios).toFixed(2)}× (rounds ${Math.min(...ratios).toFixed(2)}–${
    Math.max(...ratios).toFixed(2)
  }×)`;
console.log(
  row(
    "JSON ceiling: the same sockets, `JSON.parse` and `JSON.stringify` at each end",
    medianFigures(json.rounds),
    ratioOf(ceilingRatios),
    `${median(ceilingP99Ratios).toFixed(2)}×`,
  ),
);
console.log(
  row(
    "LIME `TcpTransport`s only (no channel)",
    medianFigures(transports.rounds),
    ratioOf(transportRatios),
    `${median(transportP99Ratios).toFixed(2)}×`,
  ),
);
console.log(
  row(
    "LIME `processCommand` (TCP, guest, no TLS)",
    limeMedian,
    `${p50Ratio.toFixed(2)}× (target ≤ ${TARGET}×: ${met(p50Ratio <= TARGET)}; rounds ${
      Math.min(...p50Ratios).toFixed(2)
    }–${worstRound.toFixed(2)}×, each ≤ ${ROUND_TARGET}×: ${met(worstRound <= ROUND_TARGET)})`,
    `${p99Ratio.toFixed(2)}×`,
  ),
);
console.log();
console.log(
  `LIME ÷ JSON ceiling (p50): ${ratioOf(limeOverCeiling)}: what LIME adds over the least an ` +
    `envelope-level peer does.`,
);
console.log(
  `Medians of ${ROUNDS} per-round figures (ratios: median of per-round ratios). CPU per call: ` +
    `user + system time of this process (both ends) over the recorded calls. Total ${
      ((performance.now() - began) / 1000).toFixed(1)
    } s.`,
);
