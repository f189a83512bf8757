/**
 * Channel modules (lime-protocol §6.5): ping replies, receipt notifications, recipient filling,
 * remote pings with a silent peer, and custom modules — over memory transport pairs, mostly with
 * a scripted raw server so the wire JSON can be asserted exactly.
 */
import assert from "node:assert/strict";
import { ClientChannel } from "../src/channel/client_channel.ts";
import type { ChannelModule } from "../src/channel/channel_module.ts";
import type { ChannelCloseInfo } from "../src/channel/channel.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { ManualClock } from "../src/clock.ts";
import { Command, type Envelope, Message, Notification, Session } from "../src/envelope.ts";
import type { SessionState } from "../src/generated/enums.generated.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { stillPending, within } from "./tcp_helpers.ts";
import { ALICE, channelPair, eventually, rawServer, SERVER } from "./channel_test_helpers.ts";

const PING_TYPE = "application/vnd.lime.ping+json";

// ------------------------------------------------------------------ ping replies

Deno.test("ReplyPingModule answers a server's ping on a client exactly and swallows it", async () => {
  await using raw = await rawServer();
  const commands: Command[] = [];
  raw.client.onCommand((c) => commands.push(c));
  await raw.peer.send({ id: "p1", method: "get", uri: "/ping" } as Command);
  assert.deepEqual(await raw.next(), {
    id: "p1",
    method: "get",
    status: "success",
    type: PING_TYPE,
    resource: {},
  });
  // With from, the reply goes to the sender; with pp, to the delegate.
  await raw.peer.send({ id: "p2", method: "get", uri: "/ping", from: SERVER } as Command);
  assert.deepEqual(await raw.next(), {
    id: "p2",
    to: SERVER,
    method: "get",
    status: "success",
    type: PING_TYPE,
    resource: {},
  });
  await raw.peer.send(
    {
      id: "p3",
      method: "get",
      uri: "/ping",
      from: "bob@example.org/phone",
      pp: "relay@example.org/r1",
      to: ALICE,
    } as Command,
  );
  assert.deepEqual(await raw.next(), {
    id: "p3",
    to: "relay@example.org/r1",
    method: "get",
    status: "success",
    type: PING_TYPE,
    resource: {},
  });
  // Addressed to the same identity on another instance, and as an absolute URI: still answered.
  await raw.peer.send(
    {
      id: "p4",
      method: "get",
      uri: "lime://alice@example.org/ping",
      to: "Alice@Example.org/x",
    } as Command,
  );
  assert.equal((await raw.next() as Command).id, "p4");
  assert.deepEqual(await raw.sentUntilMarker(), []);
  assert.deepEqual(commands, []);
});

Deno.test("ReplyPingModule delivers a ping addressed to another identity, and non-ping commands", async () => {
  await using raw = await rawServer();
  const commands: Command[] = [];
  raw.client.onCommand((c) => commands.push(c));
  const forBob = { id: "p5", method: "get", uri: "/ping", to: "bob@example.org/phone" } as Command;
  await raw.peer.send(forBob);
  const notPing = { id: "p6", method: "get", uri: "/pingx" } as Command;
  await raw.peer.send(notPing);
  const setPing = {
    id: "p7",
    method: "set",
    uri: "/ping",
    type: PING_TYPE,
    resource: {},
  } as Command;
  await raw.peer.send(setPing);
  await eventually(() => commands.length === 3, "three commands");
  assert.deepEqual(commands, [forBob, notPing, setPing]);
  assert.deepEqual(await raw.sentUntilMarker(), []);
});

Deno.test("ReplyPingModule can be turned off on a client", async () => {
  await using raw = await rawServer({ autoReplyPings: false });
  await raw.peer.send({ id: "p8", method: "get", uri: "/ping" } as Command);
  assert.deepEqual(await within(raw.client.receiveCommand(), 2000), {
    id: "p8",
    method: "get",
    uri: "/ping",
  });
  assert.deepEqual(await raw.sentUntilMarker(), []);
});

Deno.test("ReplyPingModule is off on a server by default (and on when asked)", async () => {
  {
    await using pair = await channelPair();
    await pair.client.sendCommand(new Command("get", "/ping", { id: "sp1" }));
    const received = await within(pair.server.receiveCommand(), 2000);
    assert.deepEqual(received, { method: "get", id: "sp1", uri: "/ping" });
    await pair.server.sendMessage(new Message("text/plain", "marker"));
    await within(pair.client.receiveMessage(), 2000);
    assert.deepEqual(pair.sentByServer.slice(-1), [{ type: "text/plain", content: "marker" }]);
    assert.equal(pair.sentByServer.filter((e) => "method" in e).length, 0);
  }
  {
    await using pair = await channelPair({}, { autoReplyPings: true });
    const reply = await within(
      pair.client.processCommand(new Command("get", "/ping", { id: "sp2" })),
      2000,
    );
    assert.deepEqual(reply, {
      id: "sp2",
      method: "get",
      status: "success",
      type: PING_TYPE,
      resource: {},
    });
  }
});

