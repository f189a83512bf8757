/**
 * LimeClient with a reader that does not keep up, a sender a module turned into a Node, abandoned
 * status streams, and an outbox entry the connection refuses: it must keep running and answering.
 * Over memory transport pairs with a scripted server (it establishes at once, answers every
 * request with success, and finishes on `finishing`).
 */
import assert from "node:assert/strict";
import type { LimeClientOptions, TransportFactory } from "../src/client/client_options.ts";
import { LimeClient } from "../src/client/lime_client.ts";
import type { DeadLetter } from "../src/client/resend_tracker.ts";
import { StatusFeed } from "../src/client/status_feed.ts";
import { Node } from "../src/node.ts";
import { Command, type Envelope, Message, Session } from "../src/envelope.ts";
import { MemoryTransport, type MemoryTransportOptions } from "../src/transport/memory.ts";

const NODE = "bot@example.org/test";

/** A scripted server on the far side of each memory pair the client opens. */
function scriptedServer(options: MemoryTransportOptions = {}) {
  const servers: MemoryTransport[] = [];
  const received: Envelope[] = [];
  const factory: TransportFactory = () => {
    const [client, server] = MemoryTransport.pair(options);
    servers.push(server);
    server.onEnvelope((envelope) => {
      received.push(envelope);
      if ("state" in envelope) {
        if (envelope.state === "new") {
          server.send(
            new Session("established", { id: "s1", from: "postmaster@example.org/s", to: NODE }),
          )
            .catch(() => {});
        } else if (envelope.state === "finishing") {
          server.send(new Session("finished", { id: "s1" })).then(() => server.close()).catch(
            () => {},
          );
        }
      } else if ("method" in envelope && envelope.status === undefined && envelope.id) {
        server.send(new Command(envelope.method, undefined, { id: envelope.id, status: "success" }))
          .catch(() => {});
      }
    });
    return Promise.resolve(client);
  };
  return { factory, received, server: () => servers.at(-1)! };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A client of `script`'s server as bot@example.org/test, no keepalive unless `options` say. */
function clientOf(
  script: ReturnType<typeof scriptedServer>,
  options: Partial<LimeClientOptions> = {},
): LimeClient {
  return new LimeClient({
    identity: "bot@example.org",
    instance: "test",
    uri: "memory:",
    keepalive: false,
    transportFactory: script.factory,
    ...options,
  });
}

Deno.test("LimeClient keeps answering while nobody takes its messages", async () => {
  // Messages nobody takes wait in the client's queue. Pushing back onto the channel instead (a
  // version of this change) held command responses, receipts and keepalive replies behind them:
  // commands timed out, and the keepalive dropped the connection (review of 01fb2a5).
  const script = scriptedServer();
  const client = clientOf(script, {
    keepalive: { interval: 100, timeout: 300 },
    channel: { receiveBufferSize: 8, commandTimeout: 2_000 },
  });
  try {
    await client.start();
    const server = script.server();
    for (let i = 0; i < 300; i++) {
      server.send(new Message("text/plain", `m${i}`, { id: `id${i}`, from: "alice@example.org/x" }))
        .catch(() => {});
    }
    for (let i = 0; i < 20; i++) await tick();
    const started = performance.now();
    await client.getResource("/account");
    assert.ok(performance.now() - started < 1_000, "the command waited behind unread messages");
    await new Promise((resolve) => setTimeout(resolve, 500)); // past the keepalive's timeout
    assert.equal(client.status.state, "established");
    const seen: string[] = [];
    for await (const message of client.messages()) {
      seen.push(message.content as string);
      if (seen.length === 300) break;
    }
    assert.deepEqual(seen, Array.from({ length: 300 }, (_, i) => `m${i}`));
  } finally {
    await client.close();
  }
});

Deno.test("LimeClient delivers a message whose sender a module turned into a Node", async () => {
  const script = scriptedServer();
  const client = clientOf(script, {
    channel: {
      modules: [{
        onReceiving: (envelope) => {
          if ("content" in envelope && typeof envelope.from === "string") {
            (envelope as { from: unknown }).from = Node.parse(envelope.from);
          }
          return envelope;
        },
      }],
    },
  });
  try {
    await client.start();
    const seen: string[] = [];
    client.onMessage((message) => void seen.push(message.content as string));
    for (const id of ["a", "b", "a"]) {
      await script.server().send(
        new Message("text/plain", id, { id, from: "Alice@example.org/x" }),
      );
    }
    for (let i = 0; i < 50 && seen.length < 2; i++) await tick();
    assert.deepEqual(seen, ["a", "b"]);
    assert.equal(client.duplicatesDropped, 1);
  } finally {
    await client.close();
  }
});

Deno.test("LimeClient: a handler added later gets what waited, then the rest as it comes", async () => {
  const script = scriptedServer();
  const client = clientOf(script, {
    channel: { receiveBufferSize: 8 },
  });
  try {
    await client.start();
    const server = script.server();
    for (let i = 0; i < 50; i++) {
      server.send(new Message("text/plain", `m${i}`, { from: "alice@example.org/x" })).catch(
        () => {},
      );
    }
    for (let i = 0; i < 10; i++) await tick();
    const seen: string[] = [];
    client.onMessage((message) => void seen.push(message.content as string));
    for (let i = 50; i < 100; i++) {
      await server.send(new Message("text/plain", `m${i}`, { from: "alice@example.org/x" }));
    }
    for (let i = 0; i < 50 && seen.length < 100; i++) await tick();
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => `m${i}`));
  } finally {
    await client.close();
  }
});

