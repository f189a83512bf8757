/**
 * Connection churn against a {@link LimeServer} on 127.0.0.1: `--cycles` (default 10,000)
 * connect/establish/drop cycles, `--concurrency` (default 20) at a time, in a mix of
 *
 * - graceful: a `ClientChannel` establishes (guest, TCP, negotiation included), pings the server,
 *   then `finish()`es (`finishing` → `finished`);
 * - abort: a `ClientChannel` establishes, sends a message to itself, then aborts (socket closed
 *   without `finishing`);
 * - raw reset: a bare socket completes the handshake, sends `get /ping` and half an envelope, then
 *   closes without reading the response (unread data: the kernel resets the connection);
 * - mid-handshake: a bare socket sends `new`, reads the negotiation offer, then closes;
 * - silent: a bare socket connects and closes without a byte.
 *
 * Afterwards it waits (bounded) until the server's registry, its channel set and its TCP
 * transports are empty, forces a GC when `--v8-flags=--expose-gc` is given, and prints one JSON
 * line: `{cycles, ms, perSecond, kinds, registry, connections, tcpTransports, heapBefore,
 * heapAfter, rssBefore, rssAfter, gc}` (bytes). The heap baseline is taken after a warm-up of
 * `--warmup` cycles (default 200).
 *
 * `deno task churn [--cycles=10000] [--concurrency=20] [--warmup=200]`
 *
 * {@link churn} and {@link RawLimeClient} are also used by tests/server_faults_test.ts.
 * @module
 */
import { ClientChannel } from "../src/channel/client_channel.ts";
import { Message } from "../src/envelope.ts";
import { KvAccountStore } from "../src/server/account_store.ts";
import { LimeServer } from "../src/server/lime_server.ts";
import type { LimeServerOptions } from "../src/server/server_options.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { numberOption } from "../bench/cli_option.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A wire envelope as plain JSON. */
export type Json = Record<string, unknown>;

/** A bare LIME client on a `Deno.connect` socket: scripted sends, framed receives. */
export class RawLimeClient {
  /** The socket. */
  readonly conn: Deno.TcpConn;
  readonly #framer = new EnvelopeFramer();
  readonly #frames: Json[] = [];
  readonly #buffer = new Uint8Array(16384);
  #ended = false;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to `host:port`. */
  static async connect(address: string): Promise<RawLimeClient> {
    const colon = address.lastIndexOf(":");
    const conn = await Deno.connect({
      hostname: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
    });
    conn.setNoDelay(true);
    return new RawLimeClient(conn);
  }

  /** Writes an envelope (an object is serialized, a string is written as is). */
  async send(envelope: Json | string): Promise<void> {
    const bytes = encoder.encode(
      typeof envelope === "string" ? envelope : JSON.stringify(envelope),
    );
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** The next envelope received, or undefined once the server closed the connection. */
  async next(): Promise<Json | undefined> {
    while (this.#frames.length === 0 && !this.#ended) {
      let n: number | null;
      try {
        n = await this.conn.read(this.#buffer);
      } catch {
        n = null; // reset by the peer, or closed here
      }
      if (n === null) {
        this.#ended = true;
        break;
      }
      this.#framer.push(this.#buffer.subarray(0, n), (frame) => {
        this.#frames.push(JSON.parse(decoder.decode(frame)));
      });
    }
    return this.#frames.shift();
  }

