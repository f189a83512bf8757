/**
 * Routed-message load with verification: `--clients` (default 1,000) `ClientChannel`s, each
 * established as a guest on a {@link LimeServer} in its own process (`bench/server_load_server.ts`:
 * loopback, accounts in memory, the default rate limits unless `--rate-limit=off`), send `--messages` (default 1,000,000) messages in
 * total around a ring (client i → client i+1). Every message has an id (`<sender>.<seq>`) and its
 * send time in `metadata.sentAt`; every receiver answers with a `received` notification
 * (`autoNotifyReceipt: true`), which the server routes back to the sender. Each client keeps at
 * most `--window` (default 8) messages without a receipt in flight.
 *
 * {@link LoadLedger} checks every envelope: each sent id must reach its addressee exactly once
 * (from its ring predecessor, addressed to it, with the content intact) and the sender must get
 * exactly one `received` for it, from the addressee. It reports lost, duplicated and misaddressed
 * messages, missing, duplicated and unmatched receipts, `failed` notifications and channel errors,
 * plus messages/s (receipted messages from the first send to the last receipt; the server routes
 * two envelopes per message), delivery latency (send → receive) and receipt latency (send → its
 * `received`) percentiles. The server's RSS comes from `/proc/<pid>/status` (peak `VmHWM`, read
 * with `cat`) and from the server itself after a GC (idle before, loaded after).
 *
 * `deno task load [--messages=1000000] [--clients=1000] [--transport=tcp|ws|both] [--window=8]
 *  [--rate-limit=default|off] [--profile[=DIR]]`
 *
 * `--rate-limit`: the server's default rate limits (default; a sender over them is slowed down,
 * nothing is refused: any `failed` notification fails the run) or none.
 *
 * `--profile`: the server runs under `deno run --cpu-prof` and writes its profile into DIR
 * (default `.tmp/load-profile/`) when it quits.
 *
 * Prints progress on stderr, then a markdown table (one row per transport) and one `LOAD: …` line
 * with the figures. Exit code 1 when any check failed. A fresh server process per transport; every
 * child process is stopped at the end, also on failure and on Ctrl-C/SIGTERM.
 *
 * {@link runLoad} (against any server address) and {@link LoadLedger} are also used by
 * tests/load_test.ts.
 * @module
 */
import process from "node:process";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { Message, type Notification } from "../src/envelope.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import type { Transport } from "../src/transport/transport.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { killChildren, ServerProcess } from "../bench/server_process.ts";

/** ~100 characters of chat text: envelopes of ~230 B to the server. */
export const LOAD_CONTENT =
  "Your order #48213 has shipped and should arrive tomorrow between 9 and 12. Thanks!";

const noop = () => {};
const now = () => performance.timeOrigin + performance.now();

// ------------------------------------------------------------------------------------ ledger

/** Latency percentiles, ms. */
export interface Latency {
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Largest. */
  max: number;
}

/** What a {@link LoadLedger} counted. */
export interface LedgerSummary {
  /** Messages the plan asked for. */
  planned: number;
  /** Messages sent. */
  sent: number;
  /** Sent messages received by their addressee (once each). */
  delivered: number;
  /** Sent messages never received by their addressee. */
  lost: number;
  /** Extra receptions of a message already received. */
  duplicated: number;
  /** Received messages with an unknown id, or the wrong `from`, `to` or content. */
  misaddressed: number;
  /** Sent messages whose sender got their `received` (once each, from the addressee). */
  receipts: number;
  /** Sent messages whose sender never got their `received`. */
  receiptsMissing: number;
  /** Extra `received` notifications for a message already receipted. */
  receiptsDuplicated: number;
  /** `received` notifications matching no sent message of that sender, or from someone else. */
  receiptsUnmatched: number;
  /** `failed` notifications (the server could not route a message). */
  failed: number;
  /** Notifications of another event (none are expected). */
  otherNotifications: number;
}

