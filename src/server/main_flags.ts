/**
 * The flags of `deno task start`: one entry of {@link SERVER_FLAGS} per flag (name, type, help
 * line, how its value lands in the {@link ServerConfig}), and the usage text generated from it.
 * The `--config` file takes the same names as keys.
 *
 * To add a flag: a field in `ServerConfig` (with its default in {@link newDraft} when it has no
 * `default` string), an entry in the table, and its use in `main.ts`. Value parsers
 * ({@link endpoint}, {@link integer}) throw a one-line {@link UsageError} naming the flag.
 * @module
 */
import { quoteForError } from "../formats.ts";
import { Identity } from "../identity.ts";
import { endpoint, integer, text, UsageError } from "./main_values.ts";
import {
  ACCOUNT_LIMITS,
  type AccountEntry,
  ACCOUNTS_ENV,
  type StartAccount,
} from "./main_accounts.ts";
import { type LimeServerOptions, SERVER_DEFAULTS } from "./server_options.ts";
import { DEFAULT_HTTP_PORT } from "../http/http_listener.ts";
import { LIMIT_FLAGS } from "./main_limit_flags.ts";
import { LOG_LEVELS, type LogFormat, type ServerLogLevel } from "../observability/log_setup.ts";

export { endpoint, integer, UsageError } from "./main_values.ts";

/** The Redis of `--engine=redis` without `--redis`. */
export const DEFAULT_REDIS = "redis://127.0.0.1:6379";

/** The parsed configuration. */
export interface ServerConfig {
  /** Served domain. */
  domain: string;
  /** TCP listener, or false. */
  tcp: false | { hostname: string; port: number };
  /** WebSocket listener, or false. */
  ws: false | { hostname: string; port: number };
  /** HTTP port (the HTTP API, `/healthz`, WebSocket through `Deno.serve`), or false. */
  http: false | { hostname: string; port: number };
  /** Data folder, or `:memory:`. */
  data: string;
  /** Accounts to create or reset (checked: served domain, limits, no duplicates). */
  accounts: StartAccount[];
  /** TLS certificate and key (PEM text), when given. */
  tls?: { cert: string; key: string };
  /** Whether guests are accepted. */
  guest: boolean;
  /** How the server logs (`--log-format`, `--log-level`). */
  log: { format: LogFormat; level: ServerLogLevel };
  /**
   * With `--engine=redis`: the Redis of the cluster, and the TTL (ms) of a server's liveness and
   * directory entries. Absent: the memory engine (this process alone).
   */
  cluster?: { redis: string; ttl: number };
  /** Limits and trust settings passed to the server as they are. */
  server: Pick<
    LimeServerOptions,
    | "maxSessions"
    | "maxSessionsPerAddress"
    | "maxEstablishing"
    | "maxEstablishingPerAddress"
    | "rateLimit"
    | "trustProxy"
    | "trustProxyTls"
    | "plainWithoutTls"
    | "webhooks"
    | "traceRouting"
  >;
}

/** What the flag table fills in; `parseServerArgs` (main_args.ts) makes a `ServerConfig` of it. */
export interface ConfigDraft {
  /** The configuration, defaults first; `accounts` and `tls` are filled in at the end. */
  config: ServerConfig;
  /** Accounts from the config file's `accounts`, then from `--account`, unchecked. */
  accounts: AccountEntry[];
  /** `--accounts-file`. */
  accountsFile?: string;
  /** `--tls-cert`. */
  tlsCert?: string;
  /** `--tls-key`. */
  tlsKey?: string;
  /** `--engine`. */
  engine?: "memory" | "redis";
  /** `--redis`. */
  redis?: string;
  /** `--cluster-ttl`. */
  clusterTtl?: number;
}

/** One flag of `deno task start`. */
export interface ServerFlag {
  /** Long name, without dashes; also its key in the `--config` file. */
  readonly name: string;
  /** One-letter alias. */
  readonly short?: string;
  /** `boolean` flags take no value, `string` ones take one. */
  readonly type: "string" | "boolean";
  /** Whether the flag may repeat (each value is applied, in order). */
  readonly multiple?: boolean;
  /** The value's placeholder in the usage, e.g. `HOST:PORT|off`. */
  readonly value?: string;
  /** The value applied before the config file and the flags; shown in the usage. */
  readonly default?: string;
  /** One line of help. */
  readonly help: string;
  /** Its key in the `--config` file: the name by default, `false` when the file cannot set it. */
  readonly fileKey?: string | false;
  /** Printed to stderr when the flag is on the command line. */
  readonly warning?: string;
  /**
   * Applies one value; `from` names it for messages (`--tcp`, `"tcp" in the --config file`; with
   * the position for a repeated flag: `--account #2`). Throws {@link UsageError}, whose message
   * holds no secret.
   */
  readonly apply?: (draft: ConfigDraft, value: string | boolean, from: string) => void;
}

