/**
 * Three real server processes (`deno task start --engine=redis`) on one real Redis, with clients
 * spread over them: everything a client does works the same whichever server it landed on.
 */
import assert from "node:assert/strict";
import {
  type ClientChannel,
  ClientChannel as Channel,
  Command,
  type Envelope,
  Message,
  TcpTransport,
} from "../../mod.ts";
import { json, PRESENCE, RECEIPT } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { ProcessCluster } from "./process_cluster.ts";

async function login(address: string, node: string): Promise<ClientChannel> {
  const transport = new TcpTransport();
  await transport.open(`net.tcp://${address}`);
  const channel = new Channel(transport);
  const [identity, instance] = node.split("/");
  await within(channel.establishSession({ identity, instance }), 5000, `establishing ${node}`);
  return channel;
}

const next = async (client: ClientChannel, kind: "message" | "notification") =>
  json(
    await within(
      kind === "message"
        ? client.receiveMessage() as Promise<Envelope>
        : client.receiveNotification() as Promise<Envelope>,
      5000,
      `${kind} for ${client.localNode}`,
    ),
  ) as Record<string, unknown>;

Deno.test("cluster of three processes routes by node and identity, receipts, commands, /ping, 42 and 32", async (t) => {
  await using cluster = await ProcessCluster.start(3);
  const [a, b, c] = cluster.servers.map((server) => server.address);
  const alice = await login(a, "alice@localhost/a");
  const bob = await login(b, "bob@localhost/b");
  const carolOnB = await login(b, "carol@localhost/1");
  const carolOnC = await login(c, "carol@localhost/2");
  const clients = [alice, bob, carolOnB, carolOnC];
  try {
    await alice.setResource("/receipt", RECEIPT, { events: ["dispatched"] });
    await t.step("by node, with dispatched from the other server", async () => {
      await alice.sendMessage(new Message("text/plain", "hi", { id: "1", to: "bob@localhost/b" }));
      assert.equal((await next(bob, "message")).from, "alice@localhost/a");
      const receipt = await next(alice, "notification");
      assert.deepEqual([receipt.event, receipt.id], ["dispatched", "1"]);
    });
    await t.step("by identity: every available session, on two other servers", async () => {
      await alice.sendMessage(new Message("text/plain", "all", { id: "2", to: "carol@localhost" }));
      assert.equal((await next(carolOnB, "message")).id, "2");
      assert.equal((await next(carolOnC, "message")).id, "2");
      const events = [await next(alice, "notification"), await next(alice, "notification")];
      assert.deepEqual(events.map((e) => e.event), ["dispatched", "dispatched"]);
    });
    await t.step("by identity with priority across servers", async () => {
      for (const [client, priority] of [[carolOnB, 1], [carolOnC, 9]] as const) {
        await client.setResource("/presence", PRESENCE, {
          status: "available",
          routingRule: "identityByPriority",
          priority,
        });
      }
      await alice.sendMessage(
        new Message("text/plain", "best", { id: "3", to: "carol@localhost" }),
      );
      assert.equal((await next(carolOnC, "message")).id, "3");
      assert.equal((await next(alice, "notification")).event, "dispatched");
    });
    await t.step("a command to a node on another server, and its response", async () => {
      bob.onCommand((request) =>
        bob.sendCommand(
          new Command(request.method, undefined, {
            id: request.id,
            to: request.from,
            status: "success",
            type: "text/plain",
            resource: "bob's status",
          }),
        )
      );
      const response = await within(
        alice.processCommand(new Command("get", "/status", { id: "c", to: "bob@localhost/b" })),
      );
      assert.equal(response.resource, "bob's status");
      // A ping to a node on another server is answered by that node's client.
      const pong = await within(
        carolOnC.processCommand(new Command("get", "/ping", { id: "p", to: "bob@localhost/b" })),
      );
      assert.equal(pong.status, "success");
      assert.deepEqual(await within(bob.getResource("/ping")), {});
    });
    await t.step("42 for an unknown node, 32 for a spoofed from", async () => {
      await bob.sendMessage(new Message("text/plain", "?", { id: "4", to: "nobody@localhost/x" }));
      const failed = await next(bob, "notification");
      assert.equal((failed.reason as { code: number }).code, 42);
      await bob.sendMessage(
        new Message("text/plain", "x", {
          id: "5",
          to: "alice@localhost/a",
          from: "alice@localhost",
        }),
      );
      const spoofed = await next(bob, "notification");
      assert.equal((spoofed.reason as { code: number }).code, 32);
    });
  } finally {
    await Promise.all(clients.map((client) => within(client.close(), 5000, "closing")));
  }
});
