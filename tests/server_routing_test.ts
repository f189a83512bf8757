/**
 * LimeServer routing over real sockets on 127.0.0.1 (TCP and WebSocket, port 0): messages with
 * receipts, routing by instance, identity, presence and priority, refusals (spoofed sender,
 * unknown destination, other domain), commands between nodes, the same node connecting twice,
 * and the per-session limits (maxSessions, rateLimit, maxEnvelopeSize).
 *
 * "Receives nothing" is checked without sleeping: the sender follows the refused envelope with a
 * probe to the same session, and routing keeps a sender's order, so the probe must be the next
 * thing that session receives.
 */
import assert from "node:assert/strict";
import {
  Command,
  KvAccountStore,
  LimeError,
  LimeServer,
  ManualClock,
  Message,
  Notification,
  plainCredentials,
} from "../mod.ts";
import { stillPending, within } from "./tcp_helpers.ts";
import {
  connect,
  json,
  nextMessage,
  nextNotification,
  PRESENCE,
  RECEIPT,
  TestServer,
} from "./server_test_helpers.ts";

function text(content: string, to: string, id?: string, from?: string): Message {
  return new Message("text/plain", content, {
    to,
    ...(id ? { id } : {}),
    ...(from ? { from } : {}),
  });
}

/** The wire JSON of a routed text message: what `text()` sent, with the sender's node in `from`. */
function routedText(content: string, to: string, from: string, id?: string) {
  return { ...(id ? { id } : {}), type: "text/plain", content, to, from };
}

/** Polls `condition` every 10 ms, failing after `ms`. */
async function eventually(condition: () => boolean, ms = 2000, what = "condition"): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("LimeServer routes a message from a TCP client to a WebSocket client with accepted, dispatched and received receipts", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/home", { via: "tcp" });
  const bob = await t.login("bob@localhost/web", {
    via: "ws",
    channel: { autoNotifyReceipt: true },
  });
  assert.deepEqual(
    await alice.setResource("/receipt", RECEIPT, { events: ["accepted", "dispatched"] }),
    undefined,
  );

  await alice.sendMessage(text("Hi Bob", "bob@localhost", "m1"));
  assert.deepEqual(
    await nextMessage(bob),
    routedText("Hi Bob", "bob@localhost", "alice@localhost/home", "m1"),
  );
  // `accepted` goes out before the delivery; `dispatched` after the write and `received` after
  // Bob's round trip (their relative order is not fixed).
  assert.deepEqual(await nextNotification(alice), {
    event: "accepted",
    id: "m1",
    from: "bob@localhost",
    to: "alice@localhost/home",
  });
  const rest = [await nextNotification(alice), await nextNotification(alice)];
  rest.sort((a, b) => (a as { event: string }).event.localeCompare((b as { event: string }).event));
  assert.deepEqual(rest, [
    { event: "dispatched", id: "m1", from: "bob@localhost", to: "alice@localhost/home" },
    // Routed back to the sender with `from` stamped as the receiver's node.
    { event: "received", id: "m1", from: "bob@localhost/web", to: "alice@localhost/home" },
  ]);

  // The other way, without receipts: Bob gets only what Alice sends (her receipt comes first).
  await bob.sendMessage(text("Hi Alice", "alice@localhost/home", "m2"));
  assert.deepEqual(
    await nextMessage(alice),
    routedText("Hi Alice", "alice@localhost/home", "bob@localhost/web", "m2"),
  );
  await alice.sendMessage(text("probe", "bob@localhost/web"));
  assert.deepEqual(
    await nextMessage(bob),
    routedText("probe", "bob@localhost/web", "alice@localhost/home"),
  );
  // Bob asked for no receipts: the next notification he gets is the one Alice now sends him.
  await alice.sendNotification(
    new Notification("consumed", { id: "m2", to: "bob@localhost/web" }),
  );
  assert.deepEqual(await nextNotification(bob), {
    event: "consumed",
    id: "m2",
    to: "bob@localhost/web",
    from: "alice@localhost/home",
  });
});

