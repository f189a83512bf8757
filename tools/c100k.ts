/**
 * `deno task c100k`: how many concurrently established idle sessions one server process holds,
 * and what they cost. A {@link LimeServer} runs in its own process (`c100k_server.ts`, its
 * defaults but for the global session cap); client processes (`c100k_client.ts`) open the
 * sessions, each from its own loopback source addresses (127.0.0.2 and up: the server's
 * per-address caps, 1,000 sessions and 32 establishing, stay on, and the ephemeral ports are
 * spread), and keep them, answering the server's remote pings. Measured:
 *
 * - sessions established (and how many failed, with the first reason), and the rate;
 * - the server's RSS and V8 heap before and with all of them (per session), and, as their
 *   baseline in the same run, those of a bare `node:net` server (`c100k_server.ts --bare`) holding
 *   as many idle connections from the same clients (`--no-baseline` skips it);
 * - the server's CPU while they all sit idle for `--duration` seconds (default 35: one whole
 *   default remote-ping interval of 30 s), with the pings the clients answered meanwhile;
 * - while they are all connected, messages from one more session to random ones (`--messages`,
 *   spread over the hold): delivery time (send → arrival, wall clock of one machine) p50/p99/max.
 *
 * Open files: each session is one socket in the server, so the server process needs a limit above
 * `--sessions`; the tool starts every process through `sh -c 'ulimit -n N; exec …'`, asking for
 * what it needs and falling back to the hard limit (`ulimit -Hn`), and reports what it got.
 *
 * `deno task c100k [--sessions=100000] [--workers=N] [--addresses=N] [--concurrency=48]
 *  [--duration=35] [--messages=1000] [--timeout=300] [--trace-gc] [--gc-log=PATH] [--no-baseline]
 *  [--websocket]`
 *
 * `--websocket`: the idle sessions come over WebSocket (the server's own WebSocket listener; the
 * clients write the upgrade and the frames themselves); the messages' sender stays on TCP.
 *
 * `--trace-gc`: the server runs with V8's `--trace-gc`; the garbage collector's pauses during the
 * hold are summed up (how many over 10 ms, the longest; the largest incremental marking step).
 * The server runs with the V8 flags of `deno task start` (`START_V8_FLAGS`); `--server-v8-flags=a,b`
 * replaces them (`--server-v8-flags=` for none: the collector experiment in README).
 * `--gc-log=PATH` also writes the collector's lines to PATH (and implies `--trace-gc`).
 *
 * Bounded in time: establishing stops after `--timeout` seconds; every child process is killed at
 * the end, on failure and on Ctrl-C. Prints a markdown table and notes; exit code 0 (a report).
 * @module
 */
import { killChildren, serverV8FlagsOption } from "../bench/server_process.ts";
import { Child, hardNofile, sourceAddress, spawnDeno } from "./c100k_children.ts";
import { RawTcpClient, writeAll } from "../bench/raw_tcp_client.ts";
import { numberOption } from "../bench/cli_option.ts";

const option = (name: string, fallback: number) => numberOption(name, fallback);
const SESSIONS = option("sessions", 100_000);
const WORKERS = option("workers", Math.max(1, Math.ceil(SESSIONS / 15_000)));
// The server allows 1,000 sessions per source address: 400 each leaves room.
const ADDRESSES = option("addresses", Math.max(2 * WORKERS, Math.ceil(SESSIONS / 400)));
const ADDRESSES_PER_WORKER = Math.max(1, Math.floor(ADDRESSES / WORKERS));
const CONCURRENCY = option("concurrency", 48);
const DURATION_S = option("duration", 35);
const MESSAGES = option("messages", 1_000);
const TIMEOUT_S = option("timeout", 300);
const GC_LOG = Deno.args.find((a) => a.startsWith("--gc-log="))?.slice("--gc-log=".length);
// V8 flags for the server process: by default those of `deno task start`.
const { flags: SERVER_V8_FLAGS, given: SERVER_V8_FLAGS_GIVEN } = serverV8FlagsOption();
const TRACE_GC = Deno.args.includes("--trace-gc") || GC_LOG !== undefined;
const BASELINE = !Deno.args.includes("--no-baseline");
// The idle sessions over WebSocket (the server's own WebSocket listener) instead of TCP.
const WEBSOCKET = Deno.args.includes("--websocket");

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const wallNow = () => performance.timeOrigin + performance.now();
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
/** KiB per unit (session, connection). */
const kibPer = (bytes: number, units: number) => bytes / 1024 / Math.max(1, units);

