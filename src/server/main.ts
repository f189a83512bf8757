/**
 * `deno task start`: runs a LIME server on the embedded defaults (domain `localhost`, TCP on
 * 127.0.0.1:55321, WebSocket on 127.0.0.1:8080, accounts in `./data/lime.kv`) and stops it
 * gracefully on SIGINT/SIGTERM.
 *
 * Flags: `--domain=D`, `--tcp=HOST:PORT` (or `--tcp=off`), `--ws=HOST:PORT` (or `--ws=off`),
 * `--data=DIR` (`--data=:memory:` keeps nothing), `--account=name@domain:password` (repeatable;
 * creates or resets the account), `--tls-cert=FILE --tls-key=FILE` (offers TLS on TCP and serves
 * wss), `--no-guest`, `--config=FILE` (a JSON file with the same keys, flags win).
 * @module
 */
import { KvAccountStore } from "./account_store.ts";
import { LimeServer } from "./lime_server.ts";
import { hashPassword } from "./password_hash.ts";
import { parseServerArgs } from "./main_args.ts";

const config = await parseServerArgs(Deno.args);
let path = config.data;
if (path !== ":memory:") {
  await Deno.mkdir(path, { recursive: true });
  path = `${path}/lime.kv`;
}
const store = await KvAccountStore.open(path);
for (const { identity, password } of config.accounts) {
  const existing = await store.getAccount(identity);
  const account = {
    identity,
    document: existing?.document ?? {},
    passwordHash: await hashPassword(password),
    ...(existing?.keyHash ? { keyHash: existing.keyHash } : {}),
  };
  if (existing) await store.updateAccount(account);
  else await store.createAccount(account);
}
const server = new LimeServer({
  domain: config.domain,
  store,
  guest: config.guest,
  tcp: config.tcp && { ...config.tcp, ...(config.tls ? { tls: config.tls } : {}) },
  websocket: config.ws && { ...config.ws, ...(config.tls ?? {}) },
});
await server.start();
console.log(`LIME server ${server.serverNode}`);
if (server.tcpAddress) {
  console.log(`  TCP        net.tcp://${server.tcpAddress}${config.tls ? " (TLS offered)" : ""}`);
}
if (server.websocketAddress) {
  console.log(`  WebSocket  ${config.tls ? "wss" : "ws"}://${server.websocketAddress}`);
}
console.log(`  accounts   ${path}`);

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
