/**
 * A channel's receive buffers: iterators and `receive*` calls, backpressure onto the transport
 * with a slow consumer, the consume timeout, late `on*` handlers, failing handlers, how iterators
 * end, aborting a receive, and `await using` — over memory transport pairs.
 */
import assert from "node:assert/strict";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { ServerChannel } from "../src/channel/server_channel.ts";
import type { ChannelOptions } from "../src/channel/channel_options.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { ManualClock } from "../src/clock.ts";
import { Command, type Envelope, Message, Notification } from "../src/envelope.ts";
import { MemoryTransport, type MemoryTransportOptions } from "../src/transport/memory.ts";
import { stillPending, within } from "./tcp_helpers.ts";
import {
  all,
  channelPair,
  countedSignal,
  eventually,
  isChannelError,
  rawServer as anyRawServer,
  SERVER,
  take,
} from "./channel_test_helpers.ts";

/** An established client channel facing a raw server, counting the messages it receives. */
const rawServer = (
  clientOptions: ChannelOptions = {},
  transportOptions: MemoryTransportOptions = {},
) => anyRawServer(clientOptions, { transport: transportOptions, countContent: true });

const text = (content: string, id?: string) =>
  new Message("text/plain", content, id ? { id } : undefined);

// ------------------------------------------------------------------ iterators

Deno.test("Channel iterators receive each kind in order", async () => {
  await using raw = await rawServer();
  const messages = take(raw.client.messages(), 5);
  const notifications = take(raw.client.notifications(), 3);
  const commands = take(raw.client.commands(), 3);
  for (let i = 0; i < 5; i++) {
    await raw.peer.send(text(`m${i}`));
    if (i < 3) {
      await raw.peer.send(new Notification("received", { id: `n${i}` }));
      await raw.peer.send(
        new Command("set", `/c${i}`, { id: `c${i}`, type: "text/plain", resource: "x" }),
      );
    }
  }
  assert.deepEqual(
    (await within(messages, 2000)).map((m) => m.content),
    ["m0", "m1", "m2", "m3", "m4"],
  );
  assert.deepEqual((await within(notifications, 2000)).map((n) => n.id), ["n0", "n1", "n2"]);
  assert.deepEqual((await within(commands, 2000)).map((c) => c.uri), ["/c0", "/c1", "/c2"]);
});

Deno.test("Channel buffers received envelopes for a later receive call, in order", async () => {
  await using raw = await rawServer();
  for (let i = 0; i < 3; i++) await raw.peer.send(text(`m${i}`));
  await raw.peer.send(new Notification("consumed", { id: "n" }));
  await eventually(() => raw.counts.dispatched === 3, "three messages dispatched");
  assert.equal((await within(raw.client.receiveNotification(), 2000)).id, "n");
  for (let i = 0; i < 3; i++) {
    assert.equal((await within(raw.client.receiveMessage(), 2000)).content, `m${i}`);
  }
});

// ------------------------------------------------------------------ backpressure

Deno.test("Channel with a slow consumer stops reading the transport, then delivers all 1,000 in order", async () => {
  const channelBuffer = 4;
  const transportBuffer = 8;
  await using raw = await rawServer(
    { receiveBufferSize: channelBuffer },
    { receiveBufferSize: transportBuffer },
  );
  // Invariant: envelopes the client's transport received minus envelopes the consumer took never
  // exceed the channel buffer + the transport buffer + the one the receive loop holds while it
  // waits for room (the memory pair's sender waits while the receiver's buffer is full).
  const bound = channelBuffer + transportBuffer + 1;
  const total = 1000;
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < total; i++) {
      await raw.peer.send(text(String(i)));
      sent++;
    }
  })();
  assert.ok(await stillPending(sending, 50), "the sender should be held back");
  assert.ok(raw.counts.delivered <= bound, `delivered ${raw.counts.delivered} with no consumer`);
  assert.ok(raw.counts.delivered >= channelBuffer, `delivered only ${raw.counts.delivered}`);
  assert.ok(sent <= raw.counts.delivered, `sent ${sent}, delivered ${raw.counts.delivered}`);
  const stalledAt = raw.counts.delivered;
  assert.ok(await stillPending(sending, 20));
  assert.equal(raw.counts.delivered, stalledAt, "reading stopped");

  let consumed = 0;
  let maxBacklog = raw.counts.delivered;
  for await (const message of raw.client.messages()) {
    assert.equal(message.content, String(consumed), "in order");
    consumed++;
    maxBacklog = Math.max(maxBacklog, raw.counts.delivered - consumed);
    if (consumed % 97 === 0) await new Promise((resolve) => setTimeout(resolve, 0)); // slow
    if (consumed === total) break;
  }
  await within(sending, 2000, "the sender");
  assert.equal(sent, total);
  assert.equal(raw.counts.delivered, total);
  assert.ok(maxBacklog <= bound, `backlog reached ${maxBacklog} (bound ${bound})`);
});

