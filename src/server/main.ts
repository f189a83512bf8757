/**
 * `deno task start`: runs a LIME server on the embedded defaults (domain `localhost`, TCP on
 * 127.0.0.1:55321, WebSocket on 127.0.0.1:8080, the HTTP API on 127.0.0.1:8081, accounts in
 * `./data/lime.kv`) and stops it
 * gracefully on SIGINT/SIGTERM.
 *
 * Run `deno task start --help` for the flags (the table in `main_flags.ts`). Accounts come from
 * `--accounts-file=FILE` or the `LIME_ACCOUNTS` environment variable (one `name@domain:password`
 * per line); `--account=name@domain:password` is for development, since ps shows it. A bad flag
 * prints `error: <problem>` and the usage to stderr and exits with code 2; a server that cannot
 * start (an address in use) prints `error: <problem and fix>` and exits with code 1.
 * @module
 */
import { type AccountStore, KvAccountStore } from "./account_store.ts";
import type { ClusterEngine } from "../cluster/engine.ts";
import { LimeServer } from "./lime_server.ts";
import { ACCOUNTS_ENV, seedAccounts } from "./main_accounts.ts";
import { startProblem } from "./main_errors.ts";
import { parseServerArgs, type ServerArgs, USAGE, UsageError, VERSION } from "./main_args.ts";

let args: ServerArgs;
try {
  args = await parseServerArgs(Deno.args);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`error: ${error.message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (args.action === "help") {
  console.log(USAGE);
  Deno.exit(0);
}
if (args.action === "version") {
  console.log(VERSION);
  Deno.exit(0);
}
const { config, warnings } = args;
for (const warning of warnings) console.error(warning);
// Read once; a process this server starts does not inherit the passwords.
Deno.env.delete(ACCOUNTS_ENV);

let path = config.data;
let store: AccountStore;
let engine: ClusterEngine | undefined;
const cluster = config.cluster;
if (cluster) {
  // Loaded only here: a one-process server never loads the Redis client.
  const { RedisEngine } = await import("../cluster/redis_engine.ts");
  const { RedisAccountStore } = await import("../cluster/redis_account_store.ts");
  path = `${cluster.redis} (engine redis)`;
  try {
    store = await RedisAccountStore.open(cluster.redis, `lime:${config.domain}:`);
  } catch (error) {
    console.error(`error: cannot reach Redis at ${cluster.redis}: ${(error as Error).message}`);
    Deno.exit(1);
  }
  engine = new RedisEngine({
    url: cluster.redis,
    ttl: cluster.ttl,
    hopTimeout: Math.max(5_000, 2 * cluster.ttl),
  });
} else {
  if (path !== ":memory:") {
    await Deno.mkdir(path, { recursive: true });
    path = `${path}/lime.kv`;
  }
  store = await KvAccountStore.open(path);
}
const seeded = await seedAccounts(store, config.accounts);
const server = new LimeServer({
  domain: config.domain,
  store,
  ...(engine ? { engine } : {}),
  guest: config.guest,
  ...config.server,
  tcp: config.tcp && { ...config.tcp, ...(config.tls ? { tls: config.tls } : {}) },
  websocket: config.ws && { ...config.ws, ...(config.tls ?? {}) },
  http: config.http && { ...config.http, ...(config.tls ?? {}) },
});
try {
  await server.start();
} catch (error) {
  if (engine && !/EADDRINUSE|address already in use/i.test(String(error))) {
    console.error(`error: the cluster engine cannot start: ${(error as Error).message}`);
  } else console.error(`error: ${startProblem(error, config)}`);
  await server.shutdown().catch(() => {});
  store.close();
  Deno.exit(1);
}
console.log(`LIME server ${server.serverNode}`);
if (server.tcpAddress) {
  console.log(`  TCP        net.tcp://${server.tcpAddress}${config.tls ? " (TLS offered)" : ""}`);
}
if (server.websocketAddress) {
  console.log(`  WebSocket  ${config.tls ? "wss" : "ws"}://${server.websocketAddress}`);
}
if (server.httpAddress) {
  console.log(`  HTTP       ${config.tls ? "https" : "http"}://${server.httpAddress}`);
}
if (engine && "serverId" in engine) {
  console.log(`  cluster    ${cluster?.redis}, server ${engine.serverId}`);
}
console.log(
  `  accounts   ${path}` +
    (config.accounts.length ? ` (${seeded.created} created, ${seeded.updated} updated)` : ""),
);

let stopping = false;
const stop = async () => {
  if (stopping) return; // a second signal while shutting down changes nothing
  stopping = true;
  console.log("shutting down…");
  await server.shutdown();
  store.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