Deno.test("LimeServer relays messages among three clients on TCP and WebSocket", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a", { via: "tcp" });
  const bob = await t.login("bob@localhost/b", { via: "ws" });
  const carol = await t.login("carol@localhost/c", { via: "ws" });
  assert.equal(t.server.registry.size, 3);
  await alice.sendMessage(text("to carol", "carol@localhost"));
  await bob.sendMessage(text("to carol too", "carol@localhost/c"));
  await carol.sendMessage(text("to alice", "alice@localhost"));
  await carol.sendMessage(text("to bob", "bob@localhost"));
  const atCarol = [await nextMessage(carol), await nextMessage(carol)];
  atCarol.sort((a, b) =>
    (a as { content: string }).content.localeCompare((b as { content: string }).content)
  );
  assert.deepEqual(atCarol, [
    routedText("to carol", "carol@localhost", "alice@localhost/a"),
    routedText("to carol too", "carol@localhost/c", "bob@localhost/b"),
  ]);
  assert.deepEqual(
    await nextMessage(alice),
    routedText("to alice", "alice@localhost", "carol@localhost/c"),
  );
  assert.deepEqual(
    await nextMessage(bob),
    routedText("to bob", "bob@localhost", "carol@localhost/c"),
  );
});

Deno.test("LimeServer routes a destination with an instance only to that session", async () => {
  await using t = await TestServer.start();
  const home = await t.login("alice@localhost/home", { via: "tcp" });
  const work = await t.login("alice@localhost/work", { via: "ws" });
  const bob = await t.login("bob@localhost/b");
  await bob.sendMessage(text("for work", "alice@localhost/work", "i1"));
  await bob.sendMessage(text("probe", "alice@localhost/home", "i2"));
  assert.deepEqual(
    await nextMessage(work),
    routedText("for work", "alice@localhost/work", "bob@localhost/b", "i1"),
  );
  assert.deepEqual(
    await nextMessage(home),
    routedText("probe", "alice@localhost/home", "bob@localhost/b", "i2"),
  );
  // Instance names compare case-insensitively.
  await bob.sendMessage(text("shouting", "ALICE@LOCALHOST/WORK"));
  assert.equal(((await nextMessage(work)) as { content: string }).content, "shouting");
});

Deno.test("LimeServer routes an identity to every available instance, minus unavailable and instance-only sessions", async () => {
  await using t = await TestServer.start();
  const home = await t.login("alice@localhost/home", { via: "tcp" });
  const work = await t.login("alice@localhost/work", { via: "ws" });
  const bob = await t.login("bob@localhost/b");
  const content = (envelope: unknown) => (envelope as { content: string }).content;

  await bob.sendMessage(text("both", "alice@localhost", "p1"));
  const expected = routedText("both", "alice@localhost", "bob@localhost/b", "p1");
  assert.deepEqual(await nextMessage(home), expected);
  assert.deepEqual(await nextMessage(work), expected);

  // Unavailable: no identity traffic, instance traffic still arrives.
  await work.setResource("/presence", PRESENCE, { status: "unavailable" });
  await bob.sendMessage(text("home only", "alice@localhost"));
  await bob.sendMessage(text("probe work", "alice@localhost/work"));
  assert.equal(content(await nextMessage(home)), "home only");
  assert.equal(content(await nextMessage(work)), "probe work");

  // routingRule instance: available, but only for its own node.
  await work.setResource("/presence", PRESENCE, { status: "available" });
  await home.setResource("/presence", PRESENCE, { status: "available", routingRule: "instance" });
  await bob.sendMessage(text("work only", "alice@localhost"));
  await bob.sendMessage(text("probe home", "alice@localhost/home"));
  assert.equal(content(await nextMessage(work)), "work only");
  assert.equal(content(await nextMessage(home)), "probe home");

  // No session takes identity traffic: the sender is told 42.
  await work.setResource("/presence", PRESENCE, { status: "unavailable" });
  await bob.sendMessage(text("nobody", "alice@localhost", "p2"));
  assert.deepEqual(await nextNotification(bob), {
    event: "failed",
    id: "p2",
    from: "alice@localhost",
    to: "bob@localhost/b",
    reason: { code: 42, description: 'The destination "alice@localhost" was not found' },
  });
});

