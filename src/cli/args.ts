/**
 * The command line of `lime`: one `node:util` `parseArgs` pass over all the options (so that
 * `--flag=value` and `--flag value` both work, before or after the command), then the command,
 * its arguments and which options it takes. Every problem is a one-line {@link UsageError}.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./exit_codes.ts";

/** The commands. */
export const COMMANDS = ["ping", "send", "get", "set", "delete", "watch", "register"] as const;
/** One of {@link COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

/** The options, for `parseArgs`. */
const OPTIONS = {
  server: { type: "string", short: "s" },
  identity: { type: "string", short: "i" },
  instance: { type: "string" },
  guest: { type: "boolean" },
  timeout: { type: "string", short: "t" },
  json: { type: "boolean" },
  color: { type: "string" },
  to: { type: "string" },
  type: { type: "string" },
  wait: { type: "string" },
  count: { type: "string", short: "n" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

/** The name of an option (without `--`). */
export type OptionName = keyof typeof OPTIONS;

/** Options every command takes. */
const COMMON: readonly OptionName[] = [
  "server",
  "identity",
  "instance",
  "guest",
  "timeout",
  "json",
  "color",
  "help",
];

/** What each command takes: its positional arguments (names) and its own options. */
export const COMMAND_SHAPES: Readonly<
  Record<CommandName, { args: readonly string[]; optional?: number; options: OptionName[] }>
> = {
  ping: { args: [], options: ["to"] },
  send: { args: ["TO", "TEXT"], options: ["type", "wait"] },
  get: { args: ["URI"], options: ["to"] },
  set: { args: ["URI", "JSON"], optional: 1, options: ["to", "type"] },
  delete: { args: ["URI"], options: ["to"] },
  watch: { args: [], options: ["count"] },
  register: { args: [], options: [] },
};

/** How colors are chosen. */
export type ColorChoice = "auto" | "always" | "never";

/** Events `send --wait` can wait for, in the order a message goes through them. */
export const WAIT_EVENTS = ["accepted", "dispatched", "received", "consumed"] as const;

/** The parsed command line. */
export type CliArgs =
  | { action: "help"; command?: CommandName }
  | { action: "version" }
  | { action: "run"; command: CommandName; args: string[]; options: CliOptions };

/** The options of a command, parsed and checked. */
export interface CliOptions {
  /** `--server`: a URI or a domain. */
  server?: string;
  /** `--identity`. */
  identity?: string;
  /** `--instance`. */
  instance?: string;
  /** `--guest`. */
  guest: boolean;
  /** `--timeout`, in milliseconds. */
  timeout: number;
  /** `--json`. */
  json: boolean;
  /** `--color`. */
  color: ColorChoice;
  /** `--to`. */
  to?: string;
  /** `--type`. */
  type?: string;
  /** `send --wait`: an event, or `none`. */
  wait: typeof WAIT_EVENTS[number] | "none";
  /** `watch --count`: stop after this many envelopes (0: never). */
  count: number;
}

/** Default `--timeout`, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

function parseError(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message?: string };
  const flag = /'(-[^' ]+)/.exec(message ?? "")?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      if (flag === "--password" || flag === "-p") {
        return new UsageError(
          `there is no ${flag}: give the password in LIME_PASSWORD, or run in a terminal to be ` +
            "asked for it (a command line is visible to every user of the machine)",
        );
      }
      return new UsageError(`unknown option ${flag}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (message?.includes("does not take")) return new UsageError(`${flag} takes no value`);
      if (message?.includes("ambiguous")) {
        return new UsageError(
          `${flag} needs a value (write ${flag}=VALUE for one starting with -)`,
        );
      }
      return new UsageError(`${flag} needs a value`);
    default:
      throw error;
  }
}

function isCommand(name: string | undefined): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name ?? "");
}

function positiveNumber(value: string, flag: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(number > 0)) {
    throw new UsageError(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** Parses `lime`'s command line. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw parseError(error);
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (command === "help") {
    const topic = args[0];
    if (topic !== undefined && !isCommand(topic)) {
      throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
    }
    return { action: "help", command: topic };
  }
  if (values.version && command === undefined) return { action: "version" };
  if (command === undefined) {
    if (values.help) return { action: "help" };
    throw new UsageError(`a command is needed: ${COMMANDS.join(", ")}`);
  }
  if (!isCommand(command)) {
    throw new UsageError(
      `unknown command ${JSON.stringify(command)} (the commands: ${COMMANDS.join(", ")})`,
    );
  }
  if (values.help) return { action: "help", command };
  const shape = COMMAND_SHAPES[command];
  for (const name of Object.keys(values) as OptionName[]) {
    if (values[name] === undefined || name === "version") continue;
    if (!COMMON.includes(name) && !shape.options.includes(name)) {
      throw new UsageError(`--${name} is not an option of "lime ${command}"`);
    }
  }
  const least = shape.args.length - (shape.optional ?? 0);
  if (args.length < least) {
    throw new UsageError(
      `"lime ${command}" needs ${shape.args.slice(args.length, least).join(" and ")}`,
    );
  }
  if (args.length > shape.args.length) {
    throw new UsageError(
      `"lime ${command}" takes ${shape.args.length || "no"} argument${
        shape.args.length === 1 ? "" : "s"
      }${shape.args.length ? ` (${shape.args.join(" ")})` : ""}; quote a text with spaces`,
    );
  }
  const color = values.color ?? "auto";
  if (color !== "auto" && color !== "always" && color !== "never") {
    throw new UsageError(`--color must be auto, always or never, got ${JSON.stringify(color)}`);
  }
  const wait = values.wait ?? "dispatched";
  if (wait !== "none" && !(WAIT_EVENTS as readonly string[]).includes(wait)) {
    throw new UsageError(
      `--wait must be ${WAIT_EVENTS.join(", ")} or none, got ${JSON.stringify(wait)}`,
    );
  }
  if (values.guest && command === "register") {
    throw new UsageError('"lime register" signs in as a guest by itself: leave out --guest');
  }
  return {
    action: "run",
    command,
    args,
    options: {
      server: values.server,
      identity: values.identity,
      instance: values.instance,
      guest: values.guest ?? false,
      timeout: 1000 *
        (values.timeout === undefined
          ? DEFAULT_TIMEOUT_SECONDS
          : positiveNumber(values.timeout, "--timeout")),
      json: values.json ?? false,
      color,
      to: values.to,
      type: values.type,
      wait: wait as CliOptions["wait"],
      count: values.count === undefined ? 0 : Math.floor(positiveNumber(values.count, "--count")),
    },
  };
}