Deno.test("Channel consumeTimeout closes the channel with a timeout when nobody takes", async () => {
  const clock = new ManualClock();
  await using raw = await rawServer({
    clock,
    receiveBufferSize: 2,
    consumeTimeout: 1000,
    sendTimeout: 0,
  });
  assert.equal(clock.pending, 0);
  for (let i = 0; i < 3; i++) await raw.peer.send(text(`m${i}`));
  await eventually(() => raw.counts.dispatched === 3, "the third message waiting for room");
  assert.equal(clock.pending, 1);
  clock.advance(999);
  assert.ok(await stillPending(raw.client.closed, 20));
  clock.advance(1);
  const info = await within(raw.client.closed, 2000, "the close");
  assert.ok(info.error instanceof ChannelError);
  assert.equal(info.error.code, "timeout");
  assert.match(info.error.message, /1000 ms/);
  assert.equal(info.state, "established");
  assert.equal(clock.pending, 0);
  assert.equal(raw.client.transport.isConnected, false);
  // What was buffered can still be taken; then the channel's error.
  assert.equal((await raw.client.receiveMessage()).content, "m0");
  assert.equal((await raw.client.receiveMessage()).content, "m1");
  await assert.rejects(raw.client.receiveMessage(), isChannelError("closed"));
});

Deno.test("Channel consumeTimeout does not fire when the consumer takes in time", async () => {
  const clock = new ManualClock();
  await using raw = await rawServer({
    clock,
    receiveBufferSize: 1,
    consumeTimeout: 1000,
    sendTimeout: 0,
  });
  await raw.peer.send(text("a"));
  await raw.peer.send(text("b"));
  await eventually(() => raw.counts.dispatched === 2, "b waiting for room");
  assert.equal(clock.pending, 1);
  clock.advance(999);
  assert.equal((await raw.client.receiveMessage()).content, "a");
  await eventually(() => clock.pending === 0, "the consume timer cleared");
  clock.advance(5000);
  assert.equal((await raw.client.receiveMessage()).content, "b");
  assert.equal(raw.client.state, "established");
  assert.ok(raw.client.transport.isConnected);
});

Deno.test("Channel.close does not hang while the receive loop waits for room in a full buffer", async () => {
  await using raw = await rawServer({ receiveBufferSize: 1 });
  await raw.peer.send(text("a"));
  await raw.peer.send(text("b"));
  await eventually(() => raw.counts.dispatched === 2, "b waiting for room");
  const pending = raw.client.processCommand(new Command("get", "/x", { id: "q" }));
  assert.equal((await raw.next() as Command).id, "q");
  await within(raw.client.close(), 2000, "close");
  await assert.rejects(within(pending, 2000), isChannelError("closed"));
  const info = await raw.client.closed;
  assert.equal(info.state, "established");
  assert.ok(info.error instanceof ChannelError && info.error.code === "closed");
  // What was buffered can still be taken.
  assert.equal((await raw.client.receiveMessage()).content, "a");
  await assert.rejects(raw.client.receiveMessage(), isChannelError("closed"));
});