Deno.test("StatusFeed forgets a status stream its reader left", async () => {
  // `for await (const s of client.statusChanges()) if (s.state === "established") break;` once
  // per reconnection: each left stream used to stay, keep up to 1,024 statuses and be written to
  // on every change (10.7 KB each; 146 µs per change with 4,000 of them).
  const feed = new StatusFeed();
  for (let i = 0; i < 2_000; i++) {
    for await (const status of feed.changes(true)) {
      assert.equal(status.state, "connecting");
      break;
    }
  }
  const started = performance.now();
  for (let i = 0; i < 1_000; i++) feed.set({ state: "reconnecting", attempt: i, delay: 1 });
  const ms = performance.now() - started;
  assert.ok(ms < 50, `1,000 changes took ${ms.toFixed(0)} ms with 2,000 left streams`);
  // A stream still read gets every change, then the end.
  const stream = feed.changes(true)[Symbol.asyncIterator]();
  feed.set({ state: "established", node: NODE, attempt: 0 });
  feed.end();
  assert.equal((await stream.next()).value?.state, "reconnecting");
  assert.equal((await stream.next()).value?.state, "established");
  assert.equal((await stream.next()).done, true);
});

Deno.test("LimeClient drops an outbox entry its connection refuses instead of retrying it forever", async () => {
  // Sent while disconnected, a message over the transport's size limit waits in the outbox; on
  // connecting, the refused send was put back and tried again in a loop of microtasks that
  // never let a timer run.
  const script = scriptedServer({ maxEnvelopeSize: 4096 });
  const dead: DeadLetter[] = [];
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void errors.push(args);
  const client = clientOf(script, {
    onDeadLetter: (letter) => void dead.push(letter),
    resend: { window: 10, maxResends: 1 },
  });
  try {
    await client.sendMessage(
      new Message("text/plain", "x".repeat(10_000), { id: "big", to: "a@example.org/x" }),
    );
    await client.sendMessage(
      new Message("text/plain", "y".repeat(10_000), { to: "a@example.org/x" }),
    );
    await client.sendMessage(
      new Message("text/plain", "fits", { id: "small", to: "a@example.org/x" }),
    );
    const timerRan = new Promise((resolve) => setTimeout(resolve, 10));
    await client.start();
    await timerRan; // the event loop still turns
    for (
      let i = 0;
      i < 200 && !script.received.some((e) => (e as Message).content === "fits");
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(script.received.some((e) => (e as Message).content === "fits"));
    assert.equal(client.outboxLength, 0);
    for (let i = 0; i < 200 && !dead.some((l) => l.message.id === "big"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Its resends fail the same way (nothing confirms "small" either: this server sends no
    // receipts, so it is dead-lettered too, after it was delivered).
    assert.deepEqual(dead.find((l) => l.message.id === "big")?.reason, "max-resends");
    assert.equal(errors.length, 2, "each refused envelope is said once on the console");
  } finally {
    console.error = original;
    await client.close();
  }
});