const onInterrupt = () => {
  console.error("\ninterrupted: stopping the child processes");
  killChildren().finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", onInterrupt);
Deno.addSignalListener("SIGTERM", onInterrupt);

interface Stat {
  rss: number;
  heapUsed: number;
  cpuMs: number;
  sessions: number;
  connections: number;
  uptimeMs: number;
  /** The server's event-loop stalls over 10 ms since the previous `stat`: [end, ms]. */
  stalls: [number, number][];
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

/** The pauses in V8 `--trace-gc` lines: how many, how many over 10 ms, the longest. */
function gcSummary(lines: string[], from: number, to: number): string {
  const pauses: { ms: number; kind: string }[] = [];
  let biggestStep = 0;
  for (const line of lines) {
    const match = line.match(
      /ms: ([A-Za-z -]+?)(?: \(reduce\))? [\d.]+ \([\d.]+\) -> .*?, ([\d.]+) \/ [\d.]+ ms/,
    );
    // "[pid:isolate]   31797 ms: …": the time since the isolate started, close to the server's
    // performance.now().
    const at = Number(line.match(/\]\s+(\d+) ms:/)?.[1]);
    if (!match || !(at >= from && at <= to)) continue;
    pauses.push({ ms: Number(match[2]), kind: match[1] });
    const step = line.match(/biggest step ([\d.]+) ms/);
    if (step) biggestStep = Math.max(biggestStep, Number(step[1]));
  }
  const long = pauses.filter((pause) => pause.ms > 10);
  const longest = pauses.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, kind: "none" });
  return `garbage collection during the hold (--trace-gc): ${pauses.length} pauses, ${long.length} ` +
    `over 10 ms (${
      long.reduce((n, pause) => n + pause.ms, 0).toFixed(0)
    } ms in all), the longest ` +
    `${longest.ms.toFixed(1)} ms (${longest.kind}); largest incremental marking step ` +
    `${biggestStep.toFixed(1)} ms`;
}

/** Client processes that opened their sessions (or bare connections), and how it went. */
interface Opened {
  workers: Child[];
  done: Record<string, unknown>[];
  openSeconds: number;
  fillSeconds: number;
  established: number;
  failed: number;
  retried: number;
}

/**
 * Opens `total` idle sessions to `host:port` from `WORKERS` client processes over their own
 * source addresses; `bare`: only connections (the bare `node:net` baseline).
 */