// ------------------------------------------------------------------ handlers

Deno.test("Channel.onMessage registered late gets the buffered messages first, then new ones", async () => {
  await using raw = await rawServer({ receiveBufferSize: 2 });
  for (let i = 0; i < 3; i++) await raw.peer.send(text(`m${i}`));
  // Two in the buffer, the third held by the receive loop waiting for room.
  await eventually(() => raw.counts.dispatched === 3, "three messages dispatched");
  const seen: string[] = [];
  const remove = raw.client.onMessage((m) => {
    seen.push(m.content as string);
  });
  assert.deepEqual(seen, ["m0", "m1", "m2"]);
  await raw.peer.send(text("m3"));
  await eventually(() => seen.length === 4, "m3 through the handler");
  assert.deepEqual(seen, ["m0", "m1", "m2", "m3"]);
  // Removed: messages are buffered again.
  remove();
  await raw.peer.send(text("m4"));
  assert.equal((await within(raw.client.receiveMessage(), 2000)).content, "m4");
  assert.equal(seen.length, 4);
});

Deno.test("Channel handlers that throw or reject do not break the channel", async () => {
  const errors: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await using raw = await rawServer();
    const seen: string[] = [];
    raw.client.onMessage((m) => {
      seen.push(m.content as string);
      if (m.content === "throw") throw new Error("sync bug");
      if (m.content === "reject") return Promise.reject(new Error("async bug"));
    });
    raw.client.onNotification(() => {
      throw new Error("notification bug");
    });
    for (const content of ["throw", "reject", "fine"]) await raw.peer.send(text(content));
    await raw.peer.send(new Notification("received", { id: "x" }));
    await raw.peer.send(text("after"));
    await eventually(() => seen.length === 4, "all four messages");
    assert.deepEqual(seen, ["throw", "reject", "fine", "after"]);
    await eventually(() => errors.length === 3, "three logged errors");
    assert.equal(raw.client.state, "established");
    await raw.client.sendMessage(text("still sending"));
    assert.deepEqual(await raw.next(), { type: "text/plain", content: "still sending" });
  } finally {
    console.error = original;
  }
  const logged = errors.map((args) => (args.at(-1) as Error).message).sort();
  assert.deepEqual(logged, ["async bug", "notification bug", "sync bug"]);
});

// ------------------------------------------------------------------ how iterators end

Deno.test("Channel iterators end normally after a graceful finish", async () => {
  // The server ends the session.
  {
    await using pair = await channelPair();
    const messages = all(pair.client.messages());
    const notifications = all(pair.client.notifications());
    const commands = all(pair.client.commands());
    await pair.server.sendMessage(text("one"));
    await pair.server.sendMessage(text("two"));
    await pair.server.sendNotification(new Notification("received", { id: "n" }));
    await pair.server.finish();
    assert.deepEqual(
      (await within(messages, 2000)).map((m) => m.content),
      ["one", "two"],
    );
    assert.equal((await within(notifications, 2000)).length, 1);
    assert.deepEqual(await within(commands, 2000), []);
    assert.equal((await pair.client.closed).state, "finished");
    assert.equal((await pair.client.closed).error, undefined);
    // After the end, a receive call is refused with closed.
    await assert.rejects(pair.client.receiveMessage(), isChannelError("closed"));
  }
  // The client ends the session: the server's iterators end.
  {
    await using pair = await channelPair();
    const messages = all(pair.server.messages());
    await pair.client.sendMessage(text("bye"));
    await pair.client.finish();
    assert.deepEqual((await within(messages, 2000)).map((m) => m.content), ["bye"]);
    assert.equal((await pair.server.closed).state, "finished");
    assert.equal((await pair.client.closed).state, "finished");
  }
});

