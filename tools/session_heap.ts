/**
 * `deno task session-heap`: what one idle session costs the server's V8 heap, and what a round of
 * remote pings leaves behind, counted object by object in heap snapshots.
 *
 * A server (`c100k_server.ts`: `LimeServer` on its defaults, TCP) in its own process writes a heap
 * snapshot before any session, one once `--sessions` idle guest sessions are established by a
 * client process (`c100k_client.ts`, from 40 loopback source addresses), and one after every
 * session has been pinged once (the server pings every `--ping-interval` ms instead of 30 s).
 * Prints the heap bytes and objects per session between the snapshots and the kinds of objects
 * that make them up.
 *
 * With `--websocket` the sessions come over WebSocket (the server's WebSocket listener instead of
 * TCP; the client does the upgrade and writes the frames itself).
 *
 * `deno task session-heap [--sessions=4000] [--ping-interval=5000] [--top=15] [--websocket]`
 * @module
 */
import { numberOption } from "../bench/cli_option.ts";
import { killChildren, START_V8_FLAGS } from "../bench/server_process.ts";
import { Child, sourceAddress, spawnDeno } from "./c100k_children.ts";
import { censusGrowth, heapCensus } from "./heap_snapshot.ts";

const SESSIONS = numberOption("sessions", 4_000, { min: 1, max: 18_000, integer: true });
const PING_INTERVAL = numberOption("ping-interval", 5_000, {
  min: 1_000,
  max: 60_000,
  integer: true,
});
const TOP = numberOption("top", 15, { min: 1, max: 100, integer: true });
const WEBSOCKET = Deno.args.includes("--websocket");

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "session-heap-" });
  try {
    const server = new Child(
      spawnDeno(
        "./c100k_server.ts",
        [
          `--max-sessions=${SESSIONS + 1_000}`,
          `--ping-interval=${PING_INTERVAL}`,
          ...(WEBSOCKET ? ["--websocket"] : []),
        ],
        SESSIONS + 1_024,
        [...START_V8_FLAGS],
      ),
    );
    const hello = await server.next(30_000);
    const address = String(WEBSOCKET ? hello.websocket : hello.tcp);
    const snapshot = async (name: string) => {
      await server.send(`heap ${dir}/${name}.heapsnapshot`);
      await server.next(120_000);
      return `${dir}/${name}.heapsnapshot`;
    };
    const before = await snapshot("before");
    const client = new Child(spawnDeno("./c100k_client.ts", [
      JSON.stringify({
        host: address.slice(0, address.lastIndexOf(":")),
        port: Number(address.slice(address.lastIndexOf(":") + 1)),
        locals: Array.from({ length: 40 }, (_, i) => sourceAddress(i)),
        count: SESSIONS,
        concurrency: 24,
        prefix: "heap",
        deadline: Date.now() + 120_000,
        websocket: WEBSOCKET,
      }),
    ], SESSIONS + 1_024));
    let established: Record<string, unknown>;
    do established = await client.next(150_000); while (established.phase !== "established");
    if (established.established !== SESSIONS) {
      throw new Error(`only ${established.established} of ${SESSIONS} sessions established`);
    }
    const idle = await snapshot("idle");
    // Each session is pinged once `PING_INTERVAL` after it was established; the last one was
    // established just now, and the first are not pinged a second time before this.
    await sleep(PING_INTERVAL + 1_000);
    const pinged = await snapshot("pinged");
    await client.send("report");
    let report: Record<string, unknown>;
    do report = await client.next(30_000); while (report.phase !== "report");
    await server.send("exit");

    const [b, i, p] = [await heapCensus(before), await heapCensus(idle), await heapCensus(pinged)];
    const perSession = censusGrowth(b, i, SESSIONS);
    const afterPings = censusGrowth(i, p, SESSIONS);
    console.log(
      `\nHeap per idle session (${int(SESSIONS)} guest sessions over ${
        WEBSOCKET ? "WebSocket" : "TCP"
      }; server on its defaults, ` +
        `remote pings every ${int(PING_INTERVAL)} ms; ${
          int(Number(report.pings))
        } pings answered; ` +
        `Deno ${Deno.version.deno})\n`,
    );
    console.log("| between the snapshots | V8 heap bytes per session | objects per session |");
    console.log("|---|--:|--:|");
    console.log(
      `| before → ${int(SESSIONS)} idle sessions | **${int(perSession.bytes)}** | ${
        perSession.count.toFixed(1)
      } |`,
    );
    console.log(
      `| idle → after one round of pings (what stays alive) | ${int(afterPings.bytes)} | ${
        afterPings.count.toFixed(1)
      } |`,
    );
    console.log(`\nWhat an idle session holds (largest ${TOP} kinds, per session):\n`);
    console.log("| kind | bytes | objects |\n|---|--:|--:|");
    for (const [kind, { bytes, count }] of perSession.kinds.slice(0, TOP)) {
      console.log(`| ${kind.replaceAll("|", "\\|")} | ${int(bytes)} | ${count.toFixed(2)} |`);
    }
  } finally {
    await killChildren();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();
