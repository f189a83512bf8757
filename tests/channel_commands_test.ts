/**
 * Command correlation on a channel (`processCommand`) and the resource helpers
 * (`getResource`, `setResource`, …), over memory transport pairs: either two channels, or a
 * client channel facing a scripted raw server transport whose wire JSON the tests assert.
 */
import assert from "node:assert/strict";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { CommandFailedError } from "../src/channel/resource_commands.ts";
import { ManualClock } from "../src/clock.ts";
import { Command, Message } from "../src/envelope.ts";
import { LimeError } from "../src/errors.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { stillPending, within } from "./tcp_helpers.ts";
import { channelPair, isChannelError, rawServer } from "./channel_test_helpers.ts";

const response = (id: string, resource: string, method: Command["method"] = "get") =>
  new Command(method, undefined, { id, status: "success", type: "text/plain", resource });

// ------------------------------------------------------------------ processCommand

Deno.test("Channel.processCommand correlates responses by id, whatever their order", async () => {
  await using pair = await channelPair();
  const requests: Command[] = [];
  let arrived!: () => void;
  const allArrived = new Promise<void>((resolve) => arrived = resolve);
  pair.server.onCommand((command) => {
    requests.push(command);
    if (requests.length === 3) arrived();
  });
  const a = pair.client.processCommand(new Command("get", "/a", { id: "a" }));
  const b = pair.client.processCommand(new Command("get", "/b", { id: "b" }));
  const c = pair.client.processCommand(new Command("get", "/c", { id: "c" }));
  await within(allArrived, 2000, "the requests");
  assert.deepEqual(requests.map((r) => r.id), ["a", "b", "c"]);
  for (const id of ["c", "a", "b"]) await pair.server.sendCommand(response(id, `for ${id}`));
  const [ra, rb, rc] = await within(Promise.all([a, b, c]), 2000, "the responses");
  assert.deepEqual([ra.id, ra.resource], ["a", "for a"]);
  assert.deepEqual([rb.id, rb.resource], ["b", "for b"]);
  assert.deepEqual([rc.id, rc.resource], ["c", "for c"]);
  assert.equal(ra.status, "success");
});

Deno.test("Channel.processCommand leaves a response with an unknown id to the command receivers", async () => {
  await using pair = await channelPair();
  const stray = new Command("get", undefined, { id: "nobody-asked", status: "success" });
  await pair.server.sendCommand(stray);
  const received = await within(pair.client.receiveCommand(), 2000, "the stray response");
  assert.deepEqual(received, { method: "get", id: "nobody-asked", status: "success" });
});

Deno.test("Channel.processCommand rejects a duplicate pending id at once; the first still completes", async () => {
  await using pair = await channelPair();
  const first = pair.client.processCommand(new Command("get", "/one", { id: "dup" }));
  await assert.rejects(
    within(pair.client.processCommand(new Command("get", "/two", { id: "dup" })), 500),
    isChannelError("duplicate-id"),
  );
  const request = await within(pair.server.receiveCommand(), 2000, "the first request");
  assert.equal(request.uri, "/one");
  await pair.server.sendCommand(response("dup", "first"));
  assert.equal((await within(first, 2000, "the first response")).resource, "first");
  // The duplicate never went on the wire.
  assert.deepEqual(
    pair.sentByClient.filter((e) => "method" in e).map((e) => (e as Command).uri),
    ["/one"],
  );
});

Deno.test("Channel.processCommand times out, removing the entry and its timer; a late response is a normal command", async () => {
  const clock = new ManualClock();
  await using pair = await channelPair({ clock, sendTimeout: 0, commandTimeout: 1000 });
  assert.equal(clock.pending, 0);
  const waiting = pair.client.processCommand(new Command("get", "/slow", { id: "t1" }));
  await within(pair.server.receiveCommand(), 2000, "the request");
  assert.equal(clock.pending, 1);
  clock.advance(999);
  assert.ok(await stillPending(waiting, 20));
  clock.advance(1);
  await assert.rejects(
    waiting,
    (e) => isChannelError("timeout")(e) && /1000 ms/.test((e as Error).message),
  );
  assert.equal(clock.pending, 0);
  await pair.server.sendCommand(response("t1", "late"));
  const late = await within(pair.client.receiveCommand(), 2000, "the late response");
  assert.deepEqual([late.id, late.status, late.resource], ["t1", "success", "late"]);
  // The id is free again.
  const again = pair.client.processCommand(new Command("get", "/slow", { id: "t1" }), {
    timeout: 50,
  });
  assert.equal(clock.pending, 1);
  clock.advance(50);
  await assert.rejects(again, isChannelError("timeout"));
  assert.equal(clock.pending, 0);
});

