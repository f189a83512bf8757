/**
 * `deno task bench:login`: the CPU of a guest login and logout with no socket, for finding and
 * checking small savings that the socket benchmarks (`bench:server`, ±15% between runs on this VM)
 * cannot resolve. One process: a `LimeServer` on its defaults but for the limits a benchmark
 * needs lifted (accounts in Deno KV `:memory:`, no listener), and `ClientChannel`s on
 * `MemoryTransport` pairs handed to `server.accept`, `--concurrency` at a time (default 100), each
 * establishing as a guest (negotiation included) and finishing. After a warm-up of a tenth, each of
 * `--rounds` (default 5) rounds runs `--logins` (default 20,000) and reports logins/s and the
 * process's CPU per login (client and server together: both sides' channels, the server's
 * admission, authentication, registration with its account read and session end, and the
 * envelopes' serialization and validation; no socket, so no system call). Prints the median and
 * the spread. Under `deno run --cpu-prof` its profile is the login's JavaScript.
 *
 * `deno task bench:login [--logins=20000] [--rounds=5] [--concurrency=100]`
 * @module
 */
import process from "node:process";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { KvAccountStore } from "../src/server/account_store.ts";
import { LimeServer } from "../src/server/lime_server.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { numberOption } from "./cli_option.ts";

const LOGINS = numberOption("logins", 20_000, { min: 100, max: 1_000_000, integer: true });
const ROUNDS = numberOption("rounds", 5, { min: 1, max: 100, integer: true });
const CONCURRENCY = numberOption("concurrency", 100, { min: 1, max: 10_000, integer: true });

const store = await KvAccountStore.open(":memory:");
const server = new LimeServer({
  store,
  tcp: false,
  websocket: false,
  rateLimit: 0,
  maxSessions: CONCURRENCY * 2 + 1_000,
  // Every login comes from the same (memory) source: per-source caps would count them as one.
  maxSessionsPerAddress: 0,
  maxEstablishingPerAddress: 0,
});

let serial = 0;
async function login(): Promise<void> {
  const [client, served] = MemoryTransport.pair();
  server.accept(served);
  const channel = new ClientChannel(client);
  await channel.establishSession({ identity: `login${serial++}@localhost`, instance: "bench" });
  await channel.finish();
}

/** Runs `count` logins, CONCURRENCY at a time; logins/s and µs of CPU per login. */
async function run(count: number): Promise<{ rate: number; cpu: number }> {
  let started = 0;
  let failed = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
      // After a failure no worker starts another login: the run ends with the first error.
      while (started < count && !failed) {
        started++;
        await login().catch((error) => {
          failed = true;
          throw error;
        });
      }
    }),
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: count * 1000 / ms, cpu: (cpu.user + cpu.system) / count };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const spread = (values: number[], digits: number) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${
    Math.max(...values).toFixed(digits)
  })`;

try {
  await server.start();
  await run(Math.ceil(LOGINS / 10));
  const rounds: { rate: number; cpu: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rounds.push(await run(LOGINS));
    console.error(`  round ${r + 1}/${ROUNDS}: ${Math.round(rounds[r].rate)} logins/s`);
  }
  console.log(
    `Guest login + logout in one process over memory transports (${LOGINS} per round, ` +
      `${CONCURRENCY} at a time, ${ROUNDS} rounds; Deno ${Deno.version.deno}): ` +
      `**${spread(rounds.map((r) => r.cpu), 1)} µs of CPU per login** (client and server), ` +
      `${spread(rounds.map((r) => r.rate), 0)} logins/s.`,
  );
} finally {
  await server.shutdown();
  store.close();
}
