import assert from "node:assert/strict";
import { Command, Message, Notification } from "../../mod.ts";
import { json, nextMessage, nextNotification, PRESENCE, RECEIPT } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { TestCluster } from "./cluster_helpers.ts";

const text = (id: string | undefined, to: string, content: string) =>
  new Message("text/plain", content, { ...(id ? { id } : {}), to });

Deno.test("RedisEngine routes messages, receipts, commands and notifications between servers", async (t) => {
  await using cluster = await TestCluster.start(2);
  const alice = await cluster.login(0, "alice@localhost/a");
  const bob = await cluster.login(1, "bob@localhost/b");
  await alice.setResource("/receipt", RECEIPT, { events: ["accepted", "dispatched"] });

  await t.step("by node: delivered with from stamped; accepted, then dispatched", async () => {
    await alice.sendMessage(text("m1", "bob@localhost/b", "hi"));
    assert.deepEqual(await nextMessage(bob), {
      id: "m1",
      from: "alice@localhost/a",
      to: "bob@localhost/b",
      type: "text/plain",
      content: "hi",
    });
    assert.equal((await nextNotification(alice) as { event: string }).event, "accepted");
    assert.deepEqual(await nextNotification(alice), {
      event: "dispatched",
      id: "m1",
      from: "bob@localhost/b",
      to: "alice@localhost/a",
    });
  });

  await t.step("by identity; a notification from the receiver crosses back", async () => {
    await alice.sendMessage(text("m2", "bob@localhost", "by identity"));
    assert.equal((await nextMessage(bob) as { id: string }).id, "m2");
    await bob.sendNotification(
      new Notification("received", { id: "m2", to: "alice@localhost/a" }),
    );
    const events = new Set<string>();
    while (!events.has("received") || !events.has("dispatched")) {
      const notification = await nextNotification(alice) as { event: string; from: string };
      events.add(notification.event);
      if (notification.event === "received") assert.equal(notification.from, "bob@localhost/b");
    }
  });

  await t.step("42 for an unknown node, 32 for a spoofed sender", async () => {
    await alice.sendMessage(text("m3", "nobody@localhost/x", "?"));
    let failed = await nextNotification(alice) as { event: string; reason?: { code: number } };
    while (failed.event !== "failed") failed = await nextNotification(alice) as typeof failed;
    assert.equal(failed.reason?.code, 42);
    await alice.sendMessage(
      new Message("text/plain", "spoof", {
        id: "m4",
        to: "bob@localhost/b",
        from: "bob@localhost",
      }),
    );
    failed = await nextNotification(alice) as typeof failed;
    assert.equal(failed.event, "failed");
    assert.equal(failed.reason?.code, 32);
  });

  await t.step("a command to a node on another server and its response", async () => {
    bob.onCommand((request) => {
      bob.sendCommand(
        new Command(request.method, undefined, {
          id: request.id,
          to: request.from,
          status: "success",
          type: "text/plain",
          resource: "pong from bob",
        }),
      );
    });
    const response = await within(
      alice.processCommand(new Command("get", "/status", { id: "c1", to: "bob@localhost/b" })),
    );
    assert.equal(response.status, "success");
    assert.equal(response.resource, "pong from bob");
    assert.equal(response.from, "bob@localhost/b");
  });

  await t.step("/ping of the own server answers while the peer is elsewhere", async () => {
    assert.deepEqual(await within(alice.getResource("/ping")), {});
  });
});

Deno.test("RedisEngine routes an identity by presence across servers (identityByPriority)", async () => {
  await using cluster = await TestCluster.start(2);
  const sender = await cluster.login(0, "sender@localhost/s");
  const low = await cluster.login(0, "bot@localhost/low");
  const high = await cluster.login(1, "bot@localhost/high");
  await low.setResource("/presence", PRESENCE, {
    status: "available",
    routingRule: "identityByPriority",
    priority: 1,
  });
  await high.setResource("/presence", PRESENCE, {
    status: "available",
    routingRule: "identityByPriority",
    priority: 5,
  });
  await sender.sendMessage(text("p1", "bot@localhost", "to the best"));
  assert.equal((await nextMessage(high) as { id: string }).id, "p1");
  // The best one opts out: the remaining one on the sender's own server gets it.
  await high.setResource("/presence", PRESENCE, { status: "unavailable" });
  await sender.sendMessage(text("p2", "bot@localhost", "to the other"));
  assert.equal((await nextMessage(low) as { id: string }).id, "p2");
  // Nobody takes identity traffic any more: 42.
  await low.setResource("/presence", PRESENCE, { status: "available", routingRule: "instance" });
  await sender.sendMessage(text("p3", "bot@localhost", "nobody"));
  const failed = json(await within(sender.receiveNotification())) as { reason: { code: number } };
  assert.equal(failed.reason.code, 42);
});

Deno.test("RedisEngine keeps routing between a server's own sessions without Redis", async () => {
  await using cluster = await TestCluster.start(2);
  const alice = await cluster.login(0, "alice@localhost/a");
  const carol = await cluster.login(0, "carol@localhost/c");
  const bob = await cluster.login(1, "bob@localhost/b");
  await cluster.redis.stop();
  await alice.sendMessage(text("l1", "carol@localhost/c", "local by node"));
  assert.equal((await nextMessage(carol) as { id: string }).id, "l1");
  await alice.sendMessage(text("l2", "carol@localhost", "local by identity"));
  assert.equal((await nextMessage(carol) as { id: string }).id, "l2");
  await alice.sendMessage(text("r1", "bob@localhost/b", "remote"));
  const failed = json(await within(alice.receiveNotification())) as {
    id: string;
    reason: { code: number; description: string };
  };
  assert.equal(failed.id, "r1");
  assert.equal(failed.reason.code, 44);
  assert.match(failed.reason.description, /unreachable/);
  void bob;
});