/**
 * The bookkeeping of a ring load: client `i` (node `nodes[i]`) sends `counts[i]` messages with ids
 * `i.0`, `i.1`, … to client `(i + 1) % n`, which must receive each exactly once and answer each
 * with one `received` that reaches client `i`.
 */
export class LoadLedger {
  readonly nodes: readonly string[];
  readonly counts: readonly number[];
  readonly planned: number;
  readonly #sentAt: Float64Array[];
  readonly #deliveries: Uint8Array[];
  readonly #receipts: Uint8Array[];
  readonly #deliveryLatency: Float64Array;
  readonly #receiptLatency: Float64Array;
  sent = 0;
  delivered = 0;
  duplicated = 0;
  misaddressed = 0;
  receipts = 0;
  receiptsDuplicated = 0;
  receiptsUnmatched = 0;
  failed = 0;
  otherNotifications = 0;
  /** The first problems seen (at most 10), for the report. */
  readonly problems: string[] = [];

  constructor(nodes: readonly string[], counts: readonly number[]) {
    if (nodes.length !== counts.length || nodes.length < 2) {
      throw new RangeError("a ring needs at least 2 nodes and one count per node");
    }
    this.nodes = nodes;
    this.counts = counts;
    this.planned = counts.reduce((a, b) => a + b, 0);
    this.#sentAt = counts.map((count) => new Float64Array(count).fill(NaN));
    this.#deliveries = counts.map((count) => new Uint8Array(count));
    this.#receipts = counts.map((count) => new Uint8Array(count));
    this.#deliveryLatency = new Float64Array(this.planned);
    this.#receiptLatency = new Float64Array(this.planned);
  }

  /** The addressee of client `sender`. */
  next(sender: number): number {
    return (sender + 1) % this.nodes.length;
  }

  /** The message client `sender` sends as its `seq`-th (and records it as sent at `at`). */
  message(sender: number, seq: number, at = now()): Message<string> {
    if (!Number.isNaN(this.#sentAt[sender][seq])) {
      throw new RangeError(`message ${sender}.${seq} was already sent`);
    }
    this.#sentAt[sender][seq] = at;
    this.sent++;
    return new Message("text/plain", LOAD_CONTENT, {
      id: `${sender}.${seq}`,
      to: this.nodes[this.next(sender)],
      metadata: { sentAt: at.toFixed(3) },
    });
  }

  #problem(text: string): void {
    if (this.problems.length < 10) this.problems.push(text);
  }

  /** Parses `<sender>.<seq>` of a sent message; undefined when it names none. */
  #parse(id: string | undefined): [number, number] | undefined {
    if (!id) return undefined;
    const dot = id.indexOf(".");
    if (dot <= 0) return undefined;
    const sender = Number(id.slice(0, dot));
    const seq = Number(id.slice(dot + 1));
    if (!Number.isInteger(sender) || !Number.isInteger(seq)) return undefined;
    if (sender < 0 || sender >= this.nodes.length || seq < 0 || seq >= this.counts[sender]) {
      return undefined;
    }
    if (Number.isNaN(this.#sentAt[sender][seq])) return undefined; // never sent
    return [sender, seq];
  }

  /** Records a message received by client `receiver` at `at`. */
  received(receiver: number, message: Message, at = now()): void {
    const parsed = this.#parse(message.id);
    if (!parsed) {
      this.misaddressed++;
      this.#problem(`client ${receiver} received an unknown message id ${message.id}`);
      return;
    }
    const [sender, seq] = parsed;
    if (
      this.next(sender) !== receiver || message.from !== this.nodes[sender] ||
      message.to !== this.nodes[receiver] || message.content !== LOAD_CONTENT
    ) {
      this.misaddressed++;
      this.#problem(
        `client ${receiver} received ${message.id} from ${message.from} to ${message.to}`,
      );
      return;
    }
    const deliveries = this.#deliveries[sender];
    if (deliveries[seq]++ === 0) {
      const sentAt = Number(message.metadata?.sentAt);
      this.#deliveryLatency[this.delivered++] = at - sentAt;
    } else {
      deliveries[seq] = Math.min(deliveries[seq], 2);
      this.duplicated++;
      this.#problem(`client ${receiver} received ${message.id} again`);
    }
  }

