/**
 * Server load benchmark: a {@link LimeServer} in its own process (`server_load_server.ts`:
 * loopback TCP and WebSocket, guests, accounts in memory, no rate limit), loaded from this
 * process (and, for the lime-js row, from a Node process):
 *
 * 1. **Routed messages/s**, client → server → client: N sender/receiver pairs (default 8), every
 *    sender sending ~200 B `text/plain` messages without id (so no notifications) to its
 *    receiver's node, with a window of in-flight messages per pair (refilled when half of it has
 *    arrived); counted at the receivers over a fixed time after a warm-up. Two generators per
 *    transport: this module's `ClientChannel` (over `TcpTransport` / `WebSocketTransport`), and
 *    a **raw** one that establishes with the proper handshake, then writes pre-serialized
 *    envelope bytes (TCP: a whole window's worth per write; WebSocket: one text frame each) and
 *    only counts the objects it receives, so that the generator is not the bottleneck.
 * 2. **Session establishments/s** (guest, TCP, no TLS): `--sessions` clients (default 2,000),
 *    `--concurrency` at a time (default 100), each connecting, establishing, then finishing
 *    (`finishing` → `finished`), with `ClientChannel` and with raw clients, after an unmeasured
 *    warm-up of a tenth as many. With the server's CPU per session comes what its V8 heap
 *    allocated per session (garbage that costs collections), for LIME and for its baselines.
 * 3. **Memory per idle established session**: the server's RSS and V8 heap (after a GC) before
 *    and after `--idle` (default 10,000) raw guest sessions are established over TCP and left
 *    idle, and again after they are all closed (a leak check).
 * 4. **lime-js**: the routed-message load of 1 driven by `lime-js@3.0.1` clients on Node over
 *    WebSocket (`server_load_limejs.ts`), against the same server.
 *
 * 5. **Baselines, in the same run** (`relays.ts`, served by the bench server process): the raw TCP
 *    load through a bare `node:net` byte relay (same connections, same bytes, no LIME) and through
 *    a bare envelope relay (framing, `JSON.parse`, `from`, `JSON.stringify`: the least any server
 *    routing envelopes does); a scripted guest login (a real server's answers as fixed bytes); the raw
 *    WebSocket load through a bare relay on `Deno.upgradeWebSocket` and on this project's own
 *    WebSocket server (`NodeWebSocketServer`); raw TCP connects/s (connect, the server hangs up).
 *    A figure and its baselines run `--rounds` times (default 3), the order rotating each round;
 *    each is reported as the median with its spread (min–max), ratios as the median of the
 *    per-round ratios.
 *
 * `deno task bench:server [--quick] [--rounds=3] [--pairs=8] [--window=256] [--warmup=1]
 *  [--duration=5] [--sessions=2000] [--concurrency=100] [--idle=10000] [--only=name,...]
 *  [--profile[=DIR]] [--server-v8-flags=a,b] [--no-account-reads] [--ids]`
 *
 * `--quick`: 0.5 s warm-up, 2 s measured, 1,000 establishments (idle sessions stay 10,000).
 * `--only`: a comma-separated subset of `tcp-raw, tcp-raw-defaults, tcp-channel, tcp-client, ws-raw,
 * ws-channel, ws-limejs,
 * establish-channel, establish-raw, memory`. `--profile`: the server runs under
 * `deno run --cpu-prof` and writes its profile into DIR (default `.tmp/server-load-profile/`)
 * when it quits. `--server-v8-flags`: the server's V8 flags instead of those of `deno task start`
 * (`--server-v8-flags=` for none). `--no-account-reads` (an experiment): the server's account store
 * answers every read "no account" without reading Deno KV, to price the store's share of a login.
 * `--ids`: the routed messages carry an id (the same one), as most clients' do; the server then
 * keeps a record of each for slow-reader receipts. Without it they carry none.
 *
 * Every rate comes with the CPU used over the measured time (from the server process, which also
 * reads the machine's `/proc/stat`): the server's CPU time per message or session, the server's
 * and the generator's CPU use in % of one core, and how idle the machine was. The server is the
 * limit when it uses ~100% of a core; when the machine had no idle time left while the server
 * used less, other processes took the cores and the rate is a lower bound (a note says so).
 *
 * Prints a markdown table (scenario, transport, generator, figure, target, met), then notes. Every
 * child process is stopped at the end, also on failure and on Ctrl-C/SIGTERM. Exit code 0: this is
 * a report.
 * @module
 */
import process from "node:process";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { LimeClient } from "../src/client/lime_client_deno.ts";
import { serializeEnvelope } from "../src/codec.ts";
import { Message } from "../src/envelope.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import type { Transport } from "../src/transport/transport.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { type LimeJsLine, prepareLimeJs } from "./server_load_limejs.ts";
import {
  collect,
  killChildren,
  linesOf,
  ServerProcess,
  serverV8FlagsOption,
  spawn,
} from "./server_process.ts";
import {
  type Json,
  ObjectCounter,
  rawHandshake,
  RawTcpClient,
  writeAll,
} from "./raw_tcp_client.ts";
import { maskedTextFrame, RawWsConnection } from "./raw_ws_client.ts";
import { DEFAULT_RATE_LIMITS } from "../src/server/guard/traffic_shaper.ts";
import { numberOption } from "./cli_option.ts";

// ------------------------------------------------------------------------------------ options

const option = (name: string, fallback: number) => numberOption(name, fallback);
const QUICK = Deno.args.includes("--quick");
const PAIRS = option("pairs", 8);
const WINDOW = option("window", 256);
const WARMUP_MS = option("warmup", QUICK ? 0.5 : 1) * 1000;
const DURATION_MS = option("duration", QUICK ? 2 : 5) * 1000;
const SESSIONS = option("sessions", QUICK ? 1_000 : 2_000);
const CONCURRENCY = option("concurrency", 100);
const IDLE = option("idle", 10_000);
const ROUNDS = option("rounds", 3);
const PROFILE_ARG = Deno.args.find((a) => a === "--profile" || a.startsWith("--profile="));
const PROFILE_DIR = PROFILE_ARG === undefined
  ? undefined
  : PROFILE_ARG.includes("=")
  ? PROFILE_ARG.slice("--profile=".length)
  : new URL("../.tmp/server-load-profile/", import.meta.url).pathname;
