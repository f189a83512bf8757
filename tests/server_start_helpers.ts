/**
 * Helpers for the tests of `deno task start` (src/server/main.ts) as a subprocess: a line reader
 * for its output, a started server process that is killed on dispose, a run to completion, and
 * the command lines of a process and its descendants from /proc.
 * @module
 */
import { within } from "./tcp_helpers.ts";

/** src/server/main.ts. */
export const MAIN: string = new URL("../src/server/main.ts", import.meta.url).pathname;
/** The project's deno.json. */
export const DENO_JSON: string = new URL("../deno.json", import.meta.url).pathname;

/**
 * `args` with `--http=127.0.0.1:0` added unless they set `--http` (or read a `--config` file):
 * no test binds the default HTTP port (8081), which a developer's server may hold.
 */
export function withFreeHttpPort(args: string[]): string[] {
  return args.some((arg) => /^--(http|config)\b/.test(arg))
    ? args
    : ["--http=127.0.0.1:0", ...args];
}

/** Reads lines from a stream into an array, waking waiters on each line. */
export class LineReader {
  /** The lines read so far, without their newline. */
  readonly lines: string[] = [];
  /** Resolves when the stream ends. */
  readonly done: Promise<void>;
  #wake: () => void = () => {};

  /** Starts reading `stream`. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      let buffer = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          this.lines.push(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
        }
        this.#wake();
      }
      if (buffer) this.lines.push(buffer);
      this.#wake();
    })();
  }

  /** Resolves with the first line matching `pattern`'s match, waiting for it. */
  async find(pattern: RegExp, ended: () => boolean): Promise<RegExpExecArray> {
    for (;;) {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      if (ended()) throw new Error(`no line matches ${pattern}: ${this.lines.join("\n")}`);
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}

/** `deno run -A main.ts ...args` with piped output; killed (SIGKILL) on dispose if still running. */
export class StartProcess implements AsyncDisposable {
  /** The `deno run` process. */
  readonly child: Deno.ChildProcess;
  /** Its stdout, line by line. */
  readonly stdout: LineReader;
  /** Its stderr, line by line. */
  readonly stderr: LineReader;
  /** Its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  exited = false;

  /** Spawns it with `args` and extra `env` variables. */
  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--config=${DENO_JSON}`, MAIN, ...withFreeHttpPort(args)],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new LineReader(this.child.stdout);
    this.stderr = new LineReader(this.child.stderr);
    this.status = this.child.status.finally(() => this.exited = true);
  }

  /** Waits for the printed TCP address (`127.0.0.1:port`). */
  async tcpAddress(): Promise<string> {
    const match = await within(
      this.stdout.find(/TCP\s+net\.tcp:\/\/(127\.0\.0\.1:\d+)/, () => this.exited),
      10_000,
      "the TCP address line",
    );
    return match[1];
  }

  /** Kills the process if still running and waits for it and its output. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.exited) this.child.kill("SIGKILL");
    await this.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
  }
}

/** What a finished run printed. */
export interface StartRun {
  /** The exit code. */
  code: number;
  /** All of stdout. */
  stdout: string;
  /** All of stderr. */
  stderr: string;
}

/** Runs `deno run -A main.ts ...args` to its end (killed after 10 s). */
export async function runStart(
  args: string[],
  env: Record<string, string> = {},
): Promise<StartRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--config=${DENO_JSON}`, MAIN, ...withFreeHttpPort(args)],
    env,
    stdin: "null",
    signal: AbortSignal.timeout(10_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Reads the command lines of `pid` and of its descendants from /proc; runs in a `deno eval`
 * subprocess because Deno lets only `--allow-all` read /proc, and `deno task test` grants less.
 */
const READ_COMMAND_LINES = `
const pid = Number(Deno.args[0]);
const parents = new Map();
for await (const entry of Deno.readDir("/proc")) {
  if (!/^\\d+$/.test(entry.name)) continue;
  try {
    const stat = await Deno.readTextFile("/proc/" + entry.name + "/stat");
    // pid (comm) state ppid ...: comm may hold spaces and parentheses.
    parents.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
  } catch { /* ended meanwhile */ }
}
const tree = [pid];
for (let i = 0; i < tree.length; i++) {
  for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
}
const lines = [];
for (const one of tree) {
  try {
    lines.push((await Deno.readTextFile("/proc/" + one + "/cmdline")).replaceAll("\\0", " "));
  } catch { /* ended meanwhile */ }
}
console.log(JSON.stringify(lines));
`;

/** The command lines (arguments joined by spaces) of `pid` and its descendants, `pid`'s first. */
export async function commandLines(pid: number): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", READ_COMMAND_LINES, String(pid)],
    stdin: "null",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error("reading /proc failed");
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