  /**
   * Records a notification received by client `sender` at `at`; true when it is the first
   * `received` of one of its messages (one slot of its window is free again).
   */
  notified(sender: number, notification: Notification, at = now()): boolean {
    if (notification.event !== "received") {
      if (notification.event === "failed") this.failed++;
      else this.otherNotifications++;
      this.#problem(
        `client ${sender} got ${notification.event} for ${notification.id}` +
          (notification.reason ? ` (${JSON.stringify(notification.reason)})` : ""),
      );
      return false;
    }
    const parsed = this.#parse(notification.id);
    if (
      !parsed || parsed[0] !== sender || notification.from !== this.nodes[this.next(sender)]
    ) {
      this.receiptsUnmatched++;
      this.#problem(
        `client ${sender} got an unmatched received for ${notification.id} from ${notification.from}`,
      );
      return false;
    }
    const seq = parsed[1];
    const receipts = this.#receipts[sender];
    if (receipts[seq]++ === 0) {
      this.#receiptLatency[this.receipts++] = at - this.#sentAt[sender][seq];
      return true;
    }
    receipts[seq] = Math.min(receipts[seq], 2);
    this.receiptsDuplicated++;
    this.#problem(`client ${sender} got received for ${notification.id} again`);
    return false;
  }

  /** Every count. */
  summary(): LedgerSummary {
    return {
      planned: this.planned,
      sent: this.sent,
      delivered: this.delivered,
      lost: this.sent - this.delivered,
      duplicated: this.duplicated,
      misaddressed: this.misaddressed,
      receipts: this.receipts,
      receiptsMissing: this.sent - this.receipts,
      receiptsDuplicated: this.receiptsDuplicated,
      receiptsUnmatched: this.receiptsUnmatched,
      failed: this.failed,
      otherNotifications: this.otherNotifications,
    };
  }

  /** Delivery latency (send → reception by the addressee) of the messages delivered so far. */
  deliveryLatency(): Latency {
    return percentiles(this.#deliveryLatency.subarray(0, this.delivered));
  }

  /** Receipt latency (send → its `received` at the sender) of the messages receipted so far. */
  receiptLatency(): Latency {
    return percentiles(this.#receiptLatency.subarray(0, this.receipts));
  }
}

function percentiles(values: Float64Array): Latency {
  if (values.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = values.slice().sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

// ------------------------------------------------------------------------------------ runner

/** The transports a load can use. */
export type LoadTransport = "tcp" | "ws";

/** What {@link runLoad} does. */
export interface LoadOptions {
  /** The server's TCP (`host:port`) or WebSocket (`host:port`) address. */
  address: string;
  /** How the clients connect. */
  transport: LoadTransport;
  /** Number of clients in the ring (≥ 2). */
  clients: number;
  /** Messages in total (spread evenly over the clients). */
  messages: number;
  /** Messages without a receipt in flight per client (default 8). */
  window?: number;
  /** The server's domain (default `localhost`). */
  domain?: string;
  /** Establishments at a time (default 50). */
  establishConcurrency?: number;
  /** Gives up when no receipt arrives for this long, ms (default 30,000). */
  stallTimeout?: number;
  /** Waits this long after the last receipt for late duplicates, ms (default 500). */
  settle?: number;
  /** Prefix of the client identities (default `load`): `<prefix><i>@<domain>/load`. */
  prefix?: string;
  /** Called about every second while sending, with the receipts so far. */
  onProgress?: (receipts: number, planned: number) => void;
  /** Awaited once every client is established, right before the first send. */
  beforeSend?: () => Promise<void> | void;
  /** Awaited once the last receipt arrived (or the load stalled), before the settle time. */
  afterSend?: () => Promise<void> | void;
}

/** What {@link runLoad} measured. */
export interface LoadResult extends LedgerSummary {
  transport: LoadTransport;
  clients: number;
  window: number;
  /** Seconds to establish every client. */
  establishSeconds: number;
  /** Seconds from the first send to the last receipt (or to the stall). */
  seconds: number;
  /** Receipted messages per second over `seconds`. */
  rate: number;
  /** Send → reception by the addressee. */
  delivery: Latency;
  /** Send → its `received` back at the sender. */
  receipt: Latency;
  /** Sends that were refused (by the channel) plus channels that closed during the load. */
  errors: number;
  /** Whether the load stopped because no receipt came for `stallTimeout`. */
  stalled: boolean;
  /** Whether every check passed: all sent, nothing lost, duplicated, misaddressed or unmatched. */
  ok: boolean;
  /** The first problems seen. */
  problems: string[];
}

async function connect(transport: LoadTransport, address: string): Promise<Transport> {
  if (transport === "tcp") {
    const tcp = new TcpTransport();
    await tcp.open(`net.tcp://${address}`);
    return tcp;
  }
  const ws = new WebSocketTransport();
  await ws.open(`ws://${address}/`);
  return ws;
}

/** Runs `work` over `items`, `concurrency` at a time; rejects with the first failure. */
async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== undefined) throw failure;
}

/**
 * Establishes `clients` guest `ClientChannel`s (with `autoNotifyReceipt`) on the server at
 * `address`, runs the ring load, then finishes and closes every channel (also on failure).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const clients = options.clients;
  const window = options.window ?? 8;
  const domain = options.domain ?? "localhost";
  const prefix = options.prefix ?? "load";
  const stallTimeout = options.stallTimeout ?? 30_000;
  if (!(clients >= 2) || !(options.messages >= 0) || !(window >= 1)) {
    throw new RangeError("runLoad needs clients ≥ 2, messages ≥ 0 and window ≥ 1");
  }
  const counts = Array.from(
    { length: clients },
    (_, i) => Math.floor(options.messages / clients) + (i < options.messages % clients ? 1 : 0),
  );
  const channels: (ClientChannel | undefined)[] = new Array(clients);
  let stopping = false;
  let errors = 0;
  const problems: string[] = [];
  const problem = (text: string) => {
    errors++;
    if (problems.length < 10) problems.push(text);
  };
  try {
    const established = performance.now();
    await pool(counts, options.establishConcurrency ?? 50, async (_, i) => {
      const transport = await connect(options.transport, options.address);
      const channel = new ClientChannel(transport, { autoNotifyReceipt: true });
      channels[i] = channel;
      await channel.establishSession({
        identity: `${prefix}${i}@${domain}`,
        instance: "load",
        compression: "none",
        encryption: "none",
      });
      channel.closed.then((info) => {
        if (!stopping) problem(`client ${i} closed: ${info.state} ${info.error?.message ?? ""}`);
      });
    });
    const establishSeconds = (performance.now() - established) / 1000;
    const nodes = channels.map((channel) => channel!.localNode!);
    const ledger = new LoadLedger(nodes, counts);

    const nextSeq = new Uint32Array(clients);
    const inFlight = new Uint32Array(clients);
    const pump = (i: number) => {
      const channel = channels[i]!;
      const count = counts[i];
      while (inFlight[i] < window && nextSeq[i] < count) {
        const seq = nextSeq[i]++;
        inFlight[i]++;
        channel.sendMessage(ledger.message(i, seq)).catch((error: Error) => {
          if (!stopping) problem(`client ${i} could not send ${i}.${seq}: ${error.message}`);
        });
      }
    };
    let finish: () => void = noop;
    const done = new Promise<void>((resolve) => finish = resolve);
    let lastReceiptAt = 0;
    for (let i = 0; i < clients; i++) {
      const channel = channels[i]!;
      channel.onMessage((message) => ledger.received(i, message));
      channel.onNotification((notification) => {
        if (!ledger.notified(i, notification)) return;
        inFlight[i]--;
        pump(i);
        if (ledger.receipts === ledger.planned) {
          lastReceiptAt = performance.now();
          finish();
        }
      });
    }

    await options.beforeSend?.();
    const started = performance.now();
    lastReceiptAt = started;
    let stalled = false;
    let seen = -1;
    let seenAt = started;
    const watch = setInterval(() => {
      options.onProgress?.(ledger.receipts, ledger.planned);
      if (ledger.receipts !== seen) {
        seen = ledger.receipts;
        seenAt = performance.now();
      } else if (performance.now() - seenAt > stallTimeout) {
        stalled = true;
        lastReceiptAt = performance.now();
        finish();
      }
    }, Math.min(1000, stallTimeout / 4));
    try {
      if (ledger.planned === 0) finish();
      for (let i = 0; i < clients; i++) pump(i);
      await done;
    } finally {
      clearInterval(watch);
    }
    await options.afterSend?.();
    const seconds = (lastReceiptAt - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, options.settle ?? 500));
    const summary = ledger.summary();
    problems.push(...ledger.problems.slice(0, 10 - Math.min(10, problems.length)));
    const ok = !stalled && errors === 0 && summary.sent === summary.planned &&
      summary.lost === 0 && summary.duplicated === 0 && summary.misaddressed === 0 &&
      summary.receiptsMissing === 0 && summary.receiptsDuplicated === 0 &&
      summary.receiptsUnmatched === 0 && summary.failed === 0 &&
      summary.otherNotifications === 0;
    return {
      ...summary,
      transport: options.transport,
      clients,
      window,
      establishSeconds,
      seconds,
      rate: seconds > 0 ? summary.receipts / seconds : 0,
      delivery: ledger.deliveryLatency(),
      receipt: ledger.receiptLatency(),
      errors,
      stalled,
      ok,
      problems,
    };
  } finally {
    stopping = true;
    await Promise.all(channels.map(async (channel) => {
      if (!channel) return;
      try {
        if (channel.isEstablished) await channel.finish({ timeout: 5_000 });
      } catch { /* closed below */ }
      await channel.close().catch(noop);
    }));
  }
}