async function openSessions(
  host: string,
  port: number,
  total: number,
  bare: boolean,
): Promise<Opened> {
  const workers: Child[] = [];
  const per = Math.ceil(total / WORKERS);
  const addressesPer = ADDRESSES_PER_WORKER;
  for (let w = 0; w < WORKERS; w++) {
    const count = Math.min(per, total - w * per);
    if (count <= 0) break;
    const locals = Array.from(
      { length: addressesPer },
      (_, i) => sourceAddress(w * addressesPer + i),
    );
    const config = {
      host,
      port,
      locals,
      count,
      // At most 24 establishing per source address (the server's cap is 32).
      concurrency: Math.min(CONCURRENCY, 24 * locals.length),
      prefix: `c${w}`,
      deadline: Date.now() + TIMEOUT_S * 1000,
      bare,
      websocket: WEBSOCKET && !bare,
    };
    workers.push(
      new Child(spawnDeno("./c100k_client.ts", [JSON.stringify(config)], count + 1_024)),
    );
  }
  const start = performance.now();
  const done: Record<string, unknown>[] = [];
  const deadline = Date.now() + TIMEOUT_S * 1000;
  await Promise.all(workers.map(async (worker, w) => {
    for (;;) {
      const line = await worker.next(Math.max(1, deadline - Date.now()));
      if (line.phase === "established") {
        done[w] = line;
        return;
      }
    }
  })).catch((error) => console.error(`establishing stopped: ${(error as Error).message}`));
  const sum = (key: string) => done.reduce((n, line) => n + ((line?.[key] as number) ?? 0), 0);
  return {
    workers,
    done,
    openSeconds: (performance.now() - start) / 1000,
    // Until the last session was established (without the time spent on failing attempts after).
    fillSeconds: Math.max(...done.map((line) => (line?.lastMs as number) ?? 0)) / 1000,
    established: sum("established"),
    failed: sum("failed"),
    retried: sum("refused"),
  };
}

/**
 * The baseline of the memory figures, in the same run: `count` idle connections from the same
 * client processes, held by a bare `node:net` server (`c100k_server.ts --bare`, the same V8
 * flags) that reads them and writes nothing: what the sockets alone cost, before any LIME object.
 */
async function bareBaseline(count: number): Promise<{ before: Stat; full: Stat }> {
  const server = new Child(
    spawnDeno("./c100k_server.ts", ["--bare"], count + 2_048, [...SERVER_V8_FLAGS]),
  );
  try {
    const hello = await server.next(30_000);
    const address = String(hello.tcp);
    const stat = async () => {
      await server.send("stat");
      return await server.next(60_000) as unknown as Stat;
    };
    const before = await stat();
    const opened = await openSessions(
      address.slice(0, address.lastIndexOf(":")),
      Number(address.slice(address.lastIndexOf(":") + 1)),
      count,
      true,
    );
    // A connection is connected before the server accepted it: wait until it holds them all.
    let full = await stat();
    for (let i = 0; i < 50 && full.connections < opened.established; i++) {
      await sleep(200);
      full = await stat();
    }
    await sleep(1_000); // as for the LIME server, then the same measure
    full = await stat();
    for (const worker of opened.workers) await worker.send("quit").catch(() => {});
    return { before, full };
  } finally {
    await server.send("exit").catch(() => {});
    await killChildren();
  }
}