// ------------------------------------------------------------------ receipts

Deno.test("NotifyReceiptModule sends received for a message and still delivers it", async () => {
  await using raw = await rawServer({ autoNotifyReceipt: true });
  const m1 = { id: "m1", from: "bob@example.org/phone", type: "text/plain", content: "hi" };
  await raw.peer.send(m1 as Message);
  assert.deepEqual(await raw.next(), { id: "m1", to: "bob@example.org/phone", event: "received" });
  assert.deepEqual(await within(raw.client.receiveMessage(), 2000), m1);
  // pp wins over from.
  const m2 = { ...m1, id: "m2", pp: "relay@example.org/r", to: ALICE };
  await raw.peer.send(m2 as Message);
  assert.deepEqual(await raw.next(), { id: "m2", to: "relay@example.org/r", event: "received" });
  assert.deepEqual(await within(raw.client.receiveMessage(), 2000), m2);
  // No id, no sender, or for someone else: no notification, still delivered.
  const quiet = [
    { from: "bob@example.org/phone", type: "text/plain", content: "no id" },
    { id: "m3", type: "text/plain", content: "no from" },
    {
      id: "m4",
      from: "bob@example.org/phone",
      to: "carol@example.org",
      type: "text/plain",
      content: "x",
    },
  ];
  for (const m of quiet) {
    await raw.peer.send(m as Message);
    assert.deepEqual(await within(raw.client.receiveMessage(), 2000), m);
  }
  assert.deepEqual(await raw.sentUntilMarker(), []);
});

Deno.test("NotifyReceiptModule is off by default", async () => {
  await using raw = await rawServer();
  const m = { id: "m5", from: "bob@example.org/phone", type: "text/plain", content: "hi" };
  await raw.peer.send(m as Message);
  assert.deepEqual(await within(raw.client.receiveMessage(), 2000), m);
  assert.deepEqual(await raw.sentUntilMarker(), []);
});

// ------------------------------------------------------------------ recipients

Deno.test("FillRecipientsModule fills from/to of received envelopes with the remote and local nodes", async () => {
  await using raw = await rawServer({ fillEnvelopeRecipients: true });
  assert.equal(raw.client.remoteNode, SERVER);
  assert.equal(raw.client.localNode, ALICE);
  await raw.peer.send({ type: "text/plain", content: "bare" } as Message);
  assert.deepEqual(await within(raw.client.receiveMessage(), 2000), {
    type: "text/plain",
    content: "bare",
    from: SERVER,
    to: ALICE,
  });
  // Domains are filled in; full nodes are left alone.
  await raw.peer.send(
    { event: "consumed", id: "n1", from: "bob/phone", to: "alice" } as Notification,
  );
  assert.deepEqual(await within(raw.client.receiveNotification(), 2000), {
    event: "consumed",
    id: "n1",
    from: "bob@example.org/phone",
    to: "alice@example.org",
  });
  const full = { id: "c1", method: "get", uri: "/x", from: "bob@other.org/a", to: "x@y.org/z" };
  await raw.peer.send(full as Command);
  assert.deepEqual(await within(raw.client.receiveCommand(), 2000), full);
});

Deno.test("FillRecipientsModule sets pp on client sends on behalf of another node", async () => {
  await using raw = await rawServer({ fillEnvelopeRecipients: true });
  await raw.client.sendMessage(
    new Message("text/plain", "a", { from: "bob@example.org/phone", to: "carol@example.org" }),
  );
  assert.deepEqual(await raw.next(), {
    type: "text/plain",
    content: "a",
    from: "bob@example.org/phone",
    to: "carol@example.org",
    pp: ALICE,
  });
  // From the local node itself, or without from: no pp.
  await raw.client.sendMessage(new Message("text/plain", "b", { from: ALICE }));
  assert.deepEqual(await raw.next(), { type: "text/plain", content: "b", from: ALICE });
  await raw.client.sendNotification(new Notification("received", { id: "x1" }));
  assert.deepEqual(await raw.next(), { event: "received", id: "x1" });
  // A pp without domain gets the local domain.
  await raw.client.sendCommand(new Command("get", "/y", { id: "y1", pp: "delegate" }));
  assert.deepEqual(await raw.next(), {
    method: "get",
    id: "y1",
    uri: "/y",
    pp: "delegate@example.org",
  });
});