// -------------------------------------------------------------------------------- formatting

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** The server's memory and CPU around one run (absent when measured in-process). */
export interface ServerFigures {
  /** RSS after a GC once listening, bytes. */
  idleRss: number;
  /** RSS after a GC right after the last receipt (every client still connected), bytes. */
  loadedRss: number;
  /** Peak RSS of the server process (`VmHWM`), bytes; NaN when /proc cannot be read. */
  peakRss: number;
  /** The server's CPU use while sending, % of one core. */
  serverCpu: number;
  /** This process's CPU use while sending, % of one core. */
  generatorCpu: number;
}

/** One row of the report. */
export interface LoadRow {
  result: LoadResult;
  server?: ServerFigures;
}

/** The markdown table, one row per run. */
export function formatTable(rows: readonly LoadRow[]): string {
  const lines = [
    "| transport | clients | messages | msg/s | delivery p50 / p99 | receipt p50 / p99 | lost | duplicated | receipts matched | server RSS (idle → loaded, peak) | CPU server / generator |",
    "|---|---:|---:|---:|---|---|---:|---:|---|---|---|",
  ];
  for (const { result: r, server: s } of rows) {
    lines.push(
      `| ${r.transport === "tcp" ? "TCP" : "WebSocket"} | ${int(r.clients)} | ${int(r.sent)} | ` +
        `**${int(r.rate)}** | ${ms(r.delivery.p50)} / ${ms(r.delivery.p99)} ms | ` +
        `${ms(r.receipt.p50)} / ${ms(r.receipt.p99)} ms | ${int(r.lost)} | ${
          int(r.duplicated)
        } | ` +
        `${int(r.receipts)} / ${int(r.sent)}` +
        (r.receiptsUnmatched + r.receiptsDuplicated
          ? ` (${r.receiptsUnmatched} unmatched, ${r.receiptsDuplicated} duplicated)`
          : "") +
        ` | ${
          s
            ? `${mib(s.idleRss)} → ${mib(s.loadedRss)}, peak ${
              Number.isNaN(s.peakRss) ? "?" : mib(s.peakRss)
            }`
            : "—"
        } | ${s ? `${s.serverCpu.toFixed(0)}% / ${s.generatorCpu.toFixed(0)}%` : "—"} |`,
    );
  }
  return lines.join("\n");
}

