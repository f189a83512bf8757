/**
 * The server process of `c100k.ts`: a {@link LimeServer} on 127.0.0.1 (TCP only, port 0) on its
 * defaults (guests, rate limits, per-address caps, remote pings every 30 s), except `maxSessions`
 * (`--max-sessions=N`), since the default global cap (20,000) is below what the tool asks for, and
 * `--ping-interval=MS` for experiments (the idle timeout then twice that, at least 60 s).
 *
 * With `--replies-on-stderr` its JSON lines go to stderr (stdout is V8's, for `--trace-gc`, whose
 * lines would cut into them). Prints `{"tcp","pid","nofile"}` once listening (`nofile`: its open-file soft limit), then answers
 * `stat` with `{"rss","heapUsed","cpuMs","sessions","connections","uptimeMs"}`, quits on `quit`
 * (ending every session), exits at once on `exit`, and writes a V8 heap snapshot on `heap PATH`.
 * @module
 */
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
const store = await KvAccountStore.open(":memory:");
const server = new LimeServer({
  store,
  tcp: { hostname: "127.0.0.1", port: 0 },
  websocket: false,
  http: false,
  maxSessions,
  channel: {
    remotePingInterval: pingInterval,
    remoteIdleTimeout: Math.max(60_000, 2 * pingInterval),
  },
});
await server.start();

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

print({ tcp: server.tcpAddress, pid: Deno.pid, nofile: nofile() });

for await (const line of linesOf(Deno.stdin.readable)) {
  const command = line.trim();
  if (command === "stat") {
    const { user, system } = process.cpuUsage();
    const memory = Deno.memoryUsage();
    print({
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      cpuMs: (user + system) / 1000,
      sessions: server.registry.size,
      connections: server.connectionCount,
      uptimeMs: performance.now(),
    });
  } else if (command.startsWith("heap ")) {
    // A V8 heap snapshot to the given path (for counting the objects a session holds).
    print({ heap: writeHeapSnapshot(command.slice("heap ".length)) });
  } else if (command === "exit") {
    Deno.exit(0); // at once, without ending the sessions (stdout is flushed)
  } else if (command === "quit") {
    await server.shutdown();
    store.close();
    Deno.exit(0);
  }
}
await server.shutdown();
store.close();
Deno.exit(0);