Deno.test("FillRecipientsModule is off by default", async () => {
  await using raw = await rawServer();
  await raw.peer.send({ type: "text/plain", content: "bare", from: "bob" } as Message);
  assert.deepEqual(await within(raw.client.receiveMessage(), 2000), {
    type: "text/plain",
    content: "bare",
    from: "bob",
  });
  await raw.client.sendMessage(new Message("text/plain", "a", { from: "bob@example.org/phone" }));
  assert.deepEqual(await raw.next(), {
    type: "text/plain",
    content: "a",
    from: "bob@example.org/phone",
  });
});

// ------------------------------------------------------------------ remote pings

Deno.test("RemotePingModule pings after an interval of silence and swallows the response", async () => {
  const clock = new ManualClock();
  await using raw = await rawServer({ clock, remotePingInterval: 1000, sendTimeout: 0 });
  const commands: Command[] = [];
  raw.client.onCommand((c) => commands.push(c));
  clock.advance(999);
  assert.deepEqual(await raw.sentUntilMarker(), []);
  clock.advance(1);
  const ping = await raw.next() as Command;
  assert.deepEqual(ping, { method: "get", id: ping.id, uri: "/ping" });
  await raw.peer.send(
    new Command("get", undefined, {
      id: ping.id,
      status: "success",
      type: PING_TYPE,
      resource: {},
    }),
  );
  await raw.peer.send(new Message("text/plain", "sync"));
  assert.equal((await within(raw.client.receiveMessage(), 2000)).content, "sync");
  assert.deepEqual(commands, []); // the response was swallowed
  assert.equal(raw.client.lastReceivedAt, 1000);

  // Anything received resets idleness: a message at 1900 delays the next ping to 2900.
  clock.advance(900);
  await raw.peer.send(new Message("text/plain", "alive"));
  await within(raw.client.receiveMessage(), 2000);
  assert.equal(raw.client.lastReceivedAt, 1900);
  clock.advance(999);
  assert.deepEqual(await raw.sentUntilMarker(), []);
  clock.advance(1);
  const ping2 = await raw.next() as Command;
  assert.deepEqual(ping2, { method: "get", id: ping2.id, uri: "/ping" });
  assert.notEqual(ping2.id, ping.id);
  await raw.peer.send(new Command("get", undefined, { id: ping2.id, status: "success" }));
  await raw.peer.send(new Message("text/plain", "sync"));
  await within(raw.client.receiveMessage(), 2000);
  assert.deepEqual(commands, []);
  assert.equal(raw.client.state, "established");
});

Deno.test("RemotePingModule finishes with a silent peer and closes with a timeout", async () => {
  const clock = new ManualClock();
  await using raw = await rawServer({
    clock,
    remotePingInterval: 1000, // remoteIdleTimeout: 3000 by default
    closeTimeout: 500,
    sendTimeout: 0,
  });
  clock.advance(1000);
  const ping = await raw.next() as Command;
  assert.deepEqual(ping, { method: "get", id: ping.id, uri: "/ping" });
  clock.advance(1000); // one ping outstanding: no second one
  clock.advance(999);
  assert.deepEqual(await raw.sentUntilMarker(), []);
  assert.equal(raw.client.state, "established");
  clock.advance(1); // 3000 ms of silence
  assert.deepEqual(await raw.next(), { state: "finishing", id: "s1" });
  assert.equal(raw.client.state, "finishing");
  clock.advance(499);
  assert.ok(await stillPending(raw.client.closed, 20));
  clock.advance(1); // + closeTimeout
  const info = await within(raw.client.closed, 2000, "the close");
  assert.equal(info.state, "finishing");
  assert.ok(info.error instanceof ChannelError, `error: ${info.error}`);
  assert.equal(info.error.code, "timeout");
  assert.equal(clock.pending, 0);
  assert.equal(raw.client.transport.isConnected, false);
});

Deno.test("RemotePingModule with a server channel sends finished to a silent client", async () => {
  const clock = new ManualClock();
  await using pair = await channelPair(
    { autoReplyPings: false },
    { clock, remotePingInterval: 100, remoteIdleTimeout: 250, sendTimeout: 0 },
  );
  const pings: Command[] = [];
  pair.client.onCommand((c) => pings.push(c));
  clock.advance(100);
  await eventually(() => pings.length === 1, "the ping");
  assert.deepEqual(pings[0], { method: "get", id: pings[0].id, uri: "/ping" });
  clock.advance(150);
  const serverInfo = await within(pair.server.closed, 2000);
  assert.equal(serverInfo.state, "finished");
  const clientInfo = await within(pair.client.closed, 2000);
  assert.equal(clientInfo.state, "finished");
  assert.deepEqual(pair.sentByServer.at(-1), {
    state: "finished",
    id: "s1",
    from: SERVER,
    to: ALICE,
  });
  assert.equal(clock.pending, 0);
});

