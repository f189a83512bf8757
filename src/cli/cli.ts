/**
 * `lime`: runs one command line and returns its exit code (see `exit_codes.ts`). `main.ts` calls
 * it with the real process; the commands live in `commands/`.
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { type CommandName, parseCliArgs } from "./args.ts";
import type { CommandRunner } from "./command_context.ts";
import { ping } from "./commands/ping.ts";
import { register } from "./commands/register.ts";
import { get, remove, set } from "./commands/resource.ts";
import { send } from "./commands/send.ts";
import { watch } from "./commands/watch.ts";
import { classify, ExitCode, UsageError } from "./exit_codes.ts";
import { Printer, useColor } from "./output.ts";
import type { CliIo } from "./terminal.ts";
import { COMMAND_USAGE, usage } from "./usage.ts";

/** The version, from deno.json. */
export const CLI_VERSION: string = denoJson.version;

const RUNNERS: Readonly<Record<CommandName, CommandRunner>> = {
  ping,
  send,
  get,
  set,
  delete: remove,
  watch,
  register,
};

/** The command named in `argv`, if any (for the usage line of an error). */
function commandIn(argv: readonly string[]): CommandName | undefined {
  return (Object.keys(RUNNERS) as CommandName[]).find((name) => argv.includes(name));
}

function usageHint(io: CliIo, command: CommandName | undefined): void {
  if (command) {
    io.err(COMMAND_USAGE[command].split("\n")[0]);
    io.err(`Run "lime ${command} --help" for more.`);
  } else {
    io.err('Usage: lime COMMAND [ARGUMENTS] [OPTIONS]\nRun "lime --help" for the commands.');
  }
}

/** Runs `lime` with `argv` (the arguments after the program's name). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`error: ${error.message}`);
    usageHint(io, commandIn(argv));
    return ExitCode.USAGE;
  }
  if (parsed.action === "help") {
    io.out(usage(parsed.command));
    return ExitCode.OK;
  }
  if (parsed.action === "version") {
    io.out(`lime ${CLI_VERSION}`);
    return ExitCode.OK;
  }
  const { command, args, options } = parsed;
  const printer = new Printer(io, { json: options.json, color: useColor(options.color, io) });
  try {
    return await RUNNERS[command]({ args, options, io, printer });
  } catch (error) {
    const { exitCode, message } = classify(error);
    printer.error(message);
    if (exitCode === ExitCode.USAGE) usageHint(io, command);
    return exitCode;
  }
}