Deno.test("Channel iterators throw ChannelError closed after an abrupt transport close", async () => {
  await using raw = await rawServer();
  const received: string[] = [];
  const messages = (async () => {
    for await (const m of raw.client.messages()) received.push(m.content as string);
  })();
  const notifications = all(raw.client.notifications());
  await raw.peer.send(text("a"));
  await raw.peer.send(text("b"));
  await eventually(() => raw.counts.dispatched === 2, "two messages");
  await raw.peer.close();
  await assert.rejects(within(messages, 2000), isChannelError("closed"));
  await assert.rejects(within(notifications, 2000), isChannelError("closed"));
  assert.deepEqual(received, ["a", "b"]);
  const info = await raw.client.closed;
  assert.equal(info.state, "established");
  assert.ok(info.error instanceof ChannelError);
  await assert.rejects(raw.client.receiveCommand(), isChannelError("closed"));
  // A fresh iterator throws too.
  await assert.rejects(all(raw.client.messages()), isChannelError("closed"));
});

Deno.test("Channel.receiveMessage aborts through its signal with ChannelError aborted", async () => {
  await using raw = await rawServer();
  const controller = new AbortController();
  const waiting = raw.client.receiveMessage({ signal: controller.signal });
  assert.ok(await stillPending(waiting, 10));
  controller.abort(new Error("no longer needed"));
  await assert.rejects(within(waiting, 2000), isChannelError("aborted"));
  // The aborted receive took nothing: the next message goes to the next receive.
  await raw.peer.send(text("next"));
  assert.equal((await within(raw.client.receiveMessage(), 2000)).content, "next");
  // An already-aborted signal rejects when nothing is buffered.
  await assert.rejects(
    raw.client.receiveNotification({ signal: controller.signal }),
    isChannelError("aborted"),
  );
  // An aborted iterator throws aborted as well.
  const iterating = all(raw.client.commands({ signal: AbortSignal.abort() }));
  await assert.rejects(iterating, isChannelError("aborted"));
  assert.equal(raw.client.state, "established");
});

Deno.test("Channel await using finishes the session", async () => {
  const [clientTransport, serverTransport] = MemoryTransport.pair();
  const sentByClient: Envelope[] = [];
  serverTransport.onEnvelope((e) => sentByClient.push(e));
  const server = new ServerChannel(serverTransport, { serverNode: SERVER, sessionId: "s1" });
  let client!: ClientChannel;
  try {
    await using scoped = new ClientChannel(clientTransport);
    client = scoped;
    await within(
      Promise.all([
        scoped.establishSession({ identity: "alice@example.org", instance: "home" }),
        server.establishSession(),
      ]),
      2000,
    );
    await scoped.sendMessage(text("hello"));
  } finally {
    await within(server.closed, 2000, "the server's end");
  }
  assert.deepEqual(sentByClient.slice(-2), [
    { type: "text/plain", content: "hello" },
    { state: "finishing", id: "s1" },
  ]);
  assert.equal(client.state, "finished");
  assert.equal((await client.closed).state, "finished");
  assert.equal((await server.closed).state, "finished");
  assert.equal(clientTransport.isConnected, false);
  assert.equal(serverTransport.isConnected, false);
  await server.close();
});

Deno.test("Channel receive calls and iterators leave no listener on a signal they share", async () => {
  // A bot that passes its one stop signal to every receive: each wait used to leave an abort
  // listener on it, so memory grew per message and every wait cost more than the last.
  await using raw = await rawServer();
  const { signal, live } = countedSignal();
  for (let i = 0; i < 300; i++) {
    const receiving = raw.client.receiveMessage({ signal });
    await raw.peer.send(text(`r${i}`));
    assert.equal((await within(receiving, 2000)).content, `r${i}`);
  }
  assert.equal(live(), 0, "receiveMessage left listeners on the signal");
  const iterated = take(raw.client.messages({ signal }), 300);
  for (let i = 0; i < 300; i++) await raw.peer.send(text(`i${i}`));
  assert.equal((await within(iterated, 2000)).length, 300);
  assert.equal(live(), 0, "messages() left listeners on the signal");
});