  /**
   * The guest handshake of lime-protocol §4 as `node` (`name@domain/instance`): `new`, choosing
   * `none`/`none` when offered a negotiation, then `guest`. Resolves with the session id; throws
   * on anything else than the expected envelopes.
   */
  async handshake(node: string): Promise<string> {
    await this.send({ state: "new" });
    for (;;) {
      const envelope = await this.next();
      if (!envelope) throw new Error(`${node}: the server closed during the handshake`);
      const id = envelope.id as string;
      switch (envelope.state) {
        case "negotiating":
          if (envelope.compressionOptions || envelope.encryptionOptions) {
            await this.send({ id, state: "negotiating", compression: "none", encryption: "none" });
          }
          break; // else the confirmation: `authenticating` follows
        case "authenticating":
          await this.send({ id, from: node, state: "authenticating", scheme: "guest" });
          break;
        case "established":
          return id;
        default:
          throw new Error(
            `${node}: unexpected envelope in the handshake ${JSON.stringify(envelope)}`,
          );
      }
    }
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** The kinds of cycle, in the order they rotate. */
export const CYCLE_KINDS = [
  "graceful",
  "abort",
  "graceful",
  "raw-reset",
  "mid-handshake",
  "silent",
] as const;

/** A kind of cycle. */
export type CycleKind = typeof CYCLE_KINDS[number];

/** Runs one cycle of `kind` against the TCP listener at `address`; `n` makes the node unique. */
export async function cycle(address: string, kind: CycleKind, n: number): Promise<void> {
  const node = `churn${n}@localhost/c`;
  if (kind === "graceful" || kind === "abort") {
    const transport = new TcpTransport();
    await transport.open(`net.tcp://${address}`);
    const channel = new ClientChannel(transport);
    try {
      await channel.establishSession({ identity: `churn${n}@localhost`, instance: "c" });
      if (kind === "graceful") {
        await channel.getResource("/ping");
        await channel.finish();
        const closed = await channel.closed;
        if (closed.state !== "finished") throw new Error(`${node}: ${JSON.stringify(closed)}`);
      } else {
        await channel.sendMessage(new Message("text/plain", "bye", { to: node }));
        channel.abort();
        await channel.closed;
      }
    } finally {
      await channel.close();
    }
    return;
  }
  const raw = await RawLimeClient.connect(address);
  try {
    if (kind === "raw-reset") {
      await raw.handshake(node);
      await raw.send({ id: `p${n}`, method: "get", uri: "/ping" });
      await raw.send(`{"id":"m${n}","to":"${node}","type":"text/plain","cont`);
    } else if (kind === "mid-handshake") {
      await raw.send({ state: "new" });
      const offer = await raw.next();
      if (offer?.state !== "negotiating") throw new Error(`${node}: ${JSON.stringify(offer)}`);
    }
  } finally {
    raw.close();
  }
}

/** What {@link churn} measured. */
export interface ChurnResult {
  /** Cycles run (warm-up excluded). */
  cycles: number;
  /** Wall time of the cycles, in ms. */
  ms: number;
  /** Cycles per second. */
  perSecond: number;
  /** Cycles of each kind. */
  kinds: Record<string, number>;
  /** Sessions still registered afterwards. */
  registry: number;
  /** Server channels still open afterwards. */
  connections: number;
  /** TCP transports still open on the server afterwards. */
  tcpTransports: number;
  /** V8 heap used before (after the warm-up) and after, in bytes. */
  heapBefore: number;
  heapAfter: number;
  /** Resident set size before and after, in bytes. */
  rssBefore: number;
  rssAfter: number;
  /** Whether a GC was forced before each heap figure. */
  gc: boolean;
}

/** Options of {@link churn}. */
export interface ChurnOptions {
  cycles: number;
  concurrency?: number;
  warmup?: number;
  /** Extra server options. */
  server?: Partial<LimeServerOptions>;
  /** Ms to wait for the server to release everything after the last cycle. Default 5,000. */
  settle?: number;
}

async function runCycles(address: string, from: number, count: number, concurrency: number) {
  const kinds: Record<string, number> = {};
  let next = from;
  const end = from + count;
  const worker = async () => {
    while (next < end) {
      const n = next++;
      const kind = CYCLE_KINDS[n % CYCLE_KINDS.length];
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      await cycle(address, kind, n);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return kinds;
}

async function collect(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/** Waits until `done()` or `ms` passed; returns `done()`. */
async function settle(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return done();
}

/** Starts a server (TCP on 127.0.0.1:0, accounts in memory), churns, shuts it down. */
export async function churn(options: ChurnOptions): Promise<ChurnResult> {
  const concurrency = options.concurrency ?? 20;
  const warmup = options.warmup ?? 200;
  const store = await KvAccountStore.open(":memory:");
  const server = new LimeServer({
    tcp: { hostname: "127.0.0.1", port: 0 },
    websocket: false,
    passwordIterations: 1000,
    ...options.server,
    store,
  });
  try {
    await server.start();
    const address = server.tcpAddress!;
    const empty = () =>
      server.registry.size === 0 && server.connectionCount === 0 &&
      server.tcpTransportCount === 0;
    await runCycles(address, 0, warmup, concurrency);
    await settle(empty, options.settle ?? 5000);
    const gc = await collect();
    const heapBefore = Deno.memoryUsage().heapUsed;
    const rssBefore = Deno.memoryUsage().rss;
    const started = performance.now();
    const kinds = await runCycles(address, warmup, options.cycles, concurrency);
    const ms = performance.now() - started;
    await settle(empty, options.settle ?? 5000);
    await collect();
    return {
      cycles: options.cycles,
      ms: Math.round(ms),
      perSecond: Math.round(options.cycles / (ms / 1000)),
      kinds,
      registry: server.registry.size,
      connections: server.connectionCount,
      tcpTransports: server.tcpTransportCount,
      heapBefore,
      heapAfter: Deno.memoryUsage().heapUsed,
      rssBefore,
      rssAfter: Deno.memoryUsage().rss,
      gc,
    };
  } finally {
    await server.shutdown();
    store.close();
  }
}

const option = (name: string, fallback: number) => numberOption(name, fallback);

if (import.meta.main) {
  const result = await churn({
    cycles: option("cycles", 10_000),
    concurrency: option("concurrency", 20),
    warmup: option("warmup", 200),
  });
  console.log(JSON.stringify(result));
}
