/**
 * What a receiving session's slow-reader record holds on to: a `LimeServer` (TCP on 127.0.0.1,
 * rate limit off) routes `--messages` (default 8,192) messages of 10 KB with ids from one
 * `ClientChannel` to another, which reads them all; then the V8 heap used, after collection, is
 * compared with before (`ServerSession.handedOver` keeps a record of the last 4,096 to 8,192
 * messages with ids every session was handed, for slow-reader receipts).
 *
 * `deno run -A --unstable-kv --v8-flags=--expose-gc bench/unread_heap.ts [--messages=8192]`
 * @module
 */
import { ClientChannel } from "../src/channel/client_channel.ts";
import { Message } from "../src/envelope.ts";
import { KvAccountStore } from "../src/server/account_store.ts";
import { LimeServer } from "../src/server/lime_server.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { numberOption } from "./cli_option.ts";

const MESSAGES = numberOption("messages", 8192, { min: 1, max: 100_000, integer: true });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

const store = await KvAccountStore.open(":memory:");
const server = new LimeServer({
  store,
  tcp: { hostname: "127.0.0.1", port: 0 },
  websocket: false,
  http: false,
  rateLimit: 0,
});
await server.start();

async function login(identity: string): Promise<ClientChannel> {
  const transport = new TcpTransport();
  await transport.open(`net.tcp://${server.tcpAddress}`);
  const channel = new ClientChannel(transport);
  await channel.establishSession({ identity, instance: "x" });
  return channel;
}

const sender = await login("sender@localhost");
const reader = await login("reader@localhost");
let got = 0;
const all = new Promise<void>((resolve) =>
  reader.onMessage(() => {
    if (++got === MESSAGES) resolve();
  })
);
const content = "x".repeat(10_000);
gc();
const before = Deno.memoryUsage().heapUsed;
for (let i = 0; i < MESSAGES; i++) {
  await sender.sendMessage(
    new Message("text/plain", `${content}${i}`, { id: `m${i}`, to: "reader@localhost/x" }),
  );
}
await all;
for (let i = 0; i < 3; i++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const held = Deno.memoryUsage().heapUsed - before;
console.log(
  `heap held after ${MESSAGES} routed 10 KB messages with ids, all read: ` +
    `${(held / 2 ** 20).toFixed(1)} MiB (Deno ${Deno.version.deno})`,
);
await sender.close();
await reader.close();
await server.shutdown();
store.close();