Deno.test("LimeServer routes identityByPriority to the session with the highest priority", async () => {
  await using t = await TestServer.start();
  const home = await t.login("alice@localhost/home", { via: "tcp" });
  const work = await t.login("alice@localhost/work", { via: "ws" });
  const bob = await t.login("bob@localhost/b");
  const content = (envelope: unknown) => (envelope as { content: string }).content;
  const rule = { status: "available", routingRule: "identityByPriority" };

  await home.setResource("/presence", PRESENCE, { ...rule, priority: 1 });
  await work.setResource("/presence", PRESENCE, { ...rule, priority: 5 });
  await bob.sendMessage(text("to work", "alice@localhost"));
  await bob.sendMessage(text("probe home", "alice@localhost/home"));
  assert.equal(content(await nextMessage(work)), "to work");
  assert.equal(content(await nextMessage(home)), "probe home");

  await home.setResource("/presence", PRESENCE, { ...rule, priority: 9 });
  await bob.sendMessage(text("to home", "alice@localhost"));
  await bob.sendMessage(text("probe work", "alice@localhost/work"));
  assert.equal(content(await nextMessage(home)), "to home");
  assert.equal(content(await nextMessage(work)), "probe work");
});

Deno.test("LimeServer refuses a sender claiming another identity with failed 32 and delivers nothing", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/home", { via: "tcp" });
  const bob = await t.login("bob@localhost/b", { via: "ws" });

  await alice.sendMessage(text("spoofed", "bob@localhost/b", "s1", "carol@localhost/x"));
  assert.deepEqual(await nextNotification(alice), {
    event: "failed",
    id: "s1",
    from: "bob@localhost/b",
    to: "alice@localhost/home",
    reason: {
      code: 32,
      description: 'The sender is not authorized to send as "carol@localhost/x"',
    },
  });
  // A delegate of another identity is refused the same way.
  await alice.sendMessage(
    new Message("text/plain", "spoofed pp", {
      id: "s2",
      to: "bob@localhost/b",
      pp: "carol@localhost",
    }),
  );
  assert.deepEqual(await nextNotification(alice), {
    event: "failed",
    id: "s2",
    from: "bob@localhost/b",
    to: "alice@localhost/home",
    reason: { code: 32, description: 'The sender is not authorized to send as "carol@localhost"' },
  });
  // Another instance of her own identity is stamped with her real node.
  await alice.sendMessage(text("own identity", "bob@localhost/b", "s3", "alice@localhost/other"));
  assert.deepEqual(
    await nextMessage(bob),
    routedText("own identity", "bob@localhost/b", "alice@localhost/home", "s3"),
  );
});

Deno.test("LimeServer answers an unknown destination with 42 and another domain with 41", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/home");
  await t.login("bob@localhost/b");
  await alice.sendMessage(text("x", "nobody@localhost", "u1"));
  await alice.sendMessage(text("x", "bob@localhost/elsewhere", "u2"));
  await alice.sendMessage(text("x", "bob@example.org/b", "u3"));
  await alice.sendMessage(text("no id, no answer", "nobody@localhost"));
  await alice.sendMessage(text("x", "nobody@localhost", "u4"));
  const failed = (id: string, to: string, code: number, description: string) => ({
    event: "failed",
    id,
    from: to,
    to: "alice@localhost/home",
    reason: { code, description },
  });
  assert.deepEqual(
    await nextNotification(alice),
    failed("u1", "nobody@localhost", 42, 'The destination "nobody@localhost" was not found'),
  );
  assert.deepEqual(
    await nextNotification(alice),
    failed(
      "u2",
      "bob@localhost/elsewhere",
      42,
      'The destination "bob@localhost/elsewhere" was not found',
    ),
  );
  assert.deepEqual(
    await nextNotification(alice),
    failed(
      "u3",
      "bob@example.org/b",
      41,
      'The destination "bob@example.org/b" is in a domain this server does not route to',
    ),
  );
  assert.equal((await nextNotification(alice) as { id: string }).id, "u4");

  // A command request gets a failure response instead.
  const response = await within(
    alice.processCommand(new Command("get", "/status", { id: "c1", to: "nobody@localhost/x" })),
  );
  assert.deepEqual(json(response), {
    id: "c1",
    method: "get",
    from: "nobody@localhost/x",
    to: "alice@localhost/home",
    status: "failure",
    reason: { code: 42, description: 'The destination "nobody@localhost/x" was not found' },
  });
});