Deno.test("Channel.processCommand aborts through its signal and cleans up", async () => {
  const clock = new ManualClock();
  await using pair = await channelPair({ clock, sendTimeout: 0 });
  const controller = new AbortController();
  const waiting = pair.client.processCommand(new Command("get", "/x", { id: "ab" }), {
    signal: controller.signal,
  });
  await within(pair.server.receiveCommand(), 2000, "the request");
  assert.equal(clock.pending, 1); // the default command timeout
  controller.abort(new Error("changed my mind"));
  await assert.rejects(waiting, isChannelError("aborted"));
  clock.advance(30_000); // the shared command timer finds nothing due and is not re-armed
  assert.equal(clock.pending, 0);
  await pair.server.sendCommand(response("ab", "late"));
  assert.equal((await within(pair.client.receiveCommand(), 2000)).id, "ab");
  // An already-aborted signal rejects without sending anything.
  const sentBefore = pair.sentByClient.length;
  await assert.rejects(
    pair.client.processCommand(new Command("get", "/y", { id: "ab2" }), {
      signal: controller.signal,
    }),
    isChannelError("aborted"),
  );
  await pair.client.sendMessage(new Message("text/plain", "marker"));
  await within(pair.server.receiveMessage(), 2000, "the marker");
  assert.deepEqual(pair.sentByClient.slice(sentBefore), [{
    type: "text/plain",
    content: "marker",
  }]);
  assert.equal(clock.pending, 0);
});

Deno.test("Channel.processCommand rejects waiting requests with closed when the channel closes", async () => {
  const clock = new ManualClock();
  await using pair = await channelPair({ clock, sendTimeout: 0 });
  const a = pair.client.processCommand(new Command("get", "/a", { id: "c1" }));
  const b = pair.client.processCommand(new Command("get", "/b", { id: "c2" }), { timeout: 0 });
  await within(pair.server.receiveCommand(), 2000);
  await within(pair.server.receiveCommand(), 2000);
  pair.server.abort(); // the peer drops the connection
  await assert.rejects(within(a, 2000), isChannelError("closed"));
  await assert.rejects(within(b, 2000), isChannelError("closed"));
  assert.equal(clock.pending, 0);
  const info = await pair.client.closed;
  assert.equal(info.state, "established");
  assert.ok(info.error instanceof ChannelError && info.error.code === "closed");
  // Closed: a new request is refused.
  await assert.rejects(
    pair.client.processCommand(new Command("get", "/c", { id: "c3" })),
    isChannelError("closed"),
  );
});

Deno.test("Channel.processCommand rejects with closed when the channel closes while the request is being written", async () => {
  await using pair = await channelPair();
  const waiting = pair.client.processCommand(new Command("get", "/a", { id: "w1" }));
  const closing = pair.client.close(); // before the write reached the transport
  await assert.rejects(within(waiting, 2000), isChannelError("closed"));
  await within(closing, 2000);
});

Deno.test("Channel.processCommand refuses a command without id or with a status (TypeError)", async () => {
  await using pair = await channelPair();
  const noId = { method: "get", uri: "/x" } as Command;
  await assert.rejects(pair.client.processCommand(noId), TypeError);
  await assert.rejects(
    pair.client.processCommand(new Command("get", "/x", { id: "" })),
    TypeError,
  );
  await assert.rejects(
    pair.client.processCommand(new Command("get", "/x", { id: "r1", status: "success" })),
    TypeError,
  );
  await assert.rejects(
    pair.client.processCommand(
      new Command("get", "/x", { id: "r2", status: "failure", reason: { code: 1 } }),
    ),
    TypeError,
  );
  await pair.client.sendMessage(new Message("text/plain", "marker"));
  await within(pair.server.receiveMessage(), 2000);
  assert.equal(pair.sentByClient.filter((e) => "method" in e).length, 0);
});

Deno.test("Channel.processCommand before establishment is an invalid-state ChannelError", async () => {
  const [a, b] = MemoryTransport.pair();
  const client = new ClientChannel(a);
  await assert.rejects(
    client.processCommand(new Command("get", "/x", { id: "early" })),
    (e) => isChannelError("invalid-state")(e) && /"new"/.test((e as Error).message),
  );
  await client.close();
  await b.close();
});

