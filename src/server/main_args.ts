/**
 * Parses the command line of `deno task start` with `node:util`'s `parseArgs` (strict, no
 * positionals; `--flag=value` and `--flag value` both work) against the flag table of
 * `main_flags.ts`, then the optional JSON `--config` file, the TLS files and the accounts
 * (`--account`, `--accounts-file`, `LIME_ACCOUNTS`), each file read with a size limit.
 * @module
 */
import { parseArgs } from "node:util";
import denoJson from "../../deno.json" with { type: "json" };
import { quoteForError } from "../formats.ts";
import {
  ACCOUNT_LIMITS,
  accountLines,
  ACCOUNTS_ENV,
  checkAccounts,
  readTextFileBounded,
} from "./main_accounts.ts";
import {
  type ConfigDraft,
  DEFAULT_REDIS,
  newDraft,
  SERVER_FLAGS,
  type ServerConfig,
  UsageError,
} from "./main_flags.ts";

export {
  type ConfigDraft,
  SERVER_FLAGS,
  type ServerConfig,
  type ServerFlag,
  USAGE,
  UsageError,
} from "./main_flags.ts";

/** Largest `--config` and TLS file, in bytes. */
const MAX_FILE_BYTES = 1024 * 1024;

/** The version, from deno.json. */
export const VERSION: string = denoJson.version;

/** What the command line asks for. */
export type ServerArgs =
  | { action: "help" }
  | { action: "version" }
  | { action: "run"; config: ServerConfig; warnings: string[] };

/** Where {@link parseServerArgs} reads the environment and files (injectable for tests). */
export interface ArgsIo {
  /** An environment variable. Default `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** A UTF-8 file of at most `maxBytes`. Default {@link readTextFileBounded}. */
  readFile?: (path: string, maxBytes: number) => Promise<string>;
}

function parseError(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message?: string };
  const flag = /'(-[^' ]+)/.exec(message ?? "")?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown flag ${flag}`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      // Not quoted: a misplaced argument may be a password.
      return new UsageError("unexpected argument without a flag (every argument is a --flag)");
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

async function readFile(
  io: ArgsIo,
  path: string,
  what: string,
  maxBytes = MAX_FILE_BYTES,
): Promise<string> {
  try {
    return await (io.readFile ?? readTextFileBounded)(path, maxBytes);
  } catch (error) {
    const reason = error instanceof RangeError
      ? error.message
      : `cannot be read (${(error as Error).name})`;
    throw new UsageError(`${what} ${quoteForError(path)} ${reason}`);
  }
}

async function configFile(io: ArgsIo, path: string): Promise<Record<string, unknown>> {
  let file: unknown;
  try {
    file = JSON.parse(await readFile(io, path, "--config file"));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // JSON.parse's message quotes the text, which may hold passwords.
    throw new UsageError(`--config file ${quoteForError(path)} is not valid JSON`);
  }
  if (typeof file !== "object" || file === null || Array.isArray(file)) {
    throw new UsageError(`--config file ${quoteForError(path)} must hold a JSON object`);
  }
  return file as Record<string, unknown>;
}

function applyFile(draft: ConfigDraft, file: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(file)) {
    const flag = SERVER_FLAGS.find((flag) => (flag.fileKey ?? flag.name) === key);
    const from = `${JSON.stringify(key)} in the --config file`;
    if (!flag?.apply) {
      throw new UsageError(`unknown key ${quoteForError(key)} in the --config file`);
    }
    const values = flag.multiple && Array.isArray(value) ? value : [value];
    for (const [i, one] of values.entries()) {
      const ok = flag.type === "boolean"
        ? typeof one === "boolean"
        : typeof one === "string" || typeof one === "number";
      if (!ok) {
        throw new UsageError(
          `${from} must be ${flag.type === "boolean" ? "true or false" : "a string or a number"}${
            flag.multiple ? " (or an array of them)" : ""
          }`,
        );
      }
      if (one !== false) flag.apply(draft, one, flag.multiple ? `${from} #${i + 1}` : from);
    }
  }
}

/**
 * Parses the flags of `deno task start`: defaults, then the `--config` file, then the flags;
 * then reads the TLS files and the accounts (config file, `--account`, `--accounts-file`,
 * `LIME_ACCOUNTS`) and checks them together.
 *
 * @throws {UsageError} naming the problem in one line, never quoting a password.
 */
export async function parseServerArgs(
  args: readonly string[],
  io: ArgsIo = {},
): Promise<ServerArgs> {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        SERVER_FLAGS.map((flag) => [flag.name, {
          type: flag.type,
          ...(flag.multiple ? { multiple: true } : {}),
          ...(flag.short ? { short: flag.short } : {}),
        }]),
      ),
    }).values;
  } catch (error) {
    throw parseError(error);
  }
  if (values.help) return { action: "help" };
  if (values.version) return { action: "version" };

  const draft = newDraft();
  for (const flag of SERVER_FLAGS) {
    if (flag.default !== undefined) flag.apply?.(draft, flag.default, `default --${flag.name}`);
  }
  if (typeof values.config === "string") applyFile(draft, await configFile(io, values.config));
  const warnings: string[] = [];
  for (const flag of SERVER_FLAGS) {
    const value = values[flag.name];
    if (value === undefined) continue;
    if (flag.warning) warnings.push(flag.warning);
    const all = Array.isArray(value) ? value : [value];
    for (const [i, one] of all.entries()) {
      flag.apply?.(draft, one, flag.multiple ? `--${flag.name} #${i + 1}` : `--${flag.name}`);
    }
  }

  const { config } = draft;
  if (draft.engine === "redis") {
    config.cluster = { redis: draft.redis ?? DEFAULT_REDIS, ttl: draft.clusterTtl ?? 15_000 };
  } else if (draft.redis !== undefined || draft.clusterTtl !== undefined) {
    throw new UsageError("--redis and --cluster-ttl go with --engine=redis");
  }
  if ((draft.tlsCert === undefined) !== (draft.tlsKey === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  if (draft.tlsCert !== undefined && draft.tlsKey !== undefined) {
    config.tls = {
      cert: await readFile(io, draft.tlsCert, "--tls-cert file"),
      key: await readFile(io, draft.tlsKey, "--tls-key file"),
    };
  }
  const fromFile = draft.accountsFile === undefined ? [] : accountLines(
    await readFile(io, draft.accountsFile, "--accounts-file", ACCOUNT_LIMITS.textBytes),
    "--accounts-file",
  );
  const envText = (io.env ?? ((name) => Deno.env.get(name)))(ACCOUNTS_ENV) ?? "";
  if (new TextEncoder().encode(envText).length > ACCOUNT_LIMITS.textBytes) {
    throw new UsageError(`${ACCOUNTS_ENV} is larger than ${ACCOUNT_LIMITS.textBytes} bytes`);
  }
  try {
    config.accounts = checkAccounts(
      [...draft.accounts, ...fromFile, ...accountLines(envText, ACCOUNTS_ENV)],
      config.domain,
    );
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  return { action: "run", config, warnings };
}
