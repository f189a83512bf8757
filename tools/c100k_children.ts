/**
 * The child processes of `c100k.ts` and `session_heap.ts`: Deno scripts started with a raised
 * open-file limit, spoken to in JSON lines, and the loopback source addresses of their clients.
 * @module
 */
import { collect, linesOf, spawn } from "../bench/server_process.ts";

const encoder = new TextEncoder();

/** The hard limit on open files of processes started from here. */
export async function hardNofile(): Promise<number> {
  const { stdout } = await new Deno.Command("sh", { args: ["-c", "ulimit -Hn"], stdout: "piped" })
    .output();
  const text = new TextDecoder().decode(stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}

/** A Deno script in a child process whose open-file limit is raised to `nofile` (or the hard one). */
export function spawnDeno(
  script: string,
  args: string[],
  nofile: number,
  v8Flags: string[] = [],
): Deno.ChildProcess {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const flags = v8Flags.length ? [`--v8-flags=${v8Flags.join(",")}`] : [];
  const command = [
    Deno.execPath(),
    "run",
    "-A",
    ...flags,
    new URL(script, import.meta.url).pathname,
    ...args,
  ]
    .map(quote).join(" ");
  return spawn("sh", [
    "-c",
    `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${command}`,
  ], { stdin: "piped", stdout: "piped", stderr: "piped" });
}

/** A child process speaking JSON lines on stdout and taking commands on stdin. */
export class Child {
  readonly stderr: string[] = [];
  readonly #lines: AsyncGenerator<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  /** With `stdoutLines`: every stdout line, once stdout has ended. */
  stdoutDone: Promise<void> = Promise.resolve();

  /**
   * `stdoutLines`: the JSON lines come on stderr, and every stdout line goes to this callback
   * (a server tracing its garbage collection).
   */
  constructor(readonly process: Deno.ChildProcess, stdoutLines?: (line: string) => void) {
    this.#stdin = process.stdin.getWriter();
    if (stdoutLines) {
      this.#lines = linesOf(process.stderr);
      this.stdoutDone = (async () => {
        for await (const line of linesOf(process.stdout)) stdoutLines(line);
      })().catch(() => {});
    } else {
      this.#lines = linesOf(process.stdout);
      collect(process.stderr, this.stderr);
    }
  }

  /** The next JSON line (lines that are not JSON are skipped); rejects after `ms`. */
  async next(ms: number): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    try {
      for (;;) {
        const next = await Promise.race([this.#lines.next(), timeout]);
        if (next.done) throw new Error(`the process exited\n${this.stderr.join("\n")}`);
        try {
          return JSON.parse(next.value);
        } catch { /* not a JSON line */ }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends one command line. */
  async send(command: string): Promise<void> {
    await this.#stdin.write(encoder.encode(command + "\n"));
  }
}

/** The i-th client source address: 127.0.0.2 … 127.0.0.251, then 127.0.1.2 …. */
export function sourceAddress(i: number): string {
  return `127.0.${Math.floor(i / 250)}.${2 + (i % 250)}`;
}