// ------------------------------------------------------------------ resource helpers

Deno.test("Channel resource helpers send the right method, uri, type and resource and return the response's resource", async () => {
  await using raw = await rawServer();
  const { client, peer, next } = raw;
  const cases: {
    call: () => Promise<unknown>;
    wire: Record<string, unknown>;
  }[] = [
    { call: () => client.getResource("/contacts"), wire: { method: "get", uri: "/contacts" } },
    {
      call: () =>
        client.setResource("/presence", "application/vnd.lime.presence+json", {
          status: "available",
        }),
      wire: {
        method: "set",
        uri: "/presence",
        type: "application/vnd.lime.presence+json",
        resource: { status: "available" },
      },
    },
    {
      call: () => client.mergeResource("/account", "application/json", { name: "Alice" }),
      wire: {
        method: "merge",
        uri: "/account",
        type: "application/json",
        resource: { name: "Alice" },
      },
    },
    {
      call: () => client.deleteResource("/contacts/bob@example.org"),
      wire: { method: "delete", uri: "/contacts/bob@example.org" },
    },
    {
      call: () => client.subscribeResource("/presence"),
      wire: { method: "subscribe", uri: "/presence" },
    },
    {
      call: () => client.unsubscribeResource("/presence"),
      wire: { method: "unsubscribe", uri: "/presence" },
    },
    {
      call: () => client.observeResource("/presence", "text/plain", "away"),
      wire: { method: "observe", uri: "/presence", type: "text/plain", resource: "away" },
    },
    {
      call: () =>
        client.getResource("/items", {
          to: "postmaster@example.org",
          metadata: { trace: "1" },
        }),
      wire: {
        method: "get",
        uri: "/items",
        to: "postmaster@example.org",
        metadata: { trace: "1" },
      },
    },
  ];
  for (const [i, { call, wire }] of cases.entries()) {
    const result = call();
    const request = await next() as Command;
    assert.equal(typeof request.id, "string");
    assert.ok(request.id!.length > 0);
    assert.deepEqual(request, { id: request.id, ...wire });
    await peer.send(
      new Command(request.method, undefined, {
        id: request.id,
        status: "success",
        type: "application/json",
        resource: { answer: i },
      }),
    );
    assert.deepEqual(await within(result, 2000, `${wire.method} ${wire.uri}`), { answer: i });
  }
  // A success without a resource returns undefined.
  const done = client.deleteResource("/x");
  const request = await next() as Command;
  await peer.send(new Command("delete", undefined, { id: request.id, status: "success" }));
  assert.equal(await within(done, 2000), undefined);
});

Deno.test("Channel resource helpers throw CommandFailedError with the response's reason", async () => {
  await using raw = await rawServer();
  const { client, peer, next } = raw;
  const failing = client.getResource("/missing");
  const request = await next() as Command;
  await peer.send(
    new Command("get", undefined, {
      id: request.id,
      status: "failure",
      reason: { code: 67, description: "The resource was not found" },
    }),
  );
  const error = await within(failing, 2000).then(
    () => assert.fail("expected a failure"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CommandFailedError);
  assert.ok(error instanceof LimeError);
  assert.equal(error.name, "CommandFailedError");
  assert.equal(error.code, 67);
  assert.deepEqual(error.reason, { code: 67, description: "The resource was not found" });
  assert.match(error.message, /The resource was not found \(Code 67\)/);
  assert.equal(error.response.status, "failure");
  assert.equal(error.response.id, request.id);

  // Without a reason: code 1.
  const bare = client.setResource("/x", "text/plain", "v");
  const request2 = await next() as Command;
  await peer.send(new Command("set", undefined, { id: request2.id, status: "failure" }));
  await assert.rejects(
    within(bare, 2000),
    (e) =>
      e instanceof CommandFailedError && e.code === 1 &&
      e.reason.description === "An invalid command response was received",
  );
});

Deno.test("Channel resource helpers time out like processCommand", async () => {
  const clock = new ManualClock();
  await using raw = await rawServer({ clock, sendTimeout: 0 });
  const waiting = raw.client.getResource("/slow", { timeout: 200 });
  await raw.next();
  assert.equal(clock.pending, 1);
  clock.advance(200);
  await assert.rejects(waiting, isChannelError("timeout"));
  assert.equal(clock.pending, 0);
});
