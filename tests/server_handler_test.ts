/**
 * LimeServer.handler inside the caller's own Deno.serve app (the Deno Deploy shape): LIME over
 * WebSocket on any path, other requests refused with 400, sessions routed like the listeners'.
 */
import assert from "node:assert/strict";
import { ClientChannel, KvAccountStore, LimeServer, Message, WebSocketTransport } from "../mod.ts";
import { within } from "./tcp_helpers.ts";

Deno.test("LimeServer.handler serves LIME over WebSocket inside another Deno.serve app", async () => {
  const store = await KvAccountStore.open(":memory:");
  const server = new LimeServer({ store, tcp: false, websocket: false });
  const app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request, info) =>
      new URL(request.url).pathname === "/health"
        ? new Response("ok")
        : server.handler(request, info),
  );
  const base = `127.0.0.1:${app.addr.port}`;
  try {
    assert.equal(await (await fetch(`http://${base}/health`)).text(), "ok");
    const plain = await fetch(`http://${base}/lime`);
    assert.equal(plain.status, 400);
    assert.match(await plain.text(), /lime/);

    const connect = async (node: string) => {
      const [identity, instance] = node.split("/");
      const transport = new WebSocketTransport();
      await transport.open(`ws://${base}/lime`);
      const channel = new ClientChannel(transport);
      await within(channel.establishSession({ identity, instance }), 3000, "establishing");
      return channel;
    };
    const alice = await connect("alice@localhost/web");
    const bob = await connect("bob@localhost/web");
    await alice.sendMessage(new Message("text/plain", "via Deploy", { to: "bob@localhost/web" }));
    const received = await within(bob.receiveMessage(), 3000, "the routed message");
    assert.equal(received.content, "via Deploy");
    assert.equal(received.from, "alice@localhost/web");
    assert.equal(server.registry.size, 2);
    await alice.finish();
    await bob.finish();
  } finally {
    await server.shutdown();
    await app.shutdown();
    store.close();
  }
});
