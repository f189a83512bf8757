/**
 * Cluster benchmark (`deno task bench:cluster`): one Redis (`redis-server`, persistence off), two
 * server processes on the Redis engine (`server_load_server.ts --redis=…`) and one on the memory
 * engine, loaded with the raw TCP generator of `server_load.ts` (8 pairs, 256 messages of ~200 B
 * in flight per sender, no ids), all on this machine:
 *
 * 1. **Routed messages/s**: memory engine (one process), Redis engine with sender and receiver
 *    on the same server, and on two servers; and the physical limit of the hop, measured in the
 *    same run: the same bytes through XADD → XREADGROUP → XACK with no LIME code
 *    (`redis_hop.ts`, a producer and a consumer process). Ratios: cross-server / hop (target
 *    ≥ 0.5), same-server (Redis engine) / memory engine. CPU per message: each server, Redis.
 * 2. **Delivery latency** p50/p99 of single messages (one every 2 ms), same server and across.
 * 3. **Directory memory**: Redis's `used_memory` and the directory keys' `MEMORY USAGE` before
 *    and after `--sessions` (default 10,000) guest sessions of distinct identities connect to
 *    one server; bytes per directory entry; the server's RSS per session.
 *
 * `deno task bench:cluster [--quick] [--pairs=8] [--window=256] [--warmup=1] [--duration=5]
 *  [--sessions=10000] [--samples=1000]
 *  [--only=memory,same,cross,hop,hop-batched,latency,directory]`
 *
 * Prints a markdown table, then notes. Every child process is stopped at the end.
 * @module
 */
import { serializeEnvelope } from "../src/codec.ts";
import { Message } from "../src/envelope.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { RedisServer } from "../tests/cluster/redis_server.ts";
import { directory, redisInfo } from "./cluster_directory.ts";
import { ObjectCounter, RawTcpClient, writeAll } from "./raw_tcp_client.ts";
import { collect, killChildren, ServerProcess, spawn } from "./server_process.ts";
import { numberOption } from "./cli_option.ts";

const option = (name: string, fallback: number) => numberOption(name, fallback);
const QUICK = Deno.args.includes("--quick");
const PAIRS = option("pairs", 8);
const WINDOW = option("window", 256);
const WARMUP_MS = option("warmup", QUICK ? 0.5 : 1) * 1000;
const DURATION_MS = option("duration", QUICK ? 2 : 5) * 1000;
const SESSIONS = option("sessions", QUICK ? 2_000 : 10_000);
const SAMPLES = option("samples", QUICK ? 300 : 1_000);
const ONLY = Deno.args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const runs = (name: string) => !ONLY || ONLY.includes(name);
const CONTENT = "Olá! Your order #48213 has shipped and should arrive tomorrow between 9 and " +
  "12. Reply STOP to opt out, or HELP for more options. Thanks!";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

Deno.addSignalListener("SIGINT", () => killChildren().finally(() => Deno.exit(130)));

const serverCpu = async (server: ServerProcess) => (await server.request("cpu")).cpuMs as number;
/** The machine's idle and total jiffies, all cores (a server reads /proc/stat for us). */
const machineTicks = async (server: ServerProcess) => {
  const reply = await server.request("cpu");
  return { idle: Number(reply.idle), total: Number(reply.total) };
};

interface Throughput {
  rate: number;
  /** How idle the whole machine was while measuring, %. */
  idle?: number;
  /** Each server's CPU use, % of a core. */
  serverCpu?: number[];
  /** Server CPU per message, µs, per server involved. */
  serverUs: number[];
  redisUs: number;
}

