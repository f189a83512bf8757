/**
 * Child processes of the load tools: every child is tracked so that it can be killed on exit or
 * interrupt, and {@link ServerProcess} drives `bench/server_load_server.ts` (a LimeServer in its
 * own process) through its stdin (`mem`, `cpu`, `quit`). Shared by `bench/server_load.ts` and
 * `tools/load.ts`.
 * @module
 */

const encoder = new TextEncoder();
const noop = () => {};
const children = new Set<Deno.ChildProcess>();

/**
 * The V8 flags `deno task start` runs the server with (deno.json; `tests/start_flags_test.ts`
 * checks that they agree): the benchmarks' server processes run with them too.
 *
 * `--no-incremental-marking-task`: V8 then marks the old generation concurrently and in steps
 * paced by allocation, not in tasks it posts to the main thread. Deno runs those tasks back to
 * back, so on an idle server holding many sessions a marking phase took the main thread for its
 * whole length (20,000 sessions: 200–340 ms of marking in a 300–450 ms phase) and every envelope
 * arriving meanwhile waited (`deno task c100k`: delivery p99 34 ms, max 94 ms; with the flag
 * 2.7 ms and 26 ms). Routed throughput and establishments did not change measurably.
 */
export const START_V8_FLAGS: readonly string[] = ["--no-incremental-marking-task"];

/**
 * The server process's V8 flags from `--server-v8-flags=a,b` (comma-separated; empty for none),
 * or {@link START_V8_FLAGS}: how the benchmarks compare a server with and without them.
 */
export function serverV8FlagsOption(): { flags: readonly string[]; given: boolean } {
  const arg = Deno.args.find((a) => a.startsWith("--server-v8-flags="));
  if (arg === undefined) return { flags: START_V8_FLAGS, given: false };
  const flags = arg.slice("--server-v8-flags=".length).split(",").filter(Boolean);
  const bad = flags.find((flag) => !/^--[a-z0-9-]+(=[\w.-]+)?$/.test(flag));
  if (bad !== undefined) {
    console.error(
      `error: --server-v8-flags: ${JSON.stringify(bad)} is not a V8 flag (--name[=value])`,
    );
    Deno.exit(2);
  }
  return { flags, given: true };
}

/** Spawns a tracked child process. */
export function spawn(
  command: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Deno.ChildProcess {
  const child = new Deno.Command(command, { args, ...options }).spawn();
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

/** Kills every tracked child still running (SIGKILL) and waits for it. */
export async function killChildren(): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status.catch(noop);
  }));
}

/**
 * Writes `value` as one JSON line, synchronously and whole (what a child process answers its
 * parent with; the parent reads line by line).
 */
export function printLine(
  value: unknown,
  out: { writeSync(p: Uint8Array): number } = Deno.stdout,
): void {
  const bytes = encoder.encode(JSON.stringify(value) + "\n");
  let written = 0;
  while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
}

/** Reads a byte stream line by line. */
export async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
  if (pending) yield pending;
}

/** Collects a child's stderr (so its pipe never fills); keeps the first 200 lines. */
export function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  return (async () => {
    for await (const line of linesOf(stream)) if (into.length < 200) into.push(line);
  })().catch(noop);
}

/** bench/server_load_server.ts in a child process, driven through its stdin. */
export class ServerProcess {
  /** The first lines the server wrote to stderr. */
  readonly stderr: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncGenerator<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderrDone: Promise<void>;
  /** The server's process id, once started. */
  pid = 0;
  /** Its TCP address (`host:port`), once started. */
  tcp = "";
  /** Its WebSocket address, once started. */
  ws = "";
  /** The baselines' addresses (`relays.ts`), once started. */
  relays = {
    tcpRelay: "",
    tcpEnvelopeRelay: "",
    tcpAccept: "",
    tcpScripted: "",
    wsDeno: "",
    wsNode: "",
  };

  /**
   * `profileDir`: run the server under `--cpu-prof`, writing its profile there when it quits;
   * `args`: passed to the server script (`--rate-limit=default`: the server's default rate limits
   * instead of none); `v8Flags`: besides `--expose-gc` (default: those of `deno task start`).
   */
  constructor(
    profileDir?: string,
    args: string[] = [],
    v8Flags: readonly string[] = START_V8_FLAGS,
  ) {
    this.#child = spawn(
      Deno.execPath(),
      [
        "run",
        "-A",
        `--v8-flags=${["--expose-gc", ...v8Flags].join(",")}`,
        ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
        new URL("./server_load_server.ts", import.meta.url).pathname,
        ...args,
      ],
      { stdin: "piped", stdout: "piped", stderr: "piped" },
    );
    this.#lines = linesOf(this.#child.stdout);
    this.#stdin = this.#child.stdin.getWriter();
    this.#stderrDone = collect(this.#child.stderr, this.stderr);
  }

  /** Waits for the server's hello line (its pid and addresses). */
  async start(): Promise<void> {
    const hello = await this.#next(30_000);
    this.pid = hello.pid as number;
    this.tcp = hello.tcp as string;
    this.ws = hello.ws as string;
    this.relays = {
      tcpRelay: String(hello.tcpRelay ?? ""),
      tcpEnvelopeRelay: String(hello.tcpEnvelopeRelay ?? ""),
      tcpAccept: String(hello.tcpAccept ?? ""),
      tcpScripted: String(hello.tcpScripted ?? ""),
      wsDeno: String(hello.wsDeno ?? ""),
      wsNode: String(hello.wsNode ?? ""),
    };
  }

  async #next(ms: number): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`the bench server did not answer within ${ms} ms\n${this.stderr.join("\n")}`),
          ),
        ms,
      );
    });
    try {
      const next = await Promise.race([this.#lines.next(), timeout]);
      if (next.done) throw new Error(`the bench server exited\n${this.stderr.join("\n")}`);
      return JSON.parse(next.value);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a command and returns the server's JSON answer. */
  async request(command: "mem" | "cpu"): Promise<Record<string, unknown>> {
    await this.#stdin.write(encoder.encode(command + "\n"));
    return await this.#next(30_000);
  }

  /**
   * Peak RSS (`VmHWM`) of the server process, bytes; NaN when unreadable. Read with `cat`: Deno
   * lets only `--allow-all` read another process's `/proc/<pid>/status`.
   */
  async peakRss(): Promise<number> {
    try {
      const { stdout, success } = await new Deno.Command("cat", {
        args: [`/proc/${this.pid}/status`],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!success) return NaN;
      const kib = new TextDecoder().decode(stdout).match(/^VmHWM:\s+(\d+) kB/m)?.[1];
      return kib ? Number(kib) * 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  /** Asks the server to quit (it shuts down and exits 0); kills it if it takes over 20 s. */
  async stop(): Promise<void> {
    try {
      await this.#stdin.write(encoder.encode("quit\n"));
      await this.#stdin.close();
    } catch { /* gone already */ }
    const killer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 20_000);
    try {
      // Drain stdout so the child never blocks on a full pipe.
      for await (const _ of this.#lines) { /* {"bye":true} */ }
      await this.#child.status;
      await this.#stderrDone;
    } finally {
      clearTimeout(killer);
    }
  }
}