/** The one-line summary: `LOAD: tcp … ; ws …`. */
export function formatLoadLine(rows: readonly LoadRow[]): string {
  return "LOAD: " +
    rows.map(({ result: r, server: s }) =>
      `${r.transport} ${r.ok ? "ok" : "FAILED"} clients=${r.clients} window=${r.window} ` +
      `messages=${r.sent}/${r.planned} seconds=${r.seconds.toFixed(1)} msg/s=${
        Math.round(r.rate)
      } ` +
      `delivery_p50=${ms(r.delivery.p50)}ms delivery_p99=${ms(r.delivery.p99)}ms ` +
      `receipt_p50=${ms(r.receipt.p50)}ms receipt_p99=${ms(r.receipt.p99)}ms ` +
      `lost=${r.lost} duplicated=${r.duplicated} misaddressed=${r.misaddressed} ` +
      `receipts=${r.receipts} receipts_unmatched=${r.receiptsUnmatched} ` +
      `receipts_duplicated=${r.receiptsDuplicated} failed=${r.failed} errors=${r.errors}` +
      (s
        ? ` server_rss_idle=${mib(s.idleRss)} server_rss_loaded=${mib(s.loadedRss)} ` +
          `server_rss_peak=${Number.isNaN(s.peakRss) ? "?" : mib(s.peakRss)} ` +
          `server_cpu=${s.serverCpu.toFixed(0)}% generator_cpu=${s.generatorCpu.toFixed(0)}%`
        : "")
    ).join(" ; ");
}