/** Raw TCP pairs (senders on `from`, receivers on `to`); messages without id. */
async function routed(
  from: ServerProcess,
  to: ServerProcess,
  redis: RedisServer | undefined,
  tag: string,
): Promise<Throughput> {
  const links: { sender: RawTcpClient; receiver: RawTcpClient; batch: Uint8Array }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const node = `${tag}-r${i}@localhost/load`;
    const receiver = await RawTcpClient.establish(to.tcp, node);
    const sender = await RawTcpClient.establish(from.tcp, `${tag}-s${i}@localhost/load`);
    const one = encoder.encode(serializeEnvelope(new Message("text/plain", CONTENT, { to: node })));
    const batch = new Uint8Array(one.length * WINDOW);
    for (let k = 0; k < WINDOW; k++) batch.set(one, k * one.length);
    links.push({ sender, receiver, batch });
  }
  const size = links[0].batch.length / WINDOW;
  let received = 0;
  let stopped = false;
  const wakes = new Set<() => void>();
  const loops = links.flatMap(({ sender, receiver, batch }) => {
    let sent = 0;
    let got = 0;
    let wake: (() => void) | undefined;
    wakes.add(() => wake?.());
    return [
      (async () => {
        const counter = new ObjectCounter();
        const buffer = new Uint8Array(256 * 1024);
        for (;;) {
          const n = await receiver.conn.read(buffer);
          if (n === null) break;
          const objects = counter.count(buffer.subarray(0, n));
          got += objects;
          received += objects;
          if (wake && sent - got <= WINDOW / 2) {
            const resume = wake;
            wake = undefined;
            resume();
          }
        }
      })().catch(() => {}),
      (async () => {
        while (!stopped) {
          const room = WINDOW - (sent - got);
          if (room >= WINDOW / 2) {
            await writeAll(sender.conn, batch.subarray(0, room * size));
            sent += room;
          } else await new Promise<void>((resolve) => wake = resolve);
        }
      })().catch(() => {}),
    ];
  });
  await sleep(WARMUP_MS);
  const servers = from === to ? [from] : [from, to];
  const cpu0 = await Promise.all(servers.map(serverCpu));
  const redis0 = redis ? await redisInfo(redis) : undefined;
  const count0 = received;
  const t0 = performance.now();
  const ticks0 = await machineTicks(from);
  await sleep(DURATION_MS);
  const count = received - count0;
  const seconds = (performance.now() - t0) / 1000;
  const ticks1 = await machineTicks(from);
  const cpu1 = await Promise.all(servers.map(serverCpu));
  const redis1 = redis ? await redisInfo(redis) : undefined;
  stopped = true;
  for (const resume of wakes) resume();
  for (const { sender, receiver } of links) {
    sender.close();
    receiver.close();
  }
  await Promise.all(loops);
  return {
    rate: count / seconds,
    idle: (ticks1.idle - ticks0.idle) * 100 / (ticks1.total - ticks0.total),
    serverCpu: cpu1.map((c, i) => (c - cpu0[i]) / seconds / 10),
    serverUs: cpu1.map((c, i) => (c - cpu0[i]) * 1000 / count),
    redisUs: redis0 && redis1 ? (redis1.cpuMs - redis0.cpuMs) * 1000 / count : 0,
  };
}

/** XADD → XREADGROUP → XACK of the same bytes, no LIME code (bench/redis_hop.ts). */
async function hop(redis: RedisServer, batch = 1): Promise<Throughput> {
  const bytes = serializeEnvelope(
    new Message("text/plain", CONTENT, {
      to: "hop-r0@localhost/load",
      from: "hop-s0@localhost/load",
    }),
  ).length;
  const from = Date.now() + 1500 + WARMUP_MS;
  const until = from + DURATION_MS;
  const script = new URL("./redis_hop.ts", import.meta.url).pathname;
  const run = (role: string) => {
    const child = spawn(Deno.execPath(), [
      "run",
      "-A",
      script,
      `--url=${redis.url}`,
      `--role=${role}`,
      "--stream=hop",
      `--bytes=${bytes}`,
      `--window=${PAIRS * WINDOW}`,
      `--batch=${batch}`,
      `--from=${from}`,
      `--until=${until}`,
    ], { stdout: "piped", stderr: "piped" });
    const errors: string[] = [];
    collect(child.stderr, errors);
    return new Response(child.stdout).text().then((text) => {
      if (!text.trim()) throw new Error(`redis_hop ${role}: ${errors.join("\n")}`);
      return JSON.parse(text) as { count: number; cpuMs: number };
    });
  };
  const consumer = run("consumer");
  const producer = run("producer");
  await sleep(from - Date.now());
  const redis0 = await redisInfo(redis);
  await sleep(until - Date.now());
  const redis1 = await redisInfo(redis);
  const [c, p] = await Promise.all([consumer, producer]);
  await redis.command(["DEL", "hop", "hop:acked"]);
  return {
    rate: c.count / (DURATION_MS / 1000),
    serverUs: [p.cpuMs * 1000 / p.count, c.cpuMs * 1000 / c.count],
    redisUs: (redis1.cpuMs - redis0.cpuMs) * 1000 / c.count,
  };
}

/** One message every 2 ms from `from` to `to`; delivery latency percentiles, ms. */
async function latency(from: ServerProcess, to: ServerProcess, tag: string) {
  const node = `${tag}-lr@localhost/load`;
  const receiver = await RawTcpClient.establish(to.tcp, node);
  const sender = await RawTcpClient.establish(from.tcp, `${tag}-ls@localhost/load`);
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  const framer = new EnvelopeFramer();
  const reading = (async () => {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await receiver.conn.read(buffer);
      if (n === null) break;
      framer.push(buffer.subarray(0, n), (frame) => {
        const content = JSON.parse(decoder.decode(frame)).content as string;
        const at = sentAt.get(content);
        if (at !== undefined) samples.push(performance.now() - at);
      });
    }
  })().catch(() => {});
  for (let i = 0; i < SAMPLES + 50; i++) {
    const content = `L${i}`;
    const text = serializeEnvelope(new Message("text/plain", content, { to: node }));
    if (i >= 50) sentAt.set(content, performance.now()); // the first 50 warm up
    await writeAll(sender.conn, encoder.encode(text));
    await sleep(2);
  }
  await sleep(200);
  sender.close();
  receiver.close();
  await reading;
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))];
  return { p50: at(0.5), p99: at(0.99), count: samples.length };
}

