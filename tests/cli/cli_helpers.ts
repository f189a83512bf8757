/**
 * Helpers for the tests of `lime` (src/cli/), which run it as a user would: `deno run` with the
 * permissions of the `lime` task of deno.json (so the tests prove they suffice), against a real
 * LimeServer started in the test.
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { LineReader } from "../server_start_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { ROOT } from "../test_utils.ts";

/** The `lime` task of deno.json, split into its arguments (`deno run <flags> src/cli/main.ts`). */
export const LIME_TASK: string[] = denoJson.tasks.lime.split(" ");

/** The `deno run` arguments of the task, with src/cli/main.ts as an absolute path. */
export const LIME_ARGS: string[] = LIME_TASK.slice(1).map((arg) =>
  arg === "src/cli/main.ts" ? `${ROOT}/src/cli/main.ts` : arg
);

/** What a finished `lime` run printed. */
export interface LimeRun {
  /** The exit code. */
  code: number;
  /** All of stdout. */
  stdout: string;
  /** All of stderr. */
  stderr: string;
}

/** How to run `lime`. */
export interface LimeRunOptions {
  /** Extra environment variables (LIME_PASSWORD, ...). */
  env?: Record<string, string>;
  /** Text for stdin (otherwise stdin is empty, not a terminal). */
  stdin?: string;
  /** Killed after this many ms. Default 20 s. */
  timeout?: number;
}

const decoder = new TextDecoder();

/** Runs `lime ...args` to its end. */
export async function lime(args: string[], options: LimeRunOptions = {}): Promise<LimeRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...LIME_ARGS, ...args],
    cwd: ROOT,
    env: options.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeout ?? 20_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const output = await child.output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A `lime` process still running (`watch`), killed on dispose if it has not ended. */
export class LimeProcess implements AsyncDisposable {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Its stdout, line by line. */
  readonly stdout: LineReader;
  /** Its stderr, line by line. */
  readonly stderr: LineReader;
  /** Its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  exited = false;

  /** Starts `command ...args` (default: `deno run <task flags> src/cli/main.ts`). */
  constructor(args: string[], env: Record<string, string> = {}, command?: string[]) {
    const [program, ...rest] = command ?? [Deno.execPath(), ...LIME_ARGS];
    this.child = new Deno.Command(program, {
      args: [...rest, ...args],
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new LineReader(this.child.stdout);
    this.stderr = new LineReader(this.child.stderr);
    this.status = this.child.status.finally(() => this.exited = true);
  }

  /** Waits for the stderr line saying `lime watch` is watching; resolves with its node. */
  async watching(): Promise<string> {
    const match = await within(
      this.stderr.find(/watching as (\S+)/, () => this.exited),
      15_000,
      "the watching line",
    );
    return match[1];
  }

  /** Waits for the exit; resolves with the code. */
  async exit(ms = 10_000): Promise<number> {
    const status = await within(this.status, ms, "lime's exit");
    await Promise.all([this.stdout.done, this.stderr.done]);
    return status.code;
  }

  /** Kills it if still running and waits for it and its output. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.exited) this.child.kill("SIGKILL");
    await this.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
  }
}