Deno.test("RemotePingModule clears its timer when the channel closes abruptly", async () => {
  const clock = new ManualClock();
  await using raw = await rawServer({ clock, remotePingInterval: 1000, sendTimeout: 0 });
  assert.equal(clock.pending, 1);
  await raw.peer.close();
  const info = await within(raw.client.closed, 2000);
  assert.equal(info.state, "established");
  assert.equal(clock.pending, 0);
  clock.advance(10_000); // nothing fires on a closed channel
});

Deno.test("RemotePingModule refuses a remoteIdleTimeout shorter than the interval (RangeError)", async () => {
  const [a, b] = MemoryTransport.pair();
  assert.throws(
    () => new ClientChannel(a, { remotePingInterval: 1000, remoteIdleTimeout: 999 }),
    RangeError,
  );
  assert.throws(() => new ClientChannel(a, { remotePingInterval: -5 }), RangeError);
  // Equal is fine.
  const client = new ClientChannel(a, { remotePingInterval: 1000, remoteIdleTimeout: 1000 });
  await client.close();
  await b.close();
});

// ------------------------------------------------------------------ custom modules

Deno.test("ChannelModule in options.modules sees state changes, receives and sends, and can drop", async () => {
  const states: SessionState[] = [];
  const received: Envelope[] = [];
  const sending: Envelope[] = [];
  let closedCalls = 0;
  let closedInfo: ChannelCloseInfo | undefined;
  const module: ChannelModule = {
    onStateChanged: (state, channel) => {
      assert.equal(channel.state, state);
      states.push(state);
    },
    onReceiving: (envelope) => {
      received.push(envelope);
      if ((envelope as Message).content === "drop") return null;
      if ((envelope as Message).content === "change") {
        return { ...envelope, content: "changed" } as Message;
      }
      return envelope;
    },
    onSending: (envelope) => {
      sending.push(envelope);
      return (envelope as Message).content === "secret" ? null : envelope;
    },
    onClosed: (channel, info) => {
      closedCalls++;
      closedInfo = info;
      assert.equal(channel.state, info.state);
    },
  };
  await using raw = await rawServer({ modules: [module] });
  assert.deepEqual(states, ["authenticating", "established"]);
  // Session envelopes do not go through onReceiving / onSending.
  assert.deepEqual(received, []);
  assert.deepEqual(sending, []);

  for (const content of ["drop", "change", "keep"]) {
    await raw.peer.send(new Message("text/plain", content));
  }
  assert.equal((await within(raw.client.receiveMessage(), 2000)).content, "changed");
  assert.equal((await within(raw.client.receiveMessage(), 2000)).content, "keep");
  assert.deepEqual(received.map((e) => (e as Message).content), ["drop", "change", "keep"]);

  await raw.client.sendMessage(new Message("text/plain", "secret"));
  await raw.client.sendMessage(new Message("text/plain", "public"));
  assert.deepEqual(await raw.next(), { type: "text/plain", content: "public" });
  assert.deepEqual(sending.map((e) => (e as Message).content), ["secret", "public"]);

  // The built-in ping reply runs before custom modules: the module never sees the ping.
  await raw.peer.send({ id: "p", method: "get", uri: "/ping" } as Command);
  assert.equal((await raw.next() as Command).status, "success");
  assert.equal(received.length, 3);
  assert.equal(sending.length, 3); // the ping reply went through onSending

  const finishing = raw.client.finish();
  assert.deepEqual(await raw.next(), { state: "finishing", id: "s1" });
  await raw.peer.send(new Session("finished", { id: "s1", from: SERVER }));
  await within(finishing, 2000);
  assert.equal((await raw.client.closed).state, "finished");
  assert.deepEqual(states, ["authenticating", "established", "finishing", "finished"]);
  assert.equal(closedCalls, 1);
  // Told how the channel ended: the very object `closed` resolves with.
  assert.equal(closedInfo, await raw.client.closed);
});

Deno.test("ChannelModule failures in onStateChanged do not break the channel", async () => {
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await using raw = await rawServer({
      modules: [{
        onStateChanged: () => {
          throw new Error("module bug");
        },
      }],
    });
    assert.equal(raw.client.state, "established");
    await raw.peer.send(new Message("text/plain", "still works"));
    assert.equal((await within(raw.client.receiveMessage(), 2000)).content, "still works");
  } finally {
    console.error = original;
  }
  assert.ok(errors.length >= 2);
});