const redis = await RedisServer.start();
const servers: ServerProcess[] = [];
try {
  const memoryServer = new ServerProcess(undefined, []);
  const a = new ServerProcess(undefined, [`--redis=${redis.url}`]);
  const b = new ServerProcess(undefined, [`--redis=${redis.url}`]);
  servers.push(memoryServer, a, b);
  await Promise.all(servers.map((server) => server.start()));
  console.log(
    `redis ${redis.url}; servers: memory ${memoryServer.tcp}, redis A ${a.tcp}, B ${b.tcp}; ` +
      `${PAIRS} pairs, window ${WINDOW}, ${WARMUP_MS / 1000} s warm-up + ` +
      `${DURATION_MS / 1000} s measured; ${Deno.build.os}, ${navigator.hardwareConcurrency} ` +
      `cores, Deno ${Deno.version.deno}, redis-server ${await redisVersion(redis)}`,
  );
  const rows: string[][] = [];
  const results: Record<string, Throughput> = {};
  const cpu = (t: Throughput) =>
    `server ${t.serverUs.map((us) => fmt(us, 1)).join(" + ")} µs/msg` +
    (t.redisUs ? `, Redis ${fmt(t.redisUs, 1)} µs/msg` : "") +
    (t.serverCpu ? `; server CPU ${t.serverCpu.map((c) => `${fmt(c)}%`).join(" + ")}` : "") +
    (t.idle !== undefined ? `; machine idle ${fmt(t.idle)}%` : "");
  for (
    const [name, label, run] of [
      [
        "memory",
        "memory engine, one process",
        () => routed(memoryServer, memoryServer, undefined, "m"),
      ],
      ["same", "Redis engine, same server", () => routed(a, a, redis, "s")],
      ["cross", "Redis engine, across two servers", () => routed(a, b, redis, "x")],
      ["hop", "raw hop: XADD → XREADGROUP → XACK, one message per entry", () => hop(redis)],
      ["hop-batched", "raw hop, 256 messages per entry", () => hop(redis, 256)],
    ] as const
  ) {
    if (!runs(name)) continue;
    console.error(`${label}…`);
    const result = results[name] = await run();
    rows.push([`routed messages/s: ${label}`, `**${fmt(result.rate)}**/s (${cpu(result)})`]);
  }
  if (results.cross && results.hop) {
    const ratio = results.cross.rate / results.hop.rate;
    rows.push([
      "cross-server / raw hop (one message per entry)",
      `**${fmt(ratio, 2)}** (target ≥ 0.5: ${ratio >= 0.5 ? "met" : "not met"})`,
    ]);
  }
  if (results.cross && results["hop-batched"]) {
    rows.push([
      "cross-server / raw hop (256 per entry)",
      fmt(results.cross.rate / results["hop-batched"].rate, 2),
    ]);
  }
  if (results.same && results.memory) {
    rows.push([
      "same server, Redis / memory engine",
      fmt(results.same.rate / results.memory.rate, 2),
    ]);
  }
  if (runs("latency")) {
    console.error("latency…");
    for (const [label, from, to] of [["same server", a, a], ["across servers", a, b]] as const) {
      const l = await latency(from, to, label === "same server" ? "ls" : "lx");
      rows.push([
        `delivery latency, ${label} (one message every 2 ms)`,
        `p50 ${fmt(l.p50, 2)} ms, p99 ${fmt(l.p99, 2)} ms (${l.count} samples)`,
      ]);
    }
  }
  if (runs("directory")) {
    console.error(`directory: ${SESSIONS} sessions…`);
    const d = await directory(a, redis, SESSIONS);
    rows.push([
      `directory, ${fmt(d.sessions)} sessions of distinct identities`,
      `**${fmt(d.keyBytes)} B** per entry (MEMORY USAGE of ${fmt(d.keys)} keys); Redis ` +
      `used_memory +${fmt(d.usedMemory)} B per session; server RSS +${fmt(d.rss / 1024, 1)} KiB ` +
      `per session; ${fmt(d.perSecond)} establishments/s; a heartbeat's PEXPIRE: ` +
      `${fmt(d.pexpireUs, 2)} µs of Redis CPU per identity`,
    ]);
  }
  console.log("\n| measure | figure |\n|---|---|");
  for (const [measure, figure] of rows) console.log(`| ${measure} | ${figure} |`);
} finally {
  await Promise.all(servers.map((server) => server.stop().catch(() => {})));
  await killChildren();
  await redis.stop();
}

async function redisVersion(redis: RedisServer): Promise<string> {
  const text = await redis.command<string>(["INFO", "server"]);
  return /^redis_version:(\S+)/m.exec(text)?.[1] ?? "?";
}
