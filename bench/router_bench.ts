/**
 * `Router.route` in isolation: a message from one session to another's node, through a channel
 * stub that takes it at once (no transport, no codec). What the routing decision costs per
 * envelope, telemetry hooks included (the tracer check and the per-kind tallies, with no
 * provider registered). Run: `deno bench bench/router_bench.ts`; compare the minimum, which GC of
 * the stub's promises does not reach.
 * @module
 */
import { Message } from "../src/envelope.ts";
import { Router } from "../src/server/router.ts";
import type { ServerChannel } from "../src/channel/server_channel.ts";
import { ServerSession } from "../src/server/server_session.ts";
import { SessionRegistry } from "../src/server/session_registry.ts";

const taken = Promise.resolve();
const channel = {
  sendMessage: () => taken,
  sendNotification: () => taken,
  sendCommand: () => taken,
} as unknown as ServerChannel;
const registry = new SessionRegistry();
const alice = new ServerSession(channel, "alice@localhost/home", "member", "guest");
const bob = new ServerSession(channel, "bob@localhost/home", "member", "guest");
// Guests are targets once established (the server marks them so as it sends `established`).
for (const session of [alice, bob]) {
  session.markEstablished();
  registry.add(session);
}
const router = new Router(registry, "localhost", "postmaster@localhost", {
  processCommand: () => Promise.reject(new Error("no server resources here")),
});
const envelopes = Array.from(
  { length: 1024 },
  () => new Message("text/plain", "x".repeat(150), { to: "bob@localhost/home" }),
);
let next = 0;

Deno.bench("Router.route: a message to a node", () => {
  const envelope = envelopes[next++ & 1023];
  envelope.from = undefined;
  router.route(alice, envelope);
});