// ------------------------------------------------------------------- the server process (CLI)

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** One transport against a fresh server process. */
async function runAgainstServerProcess(
  transport: LoadTransport,
  clients: number,
  messages: number,
  window: number,
  profileDir?: string,
  rateLimits: "default" | "off" = "default",
): Promise<LoadRow> {
  const server = new ServerProcess(
    profileDir,
    rateLimits === "default" ? ["--rate-limit=default"] : [],
  );
  try {
    await server.start();
    const numbers = async (command: "mem" | "cpu") =>
      await server.request(command) as Record<string, number>;
    const idle = await numbers("mem");
    let cpu0 = { server: 0, generator: 0, at: 0 };
    let cpu1 = cpu0;
    let loadedRss = NaN;
    const sample = async () => ({
      server: (await numbers("cpu")).cpuMs,
      generator: ownCpuMs(),
      at: performance.now(),
    });
    const label = transport === "tcp" ? "TCP" : "WebSocket";
    console.error(`${label}: establishing ${int(clients)} clients…`);
    let lastPrint = 0;
    const result = await runLoad({
      address: transport === "tcp" ? server.tcp : server.ws,
      transport,
      clients,
      messages,
      window,
      onProgress: (receipts, planned) => {
        const t = performance.now();
        if (t - lastPrint < 5_000) return;
        lastPrint = t;
        console.error(`${label}: ${int(receipts)} / ${int(planned)} receipts`);
      },
      beforeSend: async () => {
        console.error(`${label}: sending ${int(messages)} messages, window ${window}…`);
        lastPrint = performance.now();
        cpu0 = await sample();
      },
      afterSend: async () => {
        cpu1 = await sample();
        loadedRss = (await numbers("mem")).rss;
      },
    });
    const elapsed = cpu1.at - cpu0.at;
    return {
      result,
      server: {
        idleRss: idle.rss,
        loadedRss,
        peakRss: await server.peakRss(),
        serverCpu: (cpu1.server - cpu0.server) * 100 / elapsed,
        generatorCpu: (cpu1.generator - cpu0.generator) * 100 / elapsed,
      },
    };
  } finally {
    await server.stop().catch(noop);
    if (server.stderr.length) {
      console.error(`server stderr (first lines):\n${server.stderr.slice(0, 20).join("\n")}`);
    }
  }
}

