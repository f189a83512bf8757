/**
 * `deno task attack`: runs the fairness and memory attacks of the security issue against a live
 * server for a bounded time each, while a healthy signed-in bystander pings it, and prints per
 * attack the bystander's `/ping` p50/p99 and the server's RSS before and after.
 *
 * By default it starts `deno task start` itself (`src/server/main.ts`, defaults as shipped,
 * `--data=:memory:`, ports chosen by the system, the bystander and victim accounts from
 * `LIME_ACCOUNTS`), so RSS is the real server's. Attackers connect from 127.0.0.2 and up (other
 * source addresses on Linux loopback), the bystander from 127.0.0.1.
 *
 * `deno task attack [--duration=5] [--only=lockout,cpu,...]`
 *
 * Attacks: lockout, cpu, gzip-bomb, hashing, guessing, slow-reader, ws-frames, storage. Exit code
 * 0 when every bystander stayed under 100 ms at p99 and survived, 1 otherwise.
 * @module
 */
import { parseArgs } from "node:util";
import { ATTACKS } from "./attack/attacks.ts";
import type { PingFigures } from "./attack/ping_probe.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "5" },
    only: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});
if (values.help) {
  console.log(
    "Usage: deno task attack [--duration=SECONDS] [--only=NAME,...]\n\nAttacks: " +
      ATTACKS.map((attack) => `${attack.name} (${attack.what})`).join("\n  "),
  );
  Deno.exit(0);
}
const duration = Number(values.duration);
if (!(duration > 0 && duration <= 600)) {
  console.error("error: --duration must be a number of seconds from 1 to 600");
  Deno.exit(2);
}
const only = values.only?.split(",").map((name) => name.trim());
const unknown = only?.filter((name) => !ATTACKS.some((attack) => attack.name === name)) ?? [];
if (unknown.length) {
  console.error(`error: unknown attack ${unknown.join(", ")}`);
  Deno.exit(2);
}

const BYSTANDER = { identity: "bystander@localhost", password: "bystander-pw" };
const VICTIM = { identity: "victim@localhost", password: "victim-pw" };

/** The server under attack, in its own process. */
class Target {
  readonly #child: Deno.ChildProcess;
  readonly pid: number;
  tcp = "";
  ws = "";

  constructor() {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        new URL("../src/server/main.ts", import.meta.url).pathname,
        "--data=:memory:",
        "--tcp=127.0.0.1:0",
        "--ws=127.0.0.1:0",
        "--http=off",
      ],
      env: {
        LIME_ACCOUNTS: [BYSTANDER, VICTIM].map((a) => `${a.identity}:${a.password}`).join("\n"),
      },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.pid = this.#child.pid;
  }

  /** Waits for the addresses the server prints. */
  async started(): Promise<void> {
    const decoder = new TextDecoder();
    let text = "";
    const reader = this.#child.stdout.getReader();
    while (!this.tcp || !this.ws) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the server exited");
      text += decoder.decode(value, { stream: true });
      this.tcp = /net\.tcp:\/\/(\S+)/.exec(text)?.[1] ?? "";
      this.ws = /ws:\/\/(\S+)/.exec(text)?.[1] ?? "";
    }
    reader.releaseLock();
    this.#child.stdout.pipeTo(new WritableStream()).catch(() => {});
  }

  /** The server's resident memory, MiB (read with `cat`: /proc needs --allow-all in Deno). */
  async rss(): Promise<number> {
    const { stdout } = await new Deno.Command("cat", {
      args: [`/proc/${this.pid}/status`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(new TextDecoder().decode(stdout))?.[1];
    return kib ? Number(kib) / 1024 : NaN;
  }

  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.#child.status;
  }
}

/** A bystander in its own Worker (see `attack/bystander_worker.ts`). */
class Bystander {
  readonly #worker = new Worker(new URL("./attack/bystander_worker.ts", import.meta.url), {
    type: "module",
  });
  #next: ((data: unknown) => void) | undefined;

  constructor() {
    this.#worker.onmessage = (event) => this.#next?.(event.data);
  }

  #ask(message: unknown): Promise<Record<string, unknown> | string> {
    return new Promise((resolve) => {
      this.#next = resolve as (data: unknown) => void;
      this.#worker.postMessage(message);
    });
  }

  async start(tcp: string): Promise<void> {
    const answer = await this.#ask({ tcp, ...BYSTANDER });
    if (answer !== "ready") {
      throw new Error(`the bystander could not start: ${JSON.stringify(answer)}`);
    }
  }

  async stop(): Promise<{ figures: PingFigures; survived: boolean }> {
    const answer = await this.#ask("stop") as { figures: PingFigures; survived: boolean };
    this.#worker.terminate();
    return answer;
  }
}

const rows: string[] = [];
let healthy = true;
for (const attack of ATTACKS.filter((a) => !only || only.includes(a.name))) {
  // A fresh server per attack: its RSS before and after is that attack's.
  const target = new Target();
  try {
    await target.started();
    console.log(
      `${attack.name}: server pid ${target.pid}, TCP ${target.tcp}, WebSocket ${target.ws}`,
    );
    const bystander = new Bystander();
    await bystander.start(target.tcp);
    const rssBefore = await target.rss();
    const started = performance.now();
    let outcome: string;
    try {
      outcome = await attack.run({
        tcp: target.tcp,
        ws: target.ws,
        until: started + duration * 1000,
        victim: VICTIM.identity,
      });
    } catch (error) {
      outcome = `the attack broke: ${(error as Error).message}`;
    }
    const { figures, survived } = await bystander.stop();
    const rssAfter = await target.rss();
    const ok = survived && figures.failed === 0 && figures.p99 < 100;
    healthy &&= ok;
    rows.push(
      `| ${attack.name} | ${attack.what} | ${outcome} | ${figures.p50.toFixed(2)} / ${
        figures.p99.toFixed(2)
      } ms (n=${figures.count}${figures.failed ? `, ${figures.failed} failed` : ""}${
        survived ? "" : ", session lost"
      }) | ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB | ${ok ? "yes" : "**no**"} |`,
    );
    console.log(rows.at(-1));
  } finally {
    await target.stop();
  }
}
console.log(
  `\nAttacks on deno task start (defaults; ${duration} s each; linux, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno})\n`,
);
console.log(
  "| Attack | What | What the server did | Bystander /ping p50 / p99 | Server RSS | Bystander fine |",
);
console.log("|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
Deno.exit(healthy ? 0 : 1);
