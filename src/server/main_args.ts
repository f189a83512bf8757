/**
 * Command-line flags (and the optional JSON config file) of `deno task start`.
 * @module
 */

/** The parsed configuration. */
export interface ServerConfig {
  /** Served domain. */
  domain: string;
  /** TCP listener, or false. */
  tcp: false | { hostname: string; port: number };
  /** WebSocket listener, or false. */
  ws: false | { hostname: string; port: number };
  /** Data folder, or `:memory:`. */
  data: string;
  /** Accounts to create or reset. */
  accounts: { identity: string; password: string }[];
  /** TLS certificate and key (PEM text), when given. */
  tls?: { cert: string; key: string };
  /** Whether guests are accepted. */
  guest: boolean;
}

function endpoint(value: string, flag: string): false | { hostname: string; port: number } {
  if (value === "off") return false;
  const colon = value.lastIndexOf(":");
  const port = Number(value.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`--${flag} must be HOST:PORT or off, got "${value}"`);
  }
  return { hostname: value.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}

/** Parses flags; throws a TypeError naming the bad one. */
export async function parseServerArgs(args: readonly string[]): Promise<ServerConfig> {
  const flags = new Map<string, string[]>();
  for (const arg of args) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new TypeError(`Unknown argument "${arg}"`);
    flags.set(match[1], [...(flags.get(match[1]) ?? []), match[2] ?? "true"]);
  }
  let file: Record<string, unknown> = {};
  const configPath = flags.get("config")?.at(-1);
  if (configPath) file = JSON.parse(await Deno.readTextFile(configPath));
  const value = (name: string): string | undefined =>
    flags.get(name)?.at(-1) ?? (file[name] === undefined ? undefined : String(file[name]));
  const known = [
    "domain",
    "tcp",
    "ws",
    "data",
    "account",
    "tls-cert",
    "tls-key",
    "no-guest",
    "config",
  ];
  for (const name of flags.keys()) {
    if (!known.includes(name)) throw new TypeError(`Unknown flag --${name}`);
  }
  const accounts = [
    ...((file.accounts as string[] | undefined) ?? []),
    ...(flags.get("account") ?? []),
  ].map((spec) => {
    const colon = spec.indexOf(":");
    if (colon < 1 || !spec.slice(0, colon).includes("@")) {
      throw new TypeError(`--account must be name@domain:password, got "${spec}"`);
    }
    return { identity: spec.slice(0, colon), password: spec.slice(colon + 1) };
  });
  const certFile = value("tls-cert");
  const keyFile = value("tls-key");
  if (!!certFile !== !!keyFile) throw new TypeError("--tls-cert and --tls-key go together");
  return {
    domain: value("domain") ?? "localhost",
    tcp: endpoint(value("tcp") ?? "127.0.0.1:55321", "tcp"),
    ws: endpoint(value("ws") ?? "127.0.0.1:8080", "ws"),
    data: value("data") ?? "./data",
    accounts,
    ...(certFile && keyFile
      ? { tls: { cert: await Deno.readTextFile(certFile), key: await Deno.readTextFile(keyFile) } }
      : {}),
    guest: value("no-guest") === undefined,
  };
}