async function main(): Promise<number> {
  const option = (name: string, fallback: string) =>
    Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const messages = Number(option("messages", "1000000"));
  const clients = Number(option("clients", "1000"));
  const window = Number(option("window", "8"));
  const which = option("transport", "both");
  const rateLimits = option("rate-limit", "default");
  if (rateLimits !== "default" && rateLimits !== "off") {
    throw new TypeError(`--rate-limit must be default or off (not "${rateLimits}")`);
  }
  const profile = Deno.args.find((a) => a === "--profile" || a.startsWith("--profile="));
  const profileDir = profile === undefined
    ? undefined
    : profile.includes("=")
    ? profile.slice("--profile=".length)
    : new URL("../.tmp/load-profile/", import.meta.url).pathname;
  if (!["tcp", "ws", "both"].includes(which)) {
    throw new TypeError(`--transport must be tcp, ws or both (not "${which}")`);
  }
  const transports: LoadTransport[] = which === "both" ? ["tcp", "ws"] : [which as LoadTransport];
  const rows: LoadRow[] = [];
  const begun = performance.now();
  for (const transport of transports) {
    rows.push(
      await runAgainstServerProcess(transport, clients, messages, window, profileDir, rateLimits),
    );
  }
  const machine =
    `${Deno.build.os}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
  console.log(
    `\nRouted-message load: ${int(clients)} clients in a ring (i → i+1), ${int(messages)} ` +
      `messages with ids per transport, each answered by a \`received\` notification; window ` +
      `${window} unreceipted messages per client; server in its own process on ${
        rateLimits === "default"
          ? "its default rate limits (shaping, nothing refused)"
          : "no rate limit"
      }, clients in one ` +
      `(${machine}; ${((performance.now() - begun) / 1000).toFixed(0)} s in all)\n`,
  );
  console.log(formatTable(rows));
  for (const { result } of rows) {
    const extra = [
      result.stalled ? "stalled" : "",
      result.misaddressed ? `${result.misaddressed} misaddressed` : "",
      result.failed ? `${result.failed} failed notifications` : "",
      result.otherNotifications ? `${result.otherNotifications} other notifications` : "",
      result.errors ? `${result.errors} errors` : "",
    ].filter(Boolean);
    console.log(
      `\n- ${result.transport}: established in ${result.establishSeconds.toFixed(1)} s, ` +
        `${int(result.receipts)} receipted in ${result.seconds.toFixed(1)} s; delivery max ` +
        `${ms(result.delivery.max)} ms, receipt max ${ms(result.receipt.max)} ms` +
        (extra.length ? `; ${extra.join(", ")}` : "") +
        (result.problems.length ? `\n  - ${result.problems.join("\n  - ")}` : ""),
    );
  }
  console.log("\n" + formatLoadLine(rows));
  return rows.every((row) => row.result.ok) ? 0 : 1;
}

if (import.meta.main) {
  const onInterrupt = () => {
    console.error("\ninterrupted: stopping the server process");
    killChildren().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onInterrupt);
  let code = 1;
  try {
    code = await main();
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onInterrupt);
    await killChildren();
  }
  Deno.exit(code);
}