// The server's V8 flags: those of `deno task start` unless `--server-v8-flags=` says otherwise.
const SERVER_V8_FLAGS = serverV8FlagsOption().flags;
// An experiment: the server answers every account read "no account" without reading Deno KV.
const NO_ACCOUNT_READS = Deno.args.includes("--no-account-reads") ? ["--no-account-reads"] : [];
// Routed messages with an id (one fixed UUID: the server does not deduplicate), which the server
// tracks for slow-reader receipts; without, they carry none.
const IDS = Deno.args.includes("--ids") ? "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f" : undefined;
const SCENARIOS = [
  "tcp-raw",
  "tcp-raw-defaults",
  "tcp-channel",
  "tcp-client",
  "ws-raw",
  "ws-channel",
  "ws-limejs",
  "establish-channel",
  "establish-raw",
  "memory",
] as const;
type ScenarioName = typeof SCENARIOS[number];
const ONLY = Deno.args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
for (const name of ONLY ?? []) {
  if (!SCENARIOS.includes(name as ScenarioName)) {
    throw new TypeError(`--only: unknown scenario "${name}" (known: ${SCENARIOS.join(", ")})`);
  }
}
const runs = (name: ScenarioName) => ONLY === undefined || ONLY.includes(name);

const ROUTED_TARGET = 50_000;
const MEMORY_TARGET = 1024 ** 3;
const DOMAIN = "localhost";
/** ~150 characters of chat text: envelopes of ~200 B to the server, ~225 B from it. */
const CONTENT = "Olá! Your order #48213 has shipped and should arrive tomorrow between 9 and " +
  "12. Reply STOP to opt out, or HELP for more options. Thanks!";

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const noop = () => {};

const onInterrupt = () => {
  console.error("\ninterrupted: stopping the child processes");
  killChildren().finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", onInterrupt);
Deno.addSignalListener("SIGTERM", onInterrupt);

/** CPU counters at one moment (taken by the server process, which may read /proc). */
interface CpuSample {
  /** The server's user + system CPU time, ms. */
  serverMs: number;
  /** This process's user + system CPU time, ms. */
  generatorMs: number;
  /** Jiffies of the whole machine, all cores: idle (with iowait), and total (NaN elsewhere). */
  idle: number;
  total: number;
  /** Bytes V8 has allocated in the server so far (NaN where the runtime does not say). */
  allocated: number;
  at: number;
}

/** CPU use between two samples. */
interface CpuUse {
  /** The server's CPU use, % of one core. */
  serverCpu: number;
  /** The generator's CPU use (this process, or Node), % of one core. */
  generatorCpu: number;
  /** How idle the whole machine was (all cores), %. */
  machineIdle: number;
}

function cpuUse(start: CpuSample, end: CpuSample, generatorMs?: number): CpuUse {
  const ms = end.at - start.at;
  return {
    serverCpu: (end.serverMs - start.serverMs) * 100 / ms,
    generatorCpu: (generatorMs ?? end.generatorMs - start.generatorMs) * 100 / ms,
    machineIdle: (end.idle - start.idle) * 100 / (end.total - start.total),
  };
}

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

interface ServerMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  sessions: number;
}

/** The bench server process, with the measurements this benchmark takes from it. */
class BenchServer extends ServerProcess {
  constructor(args: string[] = []) {
    super(PROFILE_DIR, [...args, ...NO_ACCOUNT_READS], SERVER_V8_FLAGS);
  }

  async memory(): Promise<ServerMemory> {
    return await this.request("mem") as unknown as ServerMemory;
  }

  /** Established sessions right now (no GC). */
  async sessions(): Promise<number> {
    return (await this.request("cpu")).sessions as number;
  }

  /** CPU counters now (the server answers between two of its tasks: within a few ms). */
  async sample(): Promise<CpuSample> {
    const generatorMs = ownCpuMs();
    const reply = await this.request("cpu");
    return {
      serverMs: reply.cpuMs as number,
      generatorMs,
      idle: (reply.idle as number | undefined) ?? NaN,
      total: (reply.total as number | undefined) ?? NaN,
      allocated: (reply.allocated as number | undefined) ?? NaN,
      at: performance.now(),
    };
  }

  /** Waits until the server has no established session left (at most `ms`). */
  async settle(ms = 20_000): Promise<number> {
    const until = Date.now() + ms;
    let left = await this.sessions();
    while (left > 0 && Date.now() < until) {
      await sleep(100);
      left = await this.sessions();
    }
    return left;
  }
}

// ------------------------------------------------------------------------------- raw clients