async function main(): Promise<void> {
  const hard = await hardNofile();
  const wanted = SESSIONS + 2_048;
  // With --trace-gc: the collector's lines (V8 buffers them: they are read once the server exits).
  const gcLines: string[] = [];
  const server = new Child(
    spawnDeno(
      "./c100k_server.ts",
      [
        `--max-sessions=${SESSIONS + 1_000}`,
        ...(TRACE_GC ? ["--replies-on-stderr"] : []),
        ...(WEBSOCKET ? ["--websocket"] : []),
      ],
      wanted,
      [...(TRACE_GC ? ["--trace-gc"] : []), ...SERVER_V8_FLAGS],
    ),
    TRACE_GC ? (line) => void gcLines.push(line) : undefined,
  );
  const hello = await server.next(30_000);
  // The sessions connect to the WebSocket listener with --websocket; the sender always over TCP.
  const sessionsAt = String(WEBSOCKET ? hello.websocket : hello.tcp);
  const [host, port] = [
    sessionsAt.slice(0, sessionsAt.lastIndexOf(":")),
    Number(sessionsAt.slice(sessionsAt.lastIndexOf(":") + 1)),
  ];
  const stat = async () => {
    await server.send("stat");
    return await server.next(60_000) as unknown as Stat;
  };
  const before = await stat();
  console.error(
    `server pid ${hello.pid} on ${hello.tcp}, open files limit ${hello.nofile} (wanted ${
      int(wanted)
    }, hard limit ${hard}); ${int(SESSIONS)} sessions from ${WORKERS} client processes over ${
      int(ADDRESSES)
    } source addresses`,
  );

  // The session that sends the messages: first, so that a full server still has it. It pings the
  // server every 10 s, so that the server's remote idle timeout (60 s) does not end it meanwhile.
  const sender = await RawTcpClient.establish(String(hello.tcp), "c100k-sender@localhost/s");
  let keepAlive = 0;
  const keeper = setInterval(() => {
    writeAll(
      sender.conn,
      encoder.encode(JSON.stringify({ id: `keep-${++keepAlive}`, method: "get", uri: "/ping" })),
    ).catch(() => {});
  }, 10_000);

  // ---- establish
  const opened = await openSessions(host, port, SESSIONS, false);
  const { workers, done, openSeconds, fillSeconds, established, failed, retried } = opened;
  const firstError = done.find((line) => line?.firstError)?.firstError as string | undefined;
  const stopped = done.find((line) => line?.stopped)?.stopped as string | undefined;
  await sleep(1_000);
  const full = await stat();
  full.sessions -= 1; // the sender's
  console.error(
    `${int(full.sessions)} sessions established in ${
      openSeconds.toFixed(1)
    } s; holding for ${DURATION_S} s…`,
  );

  // ---- hold: idle CPU (the remote pings) and delivery to random sessions
  const names: string[] = [];
  for (let w = 0; w < workers.length; w++) {
    const count = (done[w]?.established as number) ?? 0;
    // Workers establish in index order: the first `count` indices, but for a few failures.
    for (let k = 0; k < count; k++) names.push(`c${w}x${k}@localhost/c`);
  }
  for (const worker of workers) await worker.send("report");
  const pingsBefore = (await Promise.all(workers.map((worker) => worker.next(30_000))))
    .reduce((n, line) => n + (line.pings as number), 0);
  const h0 = await stat();
  const t0 = performance.now();
  const t0Wall = wallNow();
  let sent = 0;
  const spacing = (DURATION_S * 1000 * 0.8) / Math.max(1, MESSAGES);
  const sending = (async () => {
    for (let i = 0; i < MESSAGES && names.length; i++) {
      const to = names[Math.floor(Math.random() * names.length)];
      await writeAll(
        sender.conn,
        encoder.encode(JSON.stringify({ type: "text/plain", content: String(wallNow()), to })),
      );
      sent++;
      await sleep(spacing);
    }
  })();
  await sleep(DURATION_S * 1000);
  await sending;
  const h1 = await stat();
  const holdMs = performance.now() - t0;
  await sleep(500);
  const latencies: number[] = [];
  // Seconds into the hold at which the deliveries over 10 ms were sent.
  const slowAt: number[] = [];
  // The client processes' own event-loop stalls over 10 ms during the hold, and how many of the
  // slow deliveries arrived in a client process while it was stalled.
  const clientStalls: number[] = [];
  let slowInClient = 0;
  let pings = 0;
  let closed = 0;
  for (const worker of workers) await worker.send("report");
  for (const worker of workers) {
    const report = await worker.next(30_000);
    latencies.push(...report.latencies as number[]);
    const stalls = (report.stalls as [number, number][]).filter(([end]) =>
      end >= t0Wall && end - holdMs <= t0Wall
    );
    clientStalls.push(...stalls.map(([, ms]) => ms));
    (report.latencies as number[]).forEach((ms, i) => {
      if (ms <= 10) return;
      const sentAt = (report.sentAts as number[])[i];
      slowAt.push((sentAt - t0Wall) / 1000);
      // It waited in its client process if that process's event loop stalled meanwhile.
      if (stalls.some(([end, stalled]) => end - stalled < sentAt + ms && end > sentAt)) {
        slowInClient++;
      }
    });
    pings += report.pings as number;
    closed += report.closed as number;
  }
  pings -= pingsBefore;
  clearInterval(keeper);
  sender.close();
  latencies.sort((a, b) => a - b);
  const holdCpu = (h1.cpuMs - h0.cpuMs) * 100 / holdMs;

  // ---- the end of the LIME phase: the server exits at once (with --trace-gc its stdout, V8's
  // trace, is then complete), the clients close their sockets.
  await server.send("exit").catch(() => {});
  let gcNote: string | undefined;
  if (TRACE_GC) {
    await Promise.race([server.stdoutDone, sleep(20_000)]);
    gcNote = gcSummary(gcLines, h0.uptimeMs, h1.uptimeMs);
    if (GC_LOG) await Deno.writeTextFile(GC_LOG, gcLines.join("\n") + "\n");
  }
  for (const worker of workers) await worker.send("quit").catch(() => {});
  await killChildren();
  const bare = BASELINE ? await bareBaseline(full.sessions) : undefined;

  // ---- report
  const rows: [string, string, string, string][] = [
    [
      "sessions established at once",
      `**${int(full.sessions)}** of ${int(SESSIONS)} (${int(failed)} failed${
        retried ? `, ${int(retried)} attempts retried` : ""
      })`,
      `${int(SESSIONS)}`,
      full.sessions >= SESSIONS ? "yes" : "**no**",
    ],
    [
      "establishment rate",
      `${int(established / fillSeconds)} sessions/s (${int(established)} in ${
        fillSeconds.toFixed(1)
      } s${
        openSeconds > fillSeconds + 1
          ? `; ${openSeconds.toFixed(1)} s with the failing attempts`
          : ""
      })`,
      "—",
      "—",
    ],
    [
      "server RSS with them all",
      `**${mib(full.rss)}** (${mib(before.rss)} before; ${
        kibPer(full.rss - before.rss, full.sessions).toFixed(1)
      } KiB per session, V8 heap ${
        kibPer(full.heapUsed - before.heapUsed, full.sessions).toFixed(1)
      } KiB)`,
      "< 1 GiB",
      full.rss < 1024 ** 3 ? "yes" : "**no**",
    ],
    ...(bare
      ? [[
        "baseline: a bare `node:net` server holding as many idle connections",
        `${mib(bare.full.rss)} (${mib(bare.before.rss)} before; ${
          kibPer(bare.full.rss - bare.before.rss, bare.full.connections).toFixed(1)
        } KiB per connection, V8 heap ${
          kibPer(bare.full.heapUsed - bare.before.heapUsed, bare.full.connections).toFixed(1)
        } KiB): a LIME session costs ${
          (kibPer(full.rss - before.rss, full.sessions) -
            kibPer(bare.full.rss - bare.before.rss, bare.full.connections)).toFixed(1)
        } KiB more than its bare socket`,
        "—",
        "—",
      ] as [string, string, string, string]]
      : []),
    [
      `server CPU while idle, ${(holdMs / 1000).toFixed(0)} s (remote pings every 30 s)`,
      `**${holdCpu.toFixed(1)}%** of a core (${int(pings)} pings answered meanwhile; ${
        (pings ? (h1.cpuMs - h0.cpuMs) * 1000 / pings : NaN).toFixed(1)
      } µs CPU per ping, messages included)`,
      "—",
      "—",
    ],
    [
      "message to a random session, all connected",
      `p50 ${quantile(latencies, 0.5).toFixed(2)} ms, **p99 ${
        quantile(latencies, 0.99).toFixed(2)
      } ms**, max ${quantile(latencies, 1).toFixed(2)} ms (${int(latencies.length)} of ${
        int(sent)
      } delivered)`,
      "p99 < 10 ms",
      quantile(latencies, 0.99) < 10 && latencies.length === sent ? "yes" : "**no**",
    ],
  ];
  console.log(
    `\nC100K (${
      WEBSOCKET ? "sessions over WebSocket; " : ""
    }${Deno.build.os}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno})\n`,
  );
  console.log("| measure | figure | target | met |\n|---|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  const notes = [
    `server open-files limit ${hello.nofile} (asked for ${int(wanted)}; hard limit ${hard})`,
    `${workers.length} client processes, ${
      int(ADDRESSES_PER_WORKER * workers.length)
    } source addresses (${sourceAddress(0)} …), ${CONCURRENCY} establishing at a time per process`,
    `server V8 flags: ${SERVER_V8_FLAGS.join(" ") || "none"}${
      SERVER_V8_FLAGS_GIVEN ? "" : " (those of deno task start)"
    }`,
  ];
  if (full.sessions < SESSIONS) {
    const at = (rss: number, base: number, held: number) =>
      `${((base + ((rss - base) / Math.max(1, held)) * SESSIONS) / 1024 ** 3).toFixed(2)} GiB`;
    notes.push(
      `server RSS extrapolated to ${int(SESSIONS)} sessions: ${
        at(full.rss, before.rss, full.sessions)
      }${
        bare
          ? `; the bare node:net server's at as many connections: ${
            at(bare.full.rss, bare.before.rss, bare.full.connections)
          }`
          : ""
      }`,
    );
  }
  if (firstError) notes.push(`first failure: ${firstError}`);
  if (stopped) notes.push(`a client process stopped opening sessions: ${stopped}`);
  if (closed) notes.push(`${int(closed)} established sessions were closed by the server meanwhile`);
  const serverStalls = h1.stalls.map(([, ms]) => ms);
  notes.push(
    `the server's event-loop stalls over 10 ms during the hold: ${serverStalls.length}${
      serverStalls.length ? `, the longest ${Math.max(...serverStalls).toFixed(0)} ms` : ""
    }`,
  );
  notes.push(
    `the client processes' own event-loop stalls over 10 ms during the hold: ${clientStalls.length}${
      clientStalls.length ? `, the longest ${Math.max(...clientStalls).toFixed(0)} ms` : ""
    }; deliveries over 10 ms that arrived while their client process was stalled: ${slowInClient} of ${slowAt.length}`,
  );
  if (slowAt.length) {
    // When the slow ones were sent: bunched at the ping interval points at the pings.
    const bySecond = new Map<number, number>();
    for (const at of slowAt) bySecond.set(Math.floor(at), (bySecond.get(Math.floor(at)) ?? 0) + 1);
    // Sessions were established from `start` to `fillSeconds` after it; the hold began about
    // `openSeconds` after it; each session is pinged every 30 s after it was established.
    const pingWindows: string[] = [];
    for (let k = 1; 30 * k - openSeconds < DURATION_S; k++) {
      const from = Math.max(0, 30 * k - openSeconds);
      const to = Math.min(DURATION_S, 30 * k + fillSeconds - openSeconds);
      if (to > from) pingWindows.push(`${from.toFixed(0)}–${to.toFixed(0)} s`);
    }
    notes.push(
      `deliveries over 10 ms by second of the hold (the remote pings fall in ${
        pingWindows.join(", ") || "none of it"
      }): ${
        [...bySecond].sort((a, b) => a[0] - b[0]).map(([second, n]) => `${second} s: ${n}`).join(
          ", ",
        )
      }`,
    );
  }
  if (Number(hello.nofile) < wanted) {
    notes.push(
      `the server process cannot hold more than ${hello.nofile} sockets: its open-files limit could ` +
        `not be raised above the hard limit ${hard} (raising a hard limit needs CAP_SYS_RESOURCE)`,
    );
  }
  if (gcNote) notes.push(gcNote);
  console.log("\n" + notes.map((note) => `- ${note}`).join("\n"));
  if (server.stderr.length) {
    console.log(`\nserver stderr (first lines):\n${server.stderr.slice(0, 10).join("\n")}`);
  }
}

try {
  await main();
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
  Deno.removeSignalListener("SIGTERM", onInterrupt);
  await killChildren();
}
