/**
 * The server process of `c100k.ts`: a {@link LimeServer} on 127.0.0.1 (TCP only, port 0) on its
 * defaults (guests, rate limits, per-address caps, remote pings every 30 s), except `maxSessions`
 * (`--max-sessions=N`), since the default global cap (20,000) is below what the tool asks for, and
 * `--ping-interval=MS` for experiments (the idle timeout then twice that, at least 60 s).
 *
 * With `--bare` it is no LIME server but the baseline of the same measurement: a bare `node:net`
 * server that accepts every connection, reads it (nothing is written to it) and holds it, as the
 * LIME server's TCP listener does before any LIME object exists; `sessions` then counts the
 * connections it holds.
 *
 * With `--websocket` the LIME server also listens for WebSocket (`websocket` gives its address).
 *
 * With `--replies-on-stderr` its JSON lines go to stderr (stdout is V8's, for `--trace-gc`, whose
 * lines would cut into them). Prints `{"tcp","websocket","pid","nofile"}` once listening (`nofile`: its open-file soft limit), then answers
 * `stat` with `{"rss","heapUsed","cpuMs","sessions","connections","uptimeMs","stalls"}` (`stalls`:
 * its event loop's stalls over 10 ms since the last `stat`, `[end (uptime ms), ms]`, by a 5 ms timer), quits on `quit`
 * (ending every session), exits at once on `exit`, and writes a V8 heap snapshot on `heap PATH`.
 * @module
 */
import net from "node:net";
import process from "node:process";
import { writeHeapSnapshot } from "node:v8";
import { KvAccountStore } from "../src/server/account_store.ts";
import { LimeServer } from "../src/server/lime_server.ts";
import { linesOf, printLine } from "../bench/server_process.ts";
import { numberOption } from "../bench/cli_option.ts";

const maxSessions = numberOption("max-sessions", 20_000, { min: 1, integer: true });
// `--ping-interval=MS` (experiments: how the remote pings load the collector); the default 30 s.
const pingInterval = numberOption("ping-interval", 30_000, {
  min: 100,
  max: 3_600_000,
  integer: true,
});
/** What the commands below need of the server under measure. */
interface Measured {
  readonly address: string;
  /** The WebSocket listener's `host:port`, when there is one. */
  readonly websocket?: string;
  readonly sessions: number;
  readonly connections: number;
  shutdown(): Promise<void>;
}

async function limeServer(websocket: boolean): Promise<Measured> {
  const store = await KvAccountStore.open(":memory:");
  const listener = { hostname: "127.0.0.1", port: 0 };
  const server = new LimeServer({
    store,
    tcp: listener,
    websocket: websocket ? listener : false,
    http: false,
    maxSessions,
    channel: {
      remotePingInterval: pingInterval,
      remoteIdleTimeout: Math.max(60_000, 2 * pingInterval),
    },
  });
  await server.start();
  return {
    address: server.tcpAddress!,
    websocket: server.websocketAddress,
    get sessions() {
      return server.registry.size;
    },
    get connections() {
      return server.connectionCount;
    },
    async shutdown() {
      await server.shutdown();
      store.close();
    },
  };
}

/** The baseline: idle connections held by bare `node:net`, with what the LIME listener sets. */
async function bareServer(): Promise<Measured> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    get sessions() {
      return sockets.size;
    },
    get connections() {
      return sockets.size;
    },
    async shutdown() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const server = Deno.args.includes("--bare")
  ? await bareServer()
  : await limeServer(Deno.args.includes("--websocket"));

const replies = Deno.args.includes("--replies-on-stderr") ? Deno.stderr : Deno.stdout;
const print = (value: unknown) => printLine(value, replies);

function nofile(): number {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max open files"));
    return Number(line?.split(/\s+/)[3]);
  } catch {
    return NaN;
  }
}

// The event loop's stalls over 10 ms, [end (performance.now()), length (ms)], by a 5 ms timer: a
// message that arrived meanwhile waited in this process.
const stalls: [number, number][] = [];
const TICK_MS = 5;
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - lastTick - TICK_MS > 10) stalls.push([now, now - lastTick - TICK_MS]);
  lastTick = now;
}, TICK_MS);

print({ tcp: server.address, websocket: server.websocket, pid: Deno.pid, nofile: nofile() });

for await (const line of linesOf(Deno.stdin.readable)) {
  const command = line.trim();
  if (command === "stat") {
    const { user, system } = process.cpuUsage();
    const memory = Deno.memoryUsage();
    print({
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      cpuMs: (user + system) / 1000,
      sessions: server.sessions,
      connections: server.connections,
      uptimeMs: performance.now(),
      stalls: stalls.splice(0),
    });
  } else if (command.startsWith("heap ")) {
    // A V8 heap snapshot to the given path (for counting the objects a session holds).
    print({ heap: writeHeapSnapshot(command.slice("heap ".length)) });
  } else if (command === "exit") {
    Deno.exit(0); // at once, without ending the sessions (stdout is flushed)
  } else if (command === "quit") {
    await server.shutdown();
    Deno.exit(0);
  }
}
await server.shutdown();
Deno.exit(0);