Deno.test("LimeServer reads the domain of a destination exactly: an @ in the instance, a longer or shorter domain, any case", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/home");
  const bob = await t.login("bob@localhost/b");
  const cases: [to: string, id: string, code: number][] = [
    ["bob@example.org/x@localhost", "d1", 41],
    ["bob@localhost.example/b", "d2", 41],
    ["bob@ocalhost/b", "d3", 41],
    ["bob@sub.localhost/b", "d4", 41],
    ["bob@localhost/b@localhost", "d5", 42],
    ["bob@localhostt", "d6", 41],
  ];
  for (const [to, id] of cases) await alice.sendMessage(text("x", to, id));
  for (const [to, id, code] of cases) {
    const failed = await nextNotification(alice) as {
      id: string;
      from: string;
      reason: { code: number };
    };
    assert.deepEqual([failed.id, failed.from, failed.reason.code], [id, to, code]);
  }
  // The domain compares without case, and an identity of the domain alone is the server's.
  await alice.sendMessage(text("hi", "BOB@LocalHost/b"));
  assert.equal((await within(bob.receiveMessage())).content, "hi");
});

Deno.test("LimeServer routes a command to another node and its response back to the requester", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/home", { via: "tcp" });
  const bob = await t.login("bob@localhost/web", { via: "ws" });

  const pending = alice.processCommand(
    new Command("get", "/status", { id: "cmd-1", to: "bob@localhost/web" }),
  );
  const request = await within(bob.receiveCommand());
  assert.deepEqual(json(request), {
    id: "cmd-1",
    method: "get",
    uri: "/status",
    to: "bob@localhost/web",
    from: "alice@localhost/home",
  });
  await bob.sendCommand(
    new Command("get", undefined, {
      id: request.id,
      to: request.from,
      status: "success",
      type: "text/plain",
      resource: "online",
    }),
  );
  assert.deepEqual(json(await within(pending)), {
    id: "cmd-1",
    method: "get",
    to: "alice@localhost/home",
    from: "bob@localhost/web",
    status: "success",
    type: "text/plain",
    resource: "online",
  });

  // Bob's channel answers pings by itself; addressed to his identity, it reaches his session.
  assert.deepEqual(await within(alice.getResource("/ping", { to: "bob@localhost" })), {});
});

Deno.test("LimeServer same node connecting twice: the old session ends failed 11 and the new one receives the traffic", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "pw");
  const credentials = plainCredentials("pw");
  const bob = await t.login("bob@localhost/b");
  const old = await t.login("alice@localhost/home", { via: "tcp", credentials });
  const fresh = await t.login("alice@localhost/home", { via: "ws", credentials });
  assert.deepEqual(await within(old.closed), {
    state: "failed",
    reason: {
      code: 11,
      description: "The session was replaced by a new session of the same node",
    },
  });
  assert.equal(t.server.registry.size, 2);
  assert.equal(
    t.server.registry.byNode("alice@localhost/home")?.channel.transport.constructor.name,
    "WebSocketServerTransport",
  );
  await bob.sendMessage(text("for the new one", "alice@localhost/home", "r1"));
  assert.deepEqual(
    await nextMessage(fresh),
    routedText("for the new one", "alice@localhost/home", "bob@localhost/b", "r1"),
  );
  // The old channel's end does not unregister the new session.
  await bob.sendMessage(text("again", "alice@localhost"));
  assert.equal((await nextMessage(fresh) as { content: string }).content, "again");
  assert.equal(t.server.registry.size, 2);
});

Deno.test("LimeServer maxSessions: a session beyond the limit gets failed 11, and a freed slot is reusable", async () => {
  await using t = await TestServer.start({ maxSessions: 2 });
  await t.login("alice@localhost/a");
  const bob = await t.login("bob@localhost/b", { via: "ws" });
  const carol = await t.connect({ via: "tcp" });
  const error = await within(carol.establishSession({ identity: "carol@localhost" })).then(
    () => undefined,
    (caught) => caught,
  );
  assert.ok(error instanceof LimeError, String(error));
  const full = { code: 11, description: "The server has reached its maximum number of sessions" };
  assert.deepEqual(error.reason, full);
  assert.deepEqual(await within(carol.closed), { state: "failed", reason: full });
  assert.equal(t.server.registry.size, 2);

  await within(bob.finish());
  await eventually(() => t.server.registry.size === 1, 2000, "bob's session removal");
  await t.login("carol@localhost/c", { via: "ws" });
  assert.equal(t.server.registry.size, 2);
});

/** 3 envelopes/s per session (6 per identity), no per-address buckets. */
const PER_SESSION_3 = {
  envelopesPerSecond: 3,
  perIdentity: { envelopesPerSecond: 6 },
  perAddress: { envelopesPerSecond: 0, bytesPerSecond: 0 },
};