/** A minimal LIME client on a bare WebSocket (`lime` subprotocol): handshake, then raw text. */
class RawWsClient {
  readonly socket: WebSocket;
  #queue: string[] = [];
  #waiting: (() => void) | undefined;
  #closed: Promise<void>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.#closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
    socket.onmessage = (event) => {
      this.#queue.push(event.data as string);
      this.#waiting?.();
    };
  }

  /** Opens a bare WebSocket (subprotocol `lime`), without LIME handshake. */
  static async open(address: string): Promise<RawWsClient> {
    const socket = new WebSocket(`ws://${address}`, "lime");
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`ws://${address}: the WebSocket did not open`));
    });
    socket.onerror = noop;
    return new RawWsClient(socket);
  }

  static async establish(address: string, node: string): Promise<RawWsClient> {
    const client = await RawWsClient.open(address);
    const socket = client.socket;
    await rawHandshake((text) => socket.send(text), () => client.#next(), node);
    return client;
  }

  async #next(): Promise<Json> {
    while (this.#queue.length === 0) {
      await new Promise<void>((resolve) => this.#waiting = resolve);
      this.#waiting = undefined;
    }
    return JSON.parse(this.#queue.shift()!);
  }

  async close(): Promise<void> {
    this.socket.onmessage = null;
    this.socket.close();
    await Promise.race([this.#closed, sleep(2000)]);
  }
}

// ------------------------------------------------------------------------ routed-message load

/** One sender/receiver pair's counters. */
interface PairState {
  sent: number;
  received: number;
  /** Set while the sender waits for the window to drain to half. */
  wake: (() => void) | undefined;
}

/** A running routed-message load. */
interface Load {
  /** Messages received so far, all receivers. */
  received(): number;
  /** Messages sent so far, all senders. */
  sent(): number;
  start(): void;
  stop(): void;
  close(): Promise<void>;
}

const LOW = () => Math.floor(WINDOW / 2);

function newPair(): PairState {
  return { sent: 0, received: 0, wake: undefined };
}

/** Called by a receiver: counts, and wakes its sender once half the window has arrived. */
function credit(pair: PairState, count: number): void {
  pair.received += count;
  if (pair.wake && pair.sent - pair.received <= LOW()) {
    const wake = pair.wake;
    pair.wake = undefined;
    wake();
  }
}

function totals(pairs: PairState[]) {
  return {
    received: () => pairs.reduce((n, pair) => n + pair.received, 0),
    sent: () => pairs.reduce((n, pair) => n + pair.sent, 0),
  };
}

function messageText(to: string): string {
  return serializeEnvelope(new Message("text/plain", CONTENT, { to, ...(IDS ? { id: IDS } : {}) }));
}

/** Connects a bare TCP connection (no Nagle, like the server and TcpTransport). */
async function connectTcp(address: string): Promise<Deno.TcpConn> {
  const colon = address.lastIndexOf(":");
  const conn = await Deno.connect({
    hostname: address.slice(0, colon),
    port: Number(address.slice(colon + 1)),
  });
  conn.setNoDelay(true);
  return conn;
}

/** A relay connection of `relays.ts`: says its role and pair, and waits for `ok`. */
async function relayTcpClient(address: string, role: "r" | "s", pair: number) {
  const conn = await connectTcp(address);
  await writeAll(conn, encoder.encode(`${role} ${pair}\n`));
  if (role === "s") {
    const ok = new Uint8Array(3);
    let got = 0;
    while (got < 3) {
      const n = await conn.read(ok.subarray(got));
      if (n === null) throw new Error("the relay closed the connection");
      got += n;
    }
  }
  return {
    conn,
    close: () => {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
}

/** A raw sender/receiver pair on bare TCP connections (plain, or a WebSocket after its upgrade). */
interface RawLink {
  sender: { conn: Deno.TcpConn; close(): void };
  receiver: { conn: Deno.TcpConn; close(): void };
  /** A window's worth of pre-built envelopes (or frames), back to back. */
  batch: Uint8Array;
  /** Counts the envelopes in what the receiver reads. */
  count: (chunk: Uint8Array) => number;
}

/**
 * Raw TCP: a window's worth of pre-serialized envelopes per write; receivers only count. `lime`:
 * through the LIME server (guest sessions, proper handshake); `relay`: the same envelopes over
 * the same kind of connections through the byte relay of `relays.ts` (no LIME).
 */
async function rawTcpLoad(address: string, mode: "lime" | "relay" = "lime"): Promise<Load> {
  const links: RawLink[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const to = `raw-r${i}@${DOMAIN}/load`;
    const receiver = mode === "lime"
      ? await RawTcpClient.establish(address, to)
      : await relayTcpClient(address, "r", i);
    const sender = mode === "lime"
      ? await RawTcpClient.establish(address, `raw-s${i}@${DOMAIN}/load`)
      : await relayTcpClient(address, "s", i);
    const counter = new ObjectCounter();
    links.push({
      sender,
      receiver,
      batch: repeat(encoder.encode(messageText(to))),
      count: (chunk) => counter.count(chunk),
    });
  }
  return rawLoad(links);
}

/** `WINDOW` copies of `one`, back to back. */
function repeat(one: Uint8Array): Uint8Array {
  const batch = new Uint8Array(one.length * WINDOW);
  for (let k = 0; k < WINDOW; k++) batch.set(one, k * one.length);
  return batch;
}

/**
 * Raw WebSocket on bare TCP connections (`raw_ws_client.ts`): the upgrade, then a window's worth
 * of pre-built masked text frames (one envelope each) per write; receivers only count frames.
 * `lime`: through the LIME server (guest sessions, proper handshake); `relay`: through a
 * WebSocket relay of `relays.ts` (paired by path, no LIME).
 */
async function rawWsFramesLoad(address: string, mode: "lime" | "relay" = "lime"): Promise<Load> {
  const links: RawLink[] = [];
  const open = async (node: string, path: string) => {
    const connection = await RawWsConnection.open(address, mode === "lime" ? "/" : path);
    if (mode === "lime") {
      await rawHandshake(
        (text) => writeAll(connection.conn, maskedTextFrame(text)),
        async () => JSON.parse(await connection.next()),
        node,
      );
    }
    connection.counter.keep = false;
    connection.counter.texts.length = 0;
    return connection;
  };
  for (let i = 0; i < PAIRS; i++) {
    const to = `rawwsf-r${i}@${DOMAIN}/load`;
    const receiver = await open(to, `/r/${i}`);
    const sender = await open(`rawwsf-s${i}@${DOMAIN}/load`, `/s/${i}`);
    links.push({
      sender,
      receiver,
      batch: repeat(maskedTextFrame(messageText(to))),
      count: (chunk) => receiver.counter.count(chunk),
    });
  }
  return rawLoad(links);
}

/** Runs raw links: each sender writes what its window has room for; receivers only count. */
function rawLoad(links: RawLink[]): Load {
  const pairs = links.map(() => newPair());
  const size = links[0].batch.length / WINDOW;
  let stopped = false;
  const loops: Promise<void>[] = [];
  return {
    ...totals(pairs),
    start() {
      links.forEach(({ sender, receiver, batch, count }, i) => {
        const pair = pairs[i];
        loops.push(
          (async () => {
            const buffer = new Uint8Array(256 * 1024);
            for (;;) {
              const n = await receiver.conn.read(buffer);
              if (n === null) break;
              credit(pair, count(buffer.subarray(0, n)));
            }
          })().catch(noop),
        );
        loops.push(
          (async () => {
            while (!stopped) {
              const room = WINDOW - (pair.sent - pair.received);
              if (room >= WINDOW - LOW()) {
                await writeAll(sender.conn, batch.subarray(0, room * size));
                pair.sent += room;
              } else {
                await new Promise<void>((resolve) => pair.wake = resolve);
              }
            }
          })().catch(noop),
        );
      });
    },
    stop() {
      stopped = true;
      for (const pair of pairs) pair.wake?.();
    },
    async close() {
      for (const { sender, receiver } of links) {
        sender.close();
        receiver.close();
      }
      await Promise.all(loops);
    },
  };
}

/**
 * Raw WebSocket: one pre-serialized text frame per envelope; receivers only count. `lime`: through
 * the LIME server; `relay`: through a WebSocket relay of `relays.ts` (paired by path, no LIME).
 */
async function rawWsLoad(address: string, mode: "lime" | "relay" = "lime"): Promise<Load> {
  const pairs: PairState[] = [];
  const clients: RawWsClient[] = [];
  const pumps: (() => void)[] = [];
  let stopped = false;
  for (let i = 0; i < PAIRS; i++) {
    const to = `rawws-r${i}@${DOMAIN}/load`;
    const receiver = mode === "lime"
      ? await RawWsClient.establish(address, to)
      : await RawWsClient.open(`${address}/r/${i}`);
    const sender = mode === "lime"
      ? await RawWsClient.establish(address, `rawws-s${i}@${DOMAIN}/load`)
      : await RawWsClient.open(`${address}/s/${i}`);
    clients.push(receiver, sender);
    const text = messageText(to);
    const pair = newPair();
    pairs.push(pair);
    const pump = () => {
      while (!stopped && pair.sent - pair.received < WINDOW) {
        sender.socket.send(text);
        pair.sent++;
      }
    };
    pumps.push(pump);
    receiver.socket.onmessage = () => {
      pair.received++;
      if (pair.sent - pair.received <= LOW()) pump();
    };
  }
  return {
    ...totals(pairs),
    start: () => pumps.forEach((pump) => pump()),
    stop: () => stopped = true,
    close: async () => {
      await Promise.all(clients.map((client) => client.close()));
    },
  };
}

/** What {@link pairedLoad} does with one kind of client. */
interface ClientKind<C> {
  connect(name: string): Promise<C>;
  /** Calls `received` for every message the client receives. */
  onMessage(client: C, received: () => void): void;
  /** The client's node, to send to. */
  node(client: C): string;
  /** Sends one message to `to` without waiting. */
  send(client: C, to: string): void;
  /** Ends the client's session. */
  end(client: C): Promise<void>;
}

/** PAIRS receiver/sender pairs of `kind`, each sender keeping WINDOW messages in flight. */
async function pairedLoad<C>(prefix: string, kind: ClientKind<C>): Promise<Load> {
  const pairs: PairState[] = [];
  const clients: C[] = [];
  const links: { sender: C; to: string }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const receiver = await kind.connect(`${prefix}-r${i}`);
    const sender = await kind.connect(`${prefix}-s${i}`);
    clients.push(receiver, sender);
    const pair = newPair();
    pairs.push(pair);
    kind.onMessage(receiver, () => credit(pair, 1));
    links.push({ sender, to: kind.node(receiver) });
  }
  let stopped = false;
  const loops: Promise<void>[] = [];
  return {
    ...totals(pairs),
    start() {
      links.forEach(({ sender, to }, i) => {
        const pair = pairs[i];
        loops.push((async () => {
          while (!stopped) {
            while (pair.sent - pair.received < WINDOW) {
              kind.send(sender, to);
              pair.sent++;
            }
            await new Promise<void>((resolve) => pair.wake = resolve);
          }
        })());
      });
    },
    stop() {
      stopped = true;
      for (const pair of pairs) pair.wake?.();
    },
    async close() {
      await Promise.all(loops);
      await Promise.all(clients.map((client) => kind.end(client)));
    },
  };
}

/** This module's ClientChannel over TcpTransport or WebSocketTransport. */
function channelLoad(kind: "tcp" | "ws", address: string): Promise<Load> {
  return pairedLoad<ClientChannel>(`ch-${kind}`, {
    async connect(name) {
      let transport: Transport;
      if (kind === "tcp") {
        const tcp = new TcpTransport();
        await tcp.open(`net.tcp://${address}`);
        transport = tcp;
      } else {
        const ws = new WebSocketTransport();
        await ws.open(`ws://${address}`);
        transport = ws;
      }
      const channel = new ClientChannel(transport);
      await channel.establishSession({
        identity: `${name}@${DOMAIN}`,
        instance: "load",
        encryption: "none",
        compression: "none",
      });
      return channel;
    },
    onMessage: (channel, received) => void channel.onMessage(received),
    node: (channel) => channel.localNode!,
    send: (channel, to) =>
      void channel.sendMessage(new Message("text/plain", CONTENT, { to })).catch(noop),
    async end(channel) {
      try {
        await channel.finish({ timeout: 5_000 });
      } catch { /* closed below */ }
      await channel.close().catch(noop);
    },
  });
}

/**
 * The resilient `LimeClient` over TCP, on its defaults: every message has an id (it is tracked
 * until confirmed), the receivers send a `received` receipt for each (which the server routes back
 * to the senders, who settle their trackers with it) and drop duplicates by sender and id.
 */
function limeClientLoad(address: string): Promise<Load> {
  return pairedLoad<LimeClient>("lc", {
    async connect(name) {
      const client = new LimeClient({
        uri: `net.tcp://${address}`,
        identity: `${name}@${DOMAIN}`,
        instance: "load",
        reconnect: { maxAttempts: 1 },
      });
      await client.start();
      return client;
    },
    onMessage: (client, received) => void client.onMessage(received),
    node: (client) => client.node!,
    send: (client, to) =>
      void client.sendMessage(
        new Message("text/plain", CONTENT, { id: crypto.randomUUID(), to }),
      ).catch(noop),
    end: (client) => client.close().catch(noop),
  });
}

/** The measured figures of one routed-message run. */
interface RoutedResult extends CpuUse {
  rate: number;
  lost: number;
}

async function measureLoad(server: BenchServer, load: Load): Promise<RoutedResult> {
  load.start();
  await sleep(WARMUP_MS);
  const c0 = await server.sample();
  const r0 = load.received();
  const t0 = performance.now();
  await sleep(DURATION_MS);
  const r1 = load.received();
  const t1 = performance.now();
  const c1 = await server.sample();
  load.stop();
  // What is in flight arrives (at most 2 s): nothing may be lost.
  const until = Date.now() + 2_000;
  while (load.received() < load.sent() && Date.now() < until) await sleep(10);
  const lost = load.sent() - load.received();
  await load.close();
  return { rate: (r1 - r0) * 1000 / (t1 - t0), ...cpuUse(c0, c1), lost };
}

/** The lime-js load, in a Node process. */
async function limeJsLoad(server: BenchServer): Promise<RoutedResult> {
  const { script, cwd } = await prepareLimeJs();
  const config = {
    url: `ws://${server.ws}`,
    pairs: PAIRS,
    window: WINDOW,
    content: CONTENT,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
  };
  const child = spawn("node", [script, JSON.stringify(config)], {
    cwd,
    stdout: "piped",
    stderr: "piped",
  });
  const stderr: string[] = [];
  const stderrDone = collect(child.stderr, stderr);
  const killer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, WARMUP_MS + DURATION_MS + 60_000);
  let c0: CpuSample | undefined;
  let c1: CpuSample | undefined;
  let end: Extract<LimeJsLine, { phase: "measure-end" }> | undefined;
  let done: Extract<LimeJsLine, { phase: "done" }> | undefined;
  let failure = "";
  try {
    for await (const text of linesOf(child.stdout)) {
      let line: LimeJsLine;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      if (line.phase === "measure-start") c0 = await server.sample();
      else if (line.phase === "measure-end") {
        c1 = await server.sample();
        end = line;
      } else if (line.phase === "done") done = line;
      else if (line.phase === "error") failure = line.message;
    }
    await child.status;
    await stderrDone;
  } finally {
    clearTimeout(killer);
  }
  if (!end || !c0 || !c1) {
    throw new Error(`the lime-js load failed: ${failure}\n${stderr.join("\n")}`);
  }
  return {
    rate: end.received * 1000 / end.elapsedMs,
    ...cpuUse(c0, c1, end.cpuMs * (c1.at - c0.at) / end.elapsedMs),
    lost: done ? done.sent - done.received : NaN,
  };
}

// ----------------------------------------------------------------------------- establishment

interface EstablishResult extends CpuUse {
  rate: number;
  established: number;
  failed: number;
  p50: number;
  p99: number;
  /** Bytes the server's V8 allocated per session (per connect), NaN where unknown. */
  allocatedPerSession: number;
  firstError?: string;
}

let establishRun = 0;

/**
 * Runs `count` connect → establish → finish cycles, `CONCURRENCY` at a time; an unmeasured
 * warm-up of a tenth of them comes first (the generator's code paths get compiled too).
 */
async function measureEstablishments(
  server: BenchServer,
  generator: "channel" | "raw" | "connect" | "scripted",
): Promise<EstablishResult> {
  const address = generator === "scripted" ? server.relays.tcpScripted : server.tcp;
  const run = ++establishRun;
  const cycle = async (name: string, established: (ms: number) => void) => {
    const t0 = performance.now();
    if (generator === "connect") {
      // The baseline: a bare TCP connect to a node:net server in the server process that ends
      // every connection it accepts; the client reads until the end and closes.
      const conn = await connectTcp(server.relays.tcpAccept);
      established(performance.now() - t0);
      const buffer = new Uint8Array(16);
      try {
        while (await conn.read(buffer) !== null) { /* nothing comes */ }
      } finally {
        conn.close();
      }
      return;
    }
    if (generator === "raw" || generator === "scripted") {
      const client = await RawTcpClient.establish(address, `${name}/bench`);
      established(performance.now() - t0);
      await client.finish();
      return;
    }
    const transport = new TcpTransport();
    await transport.open(`net.tcp://${address}`);
    const channel = new ClientChannel(transport);
    try {
      await channel.establishSession({
        identity: name,
        instance: "bench",
        encryption: "none",
        compression: "none",
      });
      established(performance.now() - t0);
      await channel.finish();
    } finally {
      await channel.close().catch(noop);
    }
  };
  const pool = async (label: string, count: number) => {
    const latencies: number[] = [];
    let failed = 0;
    let firstError: string | undefined;
    let next = 0;
    const worker = async () => {
      for (let k = next++; k < count; k = next++) {
        try {
          await cycle(`est${run}${label}-${k}@${DOMAIN}`, (ms) => latencies.push(ms));
        } catch (error) {
          failed++;
          firstError ??= String(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
    return { latencies, failed, firstError };
  };
  await pool("w", Math.ceil(SESSIONS / 10));
  await server.settle();
  const c0 = await server.sample();
  const start = performance.now();
  const { latencies, failed, firstError } = await pool("m", SESSIONS);
  const ms = performance.now() - start;
  const c1 = await server.sample();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    rate: latencies.length * 1000 / ms,
    established: latencies.length,
    failed,
    p50: at(0.5),
    p99: at(0.99),
    allocatedPerSession: (c1.allocated - c0.allocated) / latencies.length,
    firstError,
    ...cpuUse(c0, c1),
  };
}

// -------------------------------------------------------------------------------------- memory

interface MemoryResult {
  before: ServerMemory;
  after: ServerMemory;
  closed: ServerMemory;
  sessions: number;
  refused: number;
  failed: number;
  openSeconds: number;
  generatorRss: number | undefined;
}

async function measureIdleSessions(server: BenchServer): Promise<MemoryResult> {
  const before = await server.memory();
  const clients: RawTcpClient[] = [];
  // Connections the server dropped before establishing; each is retried (up to 5 attempts), as a
  // real client would reconnect.
  let refused = 0;
  let failed = 0;
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    for (let k = next++; k < IDLE; k = next++) {
      for (let attempt = 1;; attempt++) {
        try {
          clients.push(await RawTcpClient.establish(server.tcp, `idle-${k}@${DOMAIN}/bench`));
          break;
        } catch {
          refused++;
          if (attempt === 5) {
            failed++;
            break;
          }
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(200, IDLE) }, worker));
    const openSeconds = (performance.now() - start) / 1000;
    await sleep(500);
    const after = await server.memory();
    const generatorRss = Deno.memoryUsage().rss;
    for (const client of clients) client.close();
    clients.length = 0;
    await server.settle();
    const closed = await server.memory();
    return {
      before,
      after,
      closed,
      sessions: after.sessions,
      refused,
      failed,
      openSeconds,
      generatorRss,
    };
  } finally {
    for (const client of clients) client.close();
  }
}

// ---------------------------------------------------------------------- rounds and baselines

/** One measurement of a group: its name and how to take it. */
interface Member<T extends { rate: number }> {
  name: string;
  measure: () => Promise<T>;
}

/**
 * Runs every member `ROUNDS` times, rotating the order each round (round r starts with member
 * r mod n), letting the server settle in between; returns each member's results in round order.
 */
async function inRounds<T extends { rate: number }>(
  server: BenchServer,
  members: Member<T>[],
): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(members.map((member) => [member.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < members.length; k++) {
      const member = members[(round + k) % members.length];
      console.error(`  round ${round + 1}/${ROUNDS}: ${member.name}…`);
      results.get(member.name)!.push(await member.measure());
      await server.settle();
    }
  }
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `median` (min–max) of a list of figures. */
function spread(values: number[], format: (n: number) => string = int): string {
  if (values.length === 1) return format(values[0]);
  return `${format(median(values))} (${format(Math.min(...values))}–${
    format(Math.max(...values))
  })`;
}

/** Per-round ratios of two members' rates: median and spread, as text, and the median. */
function ratio(
  over: { rate: number }[],
  under: { rate: number }[],
): { text: string; median: number; max: number } {
  const ratios = over.map((result, i) => result.rate / under[i].rate);
  const x = (n: number) => `${n.toFixed(2)}×`;
  return { text: spread(ratios, x), median: median(ratios), max: Math.max(...ratios) };
}

/** Server CPU per item (µs) of each round, median and spread. */
function cpuPer(results: { rate: number; serverCpu: number }[]): string {
  return spread(
    results.map((result) => result.serverCpu * 10_000 / result.rate),
    (n) => n.toFixed(1),
  );
}

/** `; generator N (min–max) µs CPU/unit`: this process's share of the two cores, per item. */
function generatorCpuPer(results: { rate: number; generatorCpu: number }[], unit: string): string {
  const per = spread(
    results.map((result) => result.generatorCpu * 10_000 / result.rate),
    (n) => n.toFixed(1),
  );
  return `; generator ${per} µs CPU/${unit}`;
}

/** `, N (min–max) KB allocated/unit` by the server's V8, or nothing where it is not reported. */
function allocatedPer(results: EstablishResult[], unit: string): string {
  const values = results.map((result) => result.allocatedPerSession);
  if (values.some(Number.isNaN)) return "";
  return `, ${spread(values, (n) => (n / 1000).toFixed(1))} KB allocated/${unit}`;
}

// ---------------------------------------------------------------------------------- reporting

interface Row {
  scenario: string;
  transport: string;
  generator: string;
  figure: string;
  target: string;
  met: string;
}

const rows: Row[] = [];
const notes: string[] = [];

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/**
 * CPU use over the measured time: the server is the limit when it is near 100% of a core. The
 * server's CPU time per item (µs) is the figure least disturbed by other processes on the machine.
 */
function cpuNote(
  result: { rate: number; serverCpu: number; generatorCpu: number; machineIdle: number },
  unit: string,
) {
  const perItem = result.serverCpu * 10_000 / result.rate;
  return `server ${perItem.toFixed(1)} µs CPU/${unit}; server CPU ${
    result.serverCpu.toFixed(0)
  }%, generator ${result.generatorCpu.toFixed(0)}%, machine idle ${result.machineIdle.toFixed(0)}%`;
}

/** Rows measured while other processes competed for the cores. */
const disturbed: string[] = [];

/**
 * Whether a measurement was disturbed by other processes: the machine had no idle time left
 * (< 10%) while the server used less than 90% of a core. Such a row's rate is a lower bound.
 */
function contended(what: string, result: { serverCpu: number; machineIdle: number }): boolean {
  if (!(result.serverCpu < 90 && result.machineIdle < 10)) return false;
  disturbed.push(
    `${what} (server ${result.serverCpu.toFixed(0)}%, idle ${result.machineIdle.toFixed(0)}%)`,
  );
  return true;
}

/** Like {@link contended}, for the rounds of one figure: one note with how many were disturbed. */
function contendedRounds(
  what: string,
  results: { serverCpu: number; machineIdle: number }[],
): void {
  const busy = results.filter((result) => result.serverCpu < 90 && result.machineIdle < 10);
  if (busy.length === 0) return;
  disturbed.push(
    `${what} (${busy.length} of ${results.length} rounds; server ${
      spread(busy.map((result) => result.serverCpu), (n) => `${n.toFixed(0)}%`)
    })`,
  );
}

function routedRow(transport: string, generator: string, result: RoutedResult, target: boolean) {
  const cpu = cpuNote(result, "msg");
  const busy = contended(`${transport} ${generator}`, result);
  rows.push({
    scenario: "routed messages/s",
    transport,
    generator,
    figure: `**${int(result.rate)}** msg/s (${cpu})`,
    target: target ? `≥ ${int(ROUTED_TARGET)}/s` : "—",
    met: target
      ? (result.rate >= ROUTED_TARGET ? "yes" : busy ? "**no** (contended)" : "**no**")
      : "—",
  });
  if (result.lost > 0) {
    notes.push(`${transport} ${generator}: ${result.lost} messages not received`);
  }
  if (generator === "raw") {
    notes.push(
      `${transport} raw generator (the server's limit): at its CPU cost per message the server ` +
        `would route ≈ ${
          int(1e6 / (result.serverCpu * 10_000 / result.rate))
        } msg/s on a whole core`,
    );
  }
}

function printTable(): void {
  const header: Row = {
    scenario: "Scenario",
    transport: "Transport",
    generator: "Generator",
    figure: "Figure",
    target: "Target",
    met: "Met",
  };
  const keys = Object.keys(header) as (keyof Row)[];
  const line = (row: Row) => `| ${keys.map((key) => row[key]).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${keys.map(() => "---").join("|")}|`);
  for (const row of rows) console.log(line(row));
}

/** The routed raw loads and their baselines, in rounds (`tcp-raw`, `ws-raw`). */
async function compareRouted(server: BenchServer): Promise<void> {
  const { relays } = server;
  const members: Member<RoutedResult>[] = [];
  const tcp = runs("tcp-raw") || runs("ws-raw");
  if (tcp) {
    members.push({
      name: "TCP LIME",
      measure: async () => measureLoad(server, await rawTcpLoad(server.tcp)),
    });
  }
  if (runs("tcp-raw")) {
    members.push({
      name: "TCP relay",
      measure: async () => measureLoad(server, await rawTcpLoad(relays.tcpRelay, "relay")),
    }, {
      name: "TCP envelope relay",
      measure: async () => measureLoad(server, await rawTcpLoad(relays.tcpEnvelopeRelay, "relay")),
    });
  }
  if (runs("ws-raw")) {
    members.push(
      {
        name: "WS LIME",
        measure: async () => measureLoad(server, await rawWsFramesLoad(server.ws)),
      },
      {
        name: "WS relay (own server)",
        measure: async () => measureLoad(server, await rawWsFramesLoad(relays.wsNode, "relay")),
      },
      {
        name: "WS relay (Deno.upgradeWebSocket)",
        measure: async () => measureLoad(server, await rawWsFramesLoad(relays.wsDeno, "relay")),
      },
      {
        name: "WS LIME, Deno WebSocket client",
        measure: async () => measureLoad(server, await rawWsLoad(server.ws)),
      },
    );
  }
  if (members.length === 0) return;
  console.error(
    `routed messages, raw generators, ${ROUNDS} rounds: ${
      members.map((member) => member.name).join(", ")
    }…`,
  );
  const results = await inRounds(server, members);
  const of = (name: string) => results.get(name)!;
  const rounds = `${ROUNDS} round${ROUNDS === 1 ? "" : "s"}`;
  const rateRow = (transport: string, generator: string, name: string, target: boolean) => {
    const list = of(name);
    const rate = median(list.map((result) => result.rate));
    const lost = list.reduce((n, result) => n + result.lost, 0);
    rows.push({
      scenario: "routed messages/s (client → server → client)",
      transport,
      generator,
      figure: `**${spread(list.map((result) => result.rate))}** msg/s (${rounds}; server ${
        cpuPer(list)
      } µs CPU/msg)`,
      target: target ? `≥ ${int(ROUTED_TARGET)}/s` : "—",
      met: target ? (rate >= ROUTED_TARGET ? "yes" : "**no**") : "—",
    });
    if (lost > 0) notes.push(`${transport} ${generator}: ${lost} messages not received`);
    contendedRounds(`${transport} ${generator}`, list);
  };
  const ratioRow = (what: string, over: string, under: string, target?: number) => {
    const r = ratio(of(over), of(under));
    rows.push({
      scenario: what,
      transport: "",
      generator: "",
      figure: `**${r.text}** (median of per-round ratios, min–max)`,
      target: target === undefined ? "—" : `≥ ${target}×`,
      met: target === undefined ? "—" : r.median >= target ? "yes" : "**no**",
    });
  };
  if (tcp) rateRow("TCP", "raw", "TCP LIME", true);
  if (runs("tcp-raw")) {
    rateRow("TCP", "raw, through a bare byte relay (node:net, no LIME)", "TCP relay", false);
    rateRow(
      "TCP",
      "raw, through a bare envelope relay (frame, JSON.parse, set from, JSON.stringify; no LIME)",
      "TCP envelope relay",
      false,
    );
    ratioRow(
      "routed TCP ÷ byte relay (same connections, same bytes)",
      "TCP LIME",
      "TCP relay",
      0.5,
    );
    ratioRow(
      "envelope relay ÷ byte relay (the ceiling of any server that parses envelopes)",
      "TCP envelope relay",
      "TCP relay",
    );
    ratioRow("routed TCP ÷ envelope relay", "TCP LIME", "TCP envelope relay");
  }
  if (runs("ws-raw")) {
    rateRow("WebSocket", "raw (frames written by the generator)", "WS LIME", false);
    rateRow(
      "WebSocket",
      "raw, one Deno WebSocket client send per envelope",
      "WS LIME, Deno WebSocket client",
      false,
    );
    rateRow(
      "WebSocket",
      "raw, through a bare relay on the listener's own WebSocket server",
      "WS relay (own server)",
      false,
    );
    rateRow(
      "WebSocket",
      "raw, through a bare relay on Deno.upgradeWebSocket",
      "WS relay (Deno.upgradeWebSocket)",
      false,
    );
    ratioRow("routed WebSocket ÷ routed TCP", "WS LIME", "TCP LIME", 0.6);
    ratioRow(
      "routed WebSocket ÷ bare relay, same WebSocket server",
      "WS LIME",
      "WS relay (own server)",
    );
    ratioRow(
      "bare WebSocket relay (own server) ÷ routed TCP",
      "WS relay (own server)",
      "TCP LIME",
    );
    ratioRow(
      "bare WebSocket relay (Deno.upgradeWebSocket) ÷ routed TCP",
      "WS relay (Deno.upgradeWebSocket)",
      "TCP LIME",
    );
  }
}

/** Guest establishments (raw) against raw TCP connects, in rounds (`establish-raw`). */
async function compareEstablishments(server: BenchServer): Promise<void> {
  console.error(
    `session establishments: raw vs raw TCP connects vs a scripted login, ${ROUNDS} rounds…`,
  );
  const results = await inRounds(server, [
    { name: "establish", measure: () => measureEstablishments(server, "raw") },
    { name: "connect", measure: () => measureEstablishments(server, "connect") },
    { name: "scripted", measure: () => measureEstablishments(server, "scripted") },
  ]);
  const established = results.get("establish")!;
  const connects = results.get("connect")!;
  const rate = median(established.map((result) => result.rate));
  const failed = established.reduce((n, result) => n + result.failed, 0);
  rows.push({
    scenario: `establish + finish (${int(SESSIONS)} sessions, ${CONCURRENCY} at a time)`,
    transport: "TCP",
    generator: "raw",
    figure: `**${
      spread(established.map((result) => result.rate))
    }** sessions/s (${ROUNDS} rounds; ` +
      `establishment p50 ${
        spread(established.map((result) => result.p50), (n) => n.toFixed(1))
      } ms, ` +
      `p99 ${spread(established.map((result) => result.p99), (n) => n.toFixed(1))} ms; server ${
        cpuPer(established)
      } µs CPU/session${allocatedPer(established, "session")}${
        generatorCpuPer(established, "session")
      }${failed ? `; **${failed} failed**` : ""})`,
    target: "≥ 8,000/s",
    met: rate >= 8_000 ? "yes" : "**no**",
  });
  rows.push({
    scenario: `raw TCP connects (${int(SESSIONS)}, ${CONCURRENCY} at a time; the server hangs up)`,
    transport: "TCP",
    generator: "Deno.connect",
    figure: `**${spread(connects.map((result) => result.rate))}** connects/s (server ${
      cpuPer(connects)
    } µs CPU/connect${allocatedPer(connects, "connect")}${generatorCpuPer(connects, "connect")})`,
    target: "—",
    met: "—",
  });
  const scripted = results.get("scripted")!;
  rows.push({
    scenario:
      `the same login and logout, scripted bytes (no LIME; ${int(SESSIONS)}, ${CONCURRENCY} ` +
      `at a time)`,
    transport: "TCP",
    generator: "raw",
    figure: `**${spread(scripted.map((result) => result.rate))}** sessions/s (server ${
      cpuPer(scripted)
    } µs CPU/session${allocatedPer(scripted, "session")}${generatorCpuPer(scripted, "session")})`,
    target: "—",
    met: "—",
  });
  rows.push({
    scenario: "establishments ÷ scripted login (same conversation, no LIME)",
    transport: "",
    generator: "",
    figure: `**${ratio(established, scripted).text}** (median of per-round ratios, min–max)`,
    target: "—",
    met: "—",
  });
  contendedRounds("establish raw", established);
  const r = ratio(established, connects);
  rows.push({
    scenario: "establishments ÷ raw TCP connects",
    transport: "",
    generator: "",
    figure: `**${r.text}** (median of per-round ratios, min–max)`,
    target: "≥ 0.5×",
    met: r.median >= 0.5 ? "yes" : "**no**",
  });
  for (const result of established) {
    if (result.firstError) notes.push(`establish raw: ${result.firstError}`);
  }
}

// ------------------------------------------------------------------------------------- the run

async function main(): Promise<void> {
  const server = new BenchServer();
  try {
    await server.start();
    const sample = messageText(`raw-r0@${DOMAIN}/load`);
    console.error(
      `bench server pid ${server.pid}: TCP ${server.tcp}, WebSocket ${server.ws}; ` +
        `${PAIRS} pairs, window ${WINDOW}, ${WARMUP_MS / 1000} s warm-up + ${
          DURATION_MS / 1000
        } s measured; messages of ${encoder.encode(sample).length} B` +
        (PROFILE_DIR ? `; profiling the server into ${PROFILE_DIR}` : ""),
    );
    const routed: [ScenarioName, string, string, () => Promise<RoutedResult>][] = [
      [
        "tcp-channel",
        "TCP",
        "ClientChannel",
        async () => measureLoad(server, await channelLoad("tcp", server.tcp)),
      ],
      [
        "tcp-client",
        "TCP",
        "LimeClient (ids, receipts)",
        async () => measureLoad(server, await limeClientLoad(server.tcp)),
      ],
      [
        "ws-channel",
        "WebSocket",
        "ClientChannel",
        async () => measureLoad(server, await channelLoad("ws", server.ws)),
      ],
      ["ws-limejs", "WebSocket", "lime-js 3.0.1 (Node)", () => limeJsLoad(server)],
    ];
    await compareRouted(server);
    if (runs("tcp-raw-defaults")) {
      // The same raw load against a server on its default rate limits: senders faster than the
      // limit are slowed down (shaped), nothing is refused.
      console.error("routed messages: TCP, raw, on the server's default rate limits…");
      const limited = new BenchServer(["--rate-limit=default"]);
      try {
        await limited.start();
        const result = await measureLoad(limited, await rawTcpLoad(limited.tcp));
        const limit = DEFAULT_RATE_LIMITS.envelopesPerSecond;
        const perAddress = DEFAULT_RATE_LIMITS.perAddress.envelopesPerSecond;
        // Every sender is on 127.0.0.1: the per-address bucket is the binding limit.
        const allowed = Math.min(PAIRS * limit, perAddress);
        rows.push({
          scenario: "routed messages/s on the default rate limits",
          transport: "TCP",
          generator: "raw",
          figure: `**${int(result.rate)}** msg/s from ${PAIRS} senders on one address (${
            (result.rate / allowed).toFixed(2)
          }× the ${int(allowed)}/s it may send: ${int(limit)}/s per session, ${
            int(perAddress)
          }/s per address); ${int(result.lost)} refused or lost`,
          target: "0 refused",
          met: result.lost === 0 ? "yes" : "**no**",
        });
      } finally {
        await limited.stop();
      }
    }
    for (const [name, transport, generator, measure] of routed) {
      if (!runs(name)) continue;
      console.error(`routed messages: ${transport}, ${generator}…`);
      try {
        routedRow(transport, generator, await measure(), name === "tcp-channel");
      } catch (error) {
        rows.push({
          scenario: "routed messages/s",
          transport,
          generator,
          figure: `failed: ${(error as Error).message.split("\n")[0]}`,
          target: transport === "TCP" ? `≥ ${int(ROUTED_TARGET)}/s` : "—",
          met: transport === "TCP" ? "**no**" : "—",
        });
      }
      const left = await server.settle();
      if (left > 0) notes.push(`after ${transport} ${generator}: ${left} sessions still open`);
    }
    if (runs("establish-raw")) await compareEstablishments(server);
    for (const generator of ["channel"] as const) {
      if (!runs(`establish-${generator}`)) continue;
      console.error(`session establishments: ${generator}…`);
      const result = await measureEstablishments(server, generator);
      rows.push({
        scenario: `establish + finish (${int(SESSIONS)} sessions, ${CONCURRENCY} at a time)`,
        transport: "TCP",
        generator: "ClientChannel",
        figure: `**${int(result.rate)}** sessions/s (establishment p50 ${
          result.p50.toFixed(1)
        } ms, p99 ${result.p99.toFixed(1)} ms; ${cpuNote(result, "session")}${
          result.failed ? `; **${result.failed} failed**` : ""
        })`,
        target: "—",
        met: "—",
      });
      if (result.firstError) notes.push(`establish ${generator}: ${result.firstError}`);
      contended(`establish ${generator}`, result);
      await server.settle();
    }
    if (runs("memory")) {
      console.error(`${int(IDLE)} idle sessions…`);
      const m = await measureIdleSessions(server);
      const perRss = (m.after.rss - m.before.rss) / Math.max(1, m.sessions);
      const perHeap = (m.after.heapUsed - m.before.heapUsed) / Math.max(1, m.sessions);
      const perExternal = (m.after.external - m.before.external) / Math.max(1, m.sessions);
      const label = `${int(m.sessions)} idle sessions`;
      rows.push({
        scenario: label,
        transport: "TCP",
        generator: "raw",
        figure: `**${mib(m.after.rss)}** server RSS (${mib(m.before.rss)} before)`,
        target: IDLE >= 10_000 ? "10,000 sessions < 1 GiB" : "—",
        met: IDLE >= 10_000
          ? (m.sessions >= 10_000 && m.after.rss < MEMORY_TARGET ? "yes" : "**no**")
          : "—",
      });
      rows.push({
        scenario: `memory per idle session`,
        transport: "TCP",
        generator: "raw",
        figure: `**${kib(perRss)}** RSS, ${kib(perHeap)} V8 heap used, ${
          kib(perExternal)
        } external`,
        target: "—",
        met: "—",
      });
      notes.push(
        `idle sessions: ${int(m.sessions)} established in ${m.openSeconds.toFixed(1)} s` +
          (m.refused
            ? ` (${m.refused} connection attempts dropped by the server and retried` +
              (m.failed ? `, ${m.failed} sessions given up` : "") + ")"
            : "") +
          `; heap used ${mib(m.before.heapUsed)} → ${mib(m.after.heapUsed)} → ${
            mib(m.closed.heapUsed)
          } after closing them all (RSS ${mib(m.closed.rss)}, ${m.closed.sessions} sessions left)` +
          (m.generatorRss ? `; generator RSS ${mib(m.generatorRss)}` : ""),
      );
    }
  } finally {
    await server.stop().catch(noop);
    await killChildren();
  }
  const machine =
    `${Deno.build.os}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
  console.log(
    `\nServer load (${PAIRS} pairs, window ${WINDOW}, ${WARMUP_MS / 1000} s warm-up + ` +
      `${DURATION_MS / 1000} s measured; ${machine}` +
      (IDS ? "; routed messages with an id (--ids)" : "") +
      (NO_ACCOUNT_READS.length
        ? `; EXPERIMENT --no-account-reads: the server's store answered every account read "no ` +
          `account" without reading Deno KV`
        : "") +
      ")\n",
  );
  printTable();
  if (disturbed.length) {
    notes.unshift(
      `measured while other processes took the cores (the machine had < 10% idle time while the ` +
        `server used < 90% of a core), so their rates are lower bounds: ${disturbed.join("; ")}`,
    );
  }
  if (notes.length) console.log("\n" + notes.map((note) => `- ${note}`).join("\n"));
  if (server.stderr.length) {
    console.log(`\nbench server stderr (first ${server.stderr.length} lines):`);
    console.log(server.stderr.slice(0, 20).join("\n"));
  }
}

try {
  await main();
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
  Deno.removeSignalListener("SIGTERM", onInterrupt);
  await killChildren();
}
