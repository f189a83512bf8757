/**
 * The server side of `server_load.ts`, run in its own process: a {@link LimeServer} on
 * 127.0.0.1 (TCP and WebSocket, ports given or 0), accounts in memory, guests accepted, no rate
 * limit (`rateLimit: 0`), room for 30,000 sessions. With `--redis=URL`: one server of a cluster
 * on that Redis (the Redis engine, accounts in Redis), for `cluster_load.ts`.
 *
 * `deno run -A --v8-flags=--expose-gc bench/server_load_server.ts [--tcp=PORT] [--ws=PORT]
 *  [--redis=URL] [--no-account-reads]`
 *
 * `--no-account-reads` (an experiment, not a mode of `LimeServer`): the store answers every
 * account read "no account" at once instead of reading Deno KV, which prices the store's share of
 * a guest login (`bench:server --no-account-reads`).
 *
 * Next to it, the baselines of `relays.ts` (byte relays, accept-and-hang-up) in the same process.
 *
 * Once listening it prints one JSON line `{"tcp":"host:port","ws":"host:port","pid":N,"gc":bool,
 * "tcpRelay","tcpAccept","wsDeno","wsNode"}` (the baselines' addresses),
 * then answers commands read on stdin, one per line, with one JSON line each:
 *
 * - `mem`: runs the garbage collector (when started with `--expose-gc`) and prints
 *   `{"rss","heapTotal","heapUsed","external","sessions","cpuMs"}` (bytes; `sessions` is the
 *   number of established sessions in the registry; `cpuMs` this process's user + system CPU
 *   time);
 * - `cpu`: prints `{"cpuMs","sessions","idle","total"}` without collecting garbage: `idle` and
 *   `total` are the whole machine's idle (with iowait) and total jiffies from `/proc/stat`, all
 *   cores (absent where it cannot be read), so that the load generator needs no access to /proc;
 * - `quit` (or the end of stdin): shuts the server down, prints `{"bye":true}` and exits 0, so
 *   that `--cpu-prof` can write its profile.
 * @module
 */
import process from "node:process";
import v8 from "node:v8";
import { type AccountStore, KvAccountStore } from "../src/server/account_store.ts";
import { LimeServer } from "../src/server/lime_server.ts";
import type { ClusterEngine } from "../src/cluster/engine.ts";
import { startRelays } from "./relays.ts";
import { linesOf, printLine } from "./server_process.ts";
import { numberOption } from "./cli_option.ts";

const option = (name: string, fallback: number) => numberOption(name, fallback);

const redis = Deno.args.find((a) => a.startsWith("--redis="))?.slice("--redis=".length);
let store: AccountStore;
let engine: ClusterEngine | undefined;
if (redis) {
  const { RedisEngine } = await import("../src/cluster/redis_engine.ts");
  const { RedisAccountStore } = await import("../src/cluster/redis_account_store.ts");
  store = await RedisAccountStore.open(redis, "lime:localhost:");
  engine = new RedisEngine({ url: redis });
} else {
  store = await KvAccountStore.open(":memory:");
  if (Deno.args.includes("--no-account-reads")) {
    Object.defineProperty(store, "getAccount", {
      value: (_identity: string) => Promise.resolve(undefined),
    });
  }
}
const server = new LimeServer({
  store,
  ...(engine ? { engine } : {}),
  tcp: { hostname: "127.0.0.1", port: option("tcp", 0) },
  websocket: { hostname: "127.0.0.1", port: option("ws", 0) },
  // No rate limit (the benchmark measures the server), unless the server's defaults are asked for.
  ...(Deno.args.includes("--rate-limit=default") ? {} : { rateLimit: 0 }),
  maxSessions: 30_000,
  // Every client is on 127.0.0.1: the per-address caps would count them as one peer.
  maxSessionsPerAddress: 0,
  maxEstablishingPerAddress: 0,
  passwordIterations: 1_000,
});
await server.start();
// The baselines of server_load.ts (byte relays, accept-and-hang-up), in this same process.
const relays = await startRelays();

const print = (value: unknown) => printLine(value);

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The machine's idle (with iowait) and total jiffies, all cores; empty when unreadable. */
function machineTicks(): { idle?: number; total?: number } {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n", 1)[0];
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (ticks.length < 8 || ticks.some(Number.isNaN)) return {};
    return { idle: ticks[3] + ticks[4], total: ticks.reduce((a, b) => a + b, 0) };
  } catch {
    return {};
  }
}

/** The bytes V8 has allocated in this process so far, where the runtime reports it. */
function allocated(): { allocated?: number } {
  const { total_allocated_bytes: bytes } = v8.getHeapStatistics() as {
    total_allocated_bytes?: number;
  };
  return typeof bytes === "number" ? { allocated: bytes } : {};
}

// deno-lint-ignore no-explicit-any
const gc = (globalThis as any).gc as (() => void) | undefined;

print({
  tcp: server.tcpAddress,
  ws: server.websocketAddress,
  pid: Deno.pid,
  gc: !!gc,
  tcpRelay: relays.tcpRelay,
  tcpEnvelopeRelay: relays.tcpEnvelopeRelay,
  tcpAccept: relays.tcpAccept,
  tcpScripted: relays.tcpScripted,
  wsDeno: relays.wsDeno,
  wsNode: relays.wsNode,
});

let stopping = false;
async function quit(): Promise<never> {
  if (!stopping) {
    stopping = true;
    await server.shutdown();
    await relays.close();
    store.close();
    print({ bye: true });
  }
  Deno.exit(0);
}

for await (const line of linesOf(Deno.stdin.readable)) {
  const command = line.trim();
  if (command === "mem") {
    if (gc) {
      gc();
      // A second pass collects what the first one's finalizers released.
      await new Promise((resolve) => setTimeout(resolve, 50));
      gc();
    }
    const memory = Deno.memoryUsage();
    print({ ...memory, sessions: server.registry.size, cpuMs: cpuMs() });
  } else if (command === "cpu") {
    print({ cpuMs: cpuMs(), sessions: server.registry.size, ...allocated(), ...machineTicks() });
  } else if (command === "quit") {
    await quit();
  } else if (command !== "") {
    print({ error: `unknown command ${JSON.stringify(command)}` });
  }
}
await quit();