Deno.test("LimeServer rateLimit slows a sender beyond its rate down instead of refusing, and leaves other sessions alone", async () => {
  const clock = new ManualClock();
  // Alice and Bob both come from 127.0.0.1: no per-address buckets here (tests/security/).
  await using t = await TestServer.start({ rateLimit: PER_SESSION_3, channel: { clock } });
  const alice = await t.login("alice@localhost/a");
  const bob = await t.login("bob@localhost/b");
  const refusals: unknown[] = [];
  alice.onNotification((notification) => refusals.push(json(notification)));
  for (let i = 1; i <= 5; i++) await alice.sendMessage(text(`a${i}`, "bob@localhost/b", `a${i}`));
  // Bob's own bucket is full: his burst goes through while Alice is held back.
  for (let i = 1; i <= 3; i++) await bob.sendMessage(text(`b${i}`, "alice@localhost/a", `b${i}`));
  for (let i = 1; i <= 3; i++) {
    assert.equal((await nextMessage(alice) as { id: string }).id, `b${i}`);
  }
  await alice.sendMessage(text("a6", "bob@localhost/b", "a6"));
  // Everything arrives, in order; what is over the rate waits for the clock (the bucket's refill).
  let advances = 0;
  for (let i = 1; i <= 6; i++) {
    const next = bob.receiveMessage();
    while (await stillPending(next, 100)) {
      clock.advance(1000);
      advances++;
    }
    assert.equal((await next).id, `a${i}`);
  }
  assert.ok(advances >= 1, "Alice was held back until her bucket refilled");
  assert.ok((t.server.registry.byNode("alice@localhost/a")?.shapedMs ?? 0) > 0);
  assert.deepEqual(await within(alice.getResource("/ping")), {});
  assert.deepEqual(refusals, []);
});

Deno.test("LimeServer rateLimit refuses with 34 beyond the rate where the transport cannot stop reading (Deno.upgradeWebSocket)", async () => {
  const clock = new ManualClock();
  const store = await KvAccountStore.open(":memory:");
  const server = new LimeServer({
    store,
    tcp: false,
    websocket: false,
    rateLimit: PER_SESSION_3,
    channel: { clock },
  });
  await using http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, server.handler);
  const alice = await connect(`127.0.0.1:${http.addr.port}`, "ws");
  try {
    await within(alice.establishSession({ identity: "alice@localhost" }));
    for (let i = 1; i <= 5; i++) {
      await alice.sendMessage(text(`a${i}`, "alice@localhost/default", `a${i}`));
    }
    for (let i = 1; i <= 3; i++) {
      assert.equal((await nextMessage(alice) as { id: string }).id, `a${i}`);
    }
    for (const id of ["a4", "a5"]) {
      assert.deepEqual(await nextNotification(alice), {
        event: "failed",
        id,
        from: "alice@localhost/default",
        to: "alice@localhost/default",
        reason: { code: 34, description: "The session sends more than it may per second" },
      });
    }
  } finally {
    await server.shutdown();
    await alice.close();
    store.close();
  }
});

for (const via of ["tcp", "ws"] as const) {
  Deno.test(`LimeServer maxEnvelopeSize closes only the session that sent an oversize envelope (${via})`, async () => {
    await using t = await TestServer.start({ maxEnvelopeSize: 2048 });
    const alice = await t.login("alice@localhost/a", { via });
    const bob = await t.login("bob@localhost/b", { via: "tcp" });
    const carol = await t.login("carol@localhost/c", { via: "ws" });
    await alice.sendMessage(text("x".repeat(4000), "bob@localhost/b", "big")).catch(() => {});
    const info = await within(alice.closed);
    // The server says why before it closes: failed, code 21, the size in the description.
    assert.equal(info.state, "failed");
    assert.equal(info.reason?.code, 21);
    assert.match(info.reason?.description ?? "", /2048/);
    await eventually(() => t.server.registry.size === 2, 2000, "alice's session removal");
    assert.equal(t.server.registry.byNode("alice@localhost/a"), undefined);

    await carol.sendMessage(text("still here", "bob@localhost/b", "ok"));
    assert.deepEqual(
      await nextMessage(bob),
      routedText("still here", "bob@localhost/b", "carol@localhost/c", "ok"),
    );
    await bob.sendMessage(text("x", "alice@localhost/a", "gone"));
    assert.equal((await nextNotification(bob) as { reason: { code: number } }).reason.code, 42);
  });
}