/** A draft before defaults: what a flag without a `default` string leaves when it is absent. */
export function newDraft(): ConfigDraft {
  return {
    config: {
      domain: "",
      tcp: false,
      ws: false,
      http: false,
      data: "",
      accounts: [],
      guest: true,
      log: { format: "text", level: "info" },
      server: {},
    },
    accounts: [],
  };
}

/** Every flag of `deno task start`, in usage order. */
export const SERVER_FLAGS: readonly ServerFlag[] = [
  {
    name: "domain",
    type: "string",
    value: "D",
    default: SERVER_DEFAULTS.domain,
    help: "the domain served",
    apply: (draft, value, from) => {
      const domain = text(value);
      if (domain.length > 253 || Identity.tryParse(`@${domain}`)?.domain !== domain) {
        throw new UsageError(`${from} must be a domain name, got ${quoteForError(domain)}`);
      }
      draft.config.domain = domain;
    },
  },
  {
    name: "tcp",
    type: "string",
    value: "HOST:PORT|off",
    default: `${SERVER_DEFAULTS.tcpHostname}:${SERVER_DEFAULTS.tcpPort}`,
    help: "the TCP listener, port 0 for any free one",
    apply: (draft, value, from) => draft.config.tcp = endpoint(text(value), from),
  },
  {
    name: "ws",
    type: "string",
    value: "HOST:PORT|off",
    default: `${SERVER_DEFAULTS.websocketHostname}:${SERVER_DEFAULTS.websocketPort}`,
    help: "the WebSocket listener",
    apply: (draft, value, from) => draft.config.ws = endpoint(text(value), from),
  },
  {
    name: "http",
    type: "string",
    value: "HOST:PORT|off",
    default: `${SERVER_DEFAULTS.websocketHostname}:${DEFAULT_HTTP_PORT}`,
    help: "the HTTP port: the HTTP API, /healthz and /readyz",
    apply: (draft, value, from) => draft.config.http = endpoint(text(value), from),
  },
  {
    name: "data",
    type: "string",
    value: "DIR|:memory:",
    default: "./data",
    help: "the folder of lime.kv, or :memory: to keep nothing",
    apply: (draft, value, from) => {
      if (text(value) === "") throw new UsageError(`${from} must not be empty`);
      draft.config.data = text(value);
    },
  },
  {
    name: "engine",
    type: "string",
    value: "memory|redis",
    help: "memory (default): this process alone; redis: one server of a cluster on --redis",
    apply: (draft, value, from) => {
      if (value !== "memory" && value !== "redis") {
        throw new UsageError(`${from} must be memory or redis, got ${quoteForError(text(value))}`);
      }
      draft.engine = value;
    },
  },
  {
    name: "redis",
    type: "string",
    value: "URL",
    help: `the Redis of --engine=redis (default ${DEFAULT_REDIS})`,
    apply: (draft, value, from) => {
      if (!/^rediss?:\/\/[^\s]+$/.test(text(value))) {
        throw new UsageError(`${from} must be a redis:// or rediss:// URL`);
      }
      draft.redis = text(value);
    },
  },
  {
    name: "cluster-ttl",
    type: "string",
    value: "MS",
    help: "--engine=redis: a crashed server's sessions vanish within this (default 15000)",
    apply: (draft, value, from) => draft.clusterTtl = integer(text(value), from, 300, 3_600_000),
  },
  {
    name: "tls-cert",
    type: "string",
    value: "FILE",
    help: "PEM certificate, with --tls-key: TLS offered on TCP, wss",
    apply: (draft, value) => draft.tlsCert = text(value),
  },
  {
    name: "tls-key",
    type: "string",
    value: "FILE",
    help: "PEM private key, with --tls-cert",
    apply: (draft, value) => draft.tlsKey = text(value),
  },
  {
    name: "no-guest",
    type: "boolean",
    help: "refuse guest sessions",
    apply: (draft) => draft.config.guest = false,
  },
  {
    name: "plain-without-tls",
    type: "string",
    value: "loopback|anywhere|nowhere",
    help: "where plain and key may be used without TLS (default loopback)",
    apply: (draft, value, from) => {
      const rule = text(value);
      if (rule !== "loopback" && rule !== "anywhere" && rule !== "nowhere") {
        throw new UsageError(
          `${from} must be loopback, anywhere or nowhere, got ${quoteForError(rule)}`,
        );
      }
      draft.config.server.plainWithoutTls = rule;
    },
  },
  {
    name: "trust-proxy",
    type: "boolean",
    help: "take WebSocket clients' addresses from X-Forwarded-For (only behind your own proxy)",
    apply: (draft) => draft.config.server.trustProxy = true,
  },
  {
    name: "trust-proxy-tls",
    type: "boolean",
    help: "count X-Forwarded-Proto: https as TLS (only behind your own TLS-terminating proxy)",
    apply: (draft) => draft.config.server.trustProxyTls = true,
  },
  {
    name: "webhook-hosts",
    type: "string",
    value: "HOST[:PORT],...",
    help: "the only hosts webhooks may point to (default: any public host; never private ones)",
    apply: (draft, value, from) => {
      const hosts = text(value).split(",").map((host) => host.trim().toLowerCase());
      if (
        hosts.some((host) =>
          !/^[a-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(host)
        )
      ) {
        throw new UsageError(`${from} must be HOST or HOST:PORT, comma-separated`);
      }
      const current = draft.config.server.webhooks;
      if (current === false) return;
      draft.config.server.webhooks = {
        ...current,
        allowedHosts: hosts,
      };
    },
  },
  {
    name: "no-webhooks",
    type: "boolean",
    help: "turn webhooks (set /webhook) off",
    apply: (draft) => draft.config.server.webhooks = false,
  },
  ...LIMIT_FLAGS,
  {
    name: "log-format",
    type: "string",
    value: "text|json",
    default: "text",
    help: "log lines on stderr: text (colored on a TTY) or JSON lines",
    apply: (draft, value, from) => {
      if (value !== "text" && value !== "json") {
        throw new UsageError(`${from} must be text or json, got ${quoteForError(text(value))}`);
      }
      draft.config.log.format = value;
    },
  },
  {
    name: "log-level",
    type: "string",
    value: LOG_LEVELS.join("|"),
    default: "info",
    help: "the lowest level logged",
    apply: (draft, value, from) => {
      const level = LOG_LEVELS.find((level) => level === value);
      if (!level) {
        throw new UsageError(
          `${from} must be one of ${LOG_LEVELS.join(", ")}, got ${quoteForError(text(value))}`,
        );
      }
      draft.config.log.level = level;
    },
  },
  {
    name: "trace-routing",
    type: "string",
    value: "traced|all",
    help: "with OTEL_DENO=true: a span for traced envelopes only (default), or for all (costly)",
    apply: (draft, value, from) => {
      if (value !== "traced" && value !== "all") {
        throw new UsageError(`${from} must be traced or all, got ${quoteForError(text(value))}`);
      }
      draft.config.server.traceRouting = value;
    },
  },
  {
    name: "accounts-file",
    type: "string",
    value: "FILE",
    help: "accounts to create or reset: one name@domain:password per line",
    apply: (draft, value) => draft.accountsFile = text(value),
  },
  {
    name: "account",
    type: "string",
    multiple: true,
    value: "ID:PASSWORD",
    fileKey: "accounts",
    help: "one account (repeatable); for development: visible in ps",
    warning: "warning: --account puts passwords on the command line, where ps shows them to " +
      `every local user; use --accounts-file or ${ACCOUNTS_ENV} outside development`,
    apply: (draft, value, from) => draft.accounts.push({ text: text(value), where: from }),
  },
  {
    name: "config",
    type: "string",
    value: "FILE",
    fileKey: false,
    help: 'JSON object with the flags\' names as keys ("accounts": [...]); flags win',
  },
  { name: "help", short: "h", type: "boolean", fileKey: false, help: "print this help" },
  { name: "version", type: "boolean", fileKey: false, help: "print the version" },
];

function flagColumn(flag: ServerFlag): string {
  const long = `--${flag.name}${flag.value ? `=${flag.value}` : ""}`;
  return flag.short ? `-${flag.short}, ${long}` : long;
}

const width = Math.max(...SERVER_FLAGS.map((flag) => flagColumn(flag).length)) + 2;

/** The usage text, generated from {@link SERVER_FLAGS}. */
export const USAGE: string = [
  "Usage: deno task start [FLAGS]",
  "",
  "Runs a LIME server. A flag's value follows '=' or comes as the next argument.",
  "",
  "Flags:",
  ...SERVER_FLAGS.map((flag) =>
    `  ${flagColumn(flag).padEnd(width)}${flag.help}` +
    (flag.default ? ` (default ${flag.default})` : "")
  ),
  "",
  "Environment:",
  `  ${ACCOUNTS_ENV.padEnd(width)}accounts to create or reset, like --accounts-file`,
  `  ${"OTEL_DENO=true".padEnd(width)}export metrics and traces over OTLP (Deno's exporter;`,
  `  ${"".padEnd(width)}OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318)`,
  "",
  "Accounts: one name@domain:password per line, the password being everything after the first",
  "colon (trailing spaces too); blank lines and lines starting with # are skipped. The domain is",
  `the served one. At most ${ACCOUNT_LIMITS.count} accounts, ` +
  `${ACCOUNT_LIMITS.textBytes / 1024 / 1024} MiB of text, passwords of 1 to ` +
  `${ACCOUNT_LIMITS.passwordChars} characters.`,
  "An existing account gets the new password. --account is for development: ps shows it.",
].join("\n");
