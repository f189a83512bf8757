/**
 * LimeServer under connection faults, on real sockets on 127.0.0.1: a client that vanishes in the
 * middle of sending (socket closed with unread data and half an envelope, no `finishing`) is
 * released at once; a half-open connection (a silent peer, or a proxy that stops forwarding both
 * ways without a FIN) is released within the remote idle timeout plus the close timeout;
 * connect/establish/drop churn leaves no session, channel or socket behind and the heap at its
 * baseline (tools/churn.ts, in a subprocess with `--expose-gc`); a shutdown with traffic in flight
 * ends every client with `finished` and loses no acknowledged store write.
 */
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import {
  type ClientChannel,
  hashPassword,
  KvAccountStore,
  LimeServer,
  Message,
  plainCredentials,
} from "../mod.ts";
import { ServerChannel } from "../src/channel/server_channel.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { churn, type ChurnResult, RawLimeClient } from "../tools/churn.ts";
import { within, writeAll } from "./tcp_helpers.ts";
import { connect, CONTACT, startServer, TestServer } from "./server_test_helpers.ts";
import { clientFrame, RawWebSocket, type ServerFrame } from "./websocket_raw_client.ts";

const SERVER_NODE = "postmaster@localhost/server";
/** Small remote-ping settings so that a half-open connection is noticed in a test. */
const FAST_PING = { remotePingInterval: 100, remoteIdleTimeout: 300, closeTimeout: 200 };

/** Polls `condition` every 2 ms; resolves with the ms it took, rejects after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - started;
}

/** Sends the server's log records of `level` and above to `sink` (undo with `reset()`). */
async function logTo(level: "info" | "error", sink: (record: LogRecord) => void): Promise<void> {
  await configure({
    reset: true,
    sinks: { test: sink },
    loggers: [
      { category: ["lime"], sinks: ["test"], lowestLevel: level },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
  });
}

/** A new client at `address` gets a guest session as `identity`/`instance` and finishes it. */
async function establishesAndFinishes(address: string, identity: string, instance: string) {
  const client = await connect(address);
  try {
    await within(client.establishSession({ identity, instance }));
    assert.equal(client.state, "established");
    await client.finish();
  } finally {
    await client.close();
  }
}

/** Nothing of a session is left on the server: no registration, channel or TCP socket. */
function released(server: LimeServer, node: string): () => boolean {
  return () =>
    server.registry.byNode(node) === undefined && server.registry.size === 0 &&
    server.connectionCount === 0 && server.tcpTransportCount === 0;
}

/**
 * A TCP proxy for one connection that can turn into a black hole: after `freeze()` it keeps both
 * sockets open and reads from them, but forwards nothing either way (no FIN, no RST), like a
 * network path that died.
 */
function blackholeProxy(target: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [hostname, port] = target.split(":");
  const conns: Deno.Conn[] = [];
  let frozen = false;
  let listening = true;
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (!frozen) await writeAll(to, buffer.subarray(0, n));
      }
    } catch {
      // Closed by the dispose.
    }
  };
  const running = (async () => {
    const downstream = await listener.accept();
    listener.close();
    listening = false;
    conns.push(downstream);
    const upstream = await Deno.connect({ hostname, port: Number(port) });
    conns.push(upstream);
    await Promise.all([pump(downstream, upstream), pump(upstream, downstream)]);
  })().catch(() => {});
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    freeze() {
      frozen = true;
    },
    async [Symbol.asyncDispose]() {
      if (listening) listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await running;
    },
  };
}

Deno.test("LimeServer releases at once the session and node of a client that vanishes mid-stream", async () => {
  const store = await KvAccountStore.open(":memory:");
  // The default remote ping (30 s) cannot be what notices it: only the socket can.
  const server = await startServer(store, { websocket: false });
  const node = "vanish@localhost/raw";
  const raw = await RawLimeClient.connect(server.tcpAddress!);
  const clients: ClientChannel[] = [];
  try {
    const sessionId = await within(raw.handshake(node));
    assert.equal(server.registry.byNode(node)?.channel.sessionId, sessionId);
    const serverSide = server.registry.byNode(node)!.channel;
    // Requests whose responses it will never read, then half an envelope, then gone.
    for (let i = 0; i < 20; i++) await raw.send({ id: `p${i}`, method: "get", uri: "/ping" });
    assert.deepEqual(await within(raw.next()), {
      id: "p0",
      to: node,
      method: "get",
      status: "success",
      type: "application/vnd.lime.ping+json",
      resource: {},
    });
    await raw.send(`{"id":"m1","to":"someone@localhost/x","type":"text/plain","content":"hal`);
    raw.close();
    const ms = await until(released(server, node), 2000, "releasing the vanished session");
    console.log(`vanished client released after ${ms.toFixed(0)} ms`);
    assert.ok(ms < 1000, `released after ${ms} ms`);
    const info = await within(serverSide.closed);
    assert.equal(info.state, "established");
    assert.ok(info.error, "an end without finishing is not graceful");

    // The node is free: a new session gets it and receives what is sent to it.
    const again = await connect(server.tcpAddress!);
    const sender = await connect(server.tcpAddress!);
    clients.push(again, sender);
    const session = await within(
      again.establishSession({ identity: "vanish@localhost", instance: "raw" }),
    );
    assert.equal(session.to, node);
    assert.notEqual(server.registry.byNode(node)?.channel.sessionId, sessionId);
    await within(sender.establishSession({ identity: "sender@localhost", instance: "s" }));
    await sender.sendMessage(new Message("text/plain", "hi", { id: "m2", to: node }));
    const message = await within(again.receiveMessage());
    assert.deepEqual({ ...message }, {
      id: "m2",
      from: "sender@localhost/s",
      to: node,
      type: "text/plain",
      content: "hi",
    });
    await within(Promise.all([again.finish(), sender.finish()]));
    await until(() => server.registry.size === 0, 2000, "finishing");
  } finally {
    raw.close();
    await Promise.all(clients.map((client) => client.close()));
    await server.shutdown();
    store.close();
  }
});

Deno.test("LimeServer releases a silent half-open session within the remote idle timeout, after one ping and finished", async () => {
  const store = await KvAccountStore.open(":memory:");
  const server = await startServer(store, { websocket: false, channel: FAST_PING });
  const node = "silent@localhost/raw";
  const raw = await RawLimeClient.connect(server.tcpAddress!);
  try {
    // It completes the handshake, then neither reads nor writes (nor closes).
    const sessionId = await within(raw.handshake(node));
    const established = performance.now();
    const serverSide = server.registry.byNode(node)!.channel;
    await until(released(server, node), 2000, "releasing the silent session");
    const ms = performance.now() - established;
    console.log(`half-open (silent peer) released after ${ms.toFixed(0)} ms`);
    assert.ok(ms >= FAST_PING.remoteIdleTimeout - 50, `released too early: ${ms} ms`);
    assert.ok(
      ms <= FAST_PING.remoteIdleTimeout + FAST_PING.closeTimeout + 200,
      `released after ${ms} ms`,
    );
    // `finished` was written (into the socket buffer) before the abort: a graceful close.
    assert.deepEqual(await within(serverSide.closed), { state: "finished" });
    // What the server sent meanwhile: one ping, then `finished`, then the end.
    const ping = await within(raw.next());
    assert.equal(typeof ping?.id, "string");
    assert.deepEqual(ping, { id: ping!.id, method: "get", uri: "/ping" });
    assert.deepEqual(await within(raw.next()), {
      id: sessionId,
      from: SERVER_NODE,
      to: node,
      state: "finished",
    });
    assert.equal(await within(raw.next()), undefined);
  } finally {
    raw.close();
    await server.shutdown();
    store.close();
  }
});

Deno.test("LimeServer releases a session behind a black-holed connection (no FIN) within the remote idle timeout", async () => {
  const store = await KvAccountStore.open(":memory:");
  const server = await startServer(store, { websocket: false, channel: FAST_PING });
  const node = "lost@localhost/phone";
  await using proxy = blackholeProxy(server.tcpAddress!);
  const client = await connect(proxy.address);
  try {
    await within(client.establishSession({ identity: "lost@localhost", instance: "phone" }));
    proxy.freeze();
    const frozen = performance.now();
    const serverSide = server.registry.byNode(node)!.channel;
    await until(released(server, node), 2000, "releasing the black-holed session");
    const ms = performance.now() - frozen;
    console.log(`half-open (black-holed path) released after ${ms.toFixed(0)} ms`);
    assert.ok(ms >= FAST_PING.remoteIdleTimeout - 50, `released too early: ${ms} ms`);
    assert.ok(
      ms <= FAST_PING.remoteIdleTimeout + FAST_PING.closeTimeout + 200,
      `released after ${ms} ms`,
    );
    // `finished` was written (into the socket buffer) before the abort: a graceful close.
    assert.deepEqual(await within(serverSide.closed), { state: "finished" });
    // The client heard nothing of it: neither the ping nor `finished` got through.
    assert.equal(client.state, "established");
    // The node is free for the client's next connection.
    const again = await connect(server.tcpAddress!);
    try {
      const session = await within(
        again.establishSession({ identity: "lost@localhost", instance: "phone" }),
      );
      assert.equal(session.to, node);
      await within(again.finish());
    } finally {
      await again.close();
    }
  } finally {
    await client.close();
    await server.shutdown();
    store.close();
  }
});

Deno.test("LimeServer is left with no session, channel or socket after connect/establish/drop churn", async () => {
  const result = await within(churn({ cycles: 300, concurrency: 20, warmup: 0 }), 30_000, "churn");
  assert.deepEqual(
    {
      kinds: result.kinds,
      registry: result.registry,
      connections: result.connections,
      tcpTransports: result.tcpTransports,
    },
    {
      kinds: { graceful: 100, abort: 50, "raw-reset": 50, "mid-handshake": 50, silent: 50 },
      registry: 0,
      connections: 0,
      tcpTransports: 0,
    },
  );
});

Deno.test("LimeServer heap returns to its baseline after 2,000 connect/establish/drop cycles (subprocess with --expose-gc)", async () => {
  const tool = new URL("../tools/churn.ts", import.meta.url);
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      tool.pathname,
      "--cycles=2000",
      "--concurrency=20",
      "--warmup=200",
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const output = await within(command.output(), 50_000, "the churn subprocess");
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.equal(stderr, "");
  const result: ChurnResult = JSON.parse(new TextDecoder().decode(output.stdout));
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
  console.log(
    `churn: ${result.cycles} cycles in ${result.ms} ms (${result.perSecond}/s), heap ` +
      `${mb(result.heapBefore)} → ${mb(result.heapAfter)} MB, rss ${mb(result.rssBefore)} → ` +
      `${mb(result.rssAfter)} MB`,
  );
  assert.equal(result.gc, true);
  assert.equal(result.cycles, 2000);
  assert.deepEqual(
    [result.registry, result.connections, result.tcpTransports],
    [0, 0, 0],
  );
  // A leak of 2 KB per cycle would show (a leaked session keeps far more: channel, buffers).
  assert.ok(
    result.heapAfter - result.heapBefore < 4 * 2 ** 20,
    `heap grew by ${mb(result.heapAfter - result.heapBefore)} MB`,
  );
});

/**
 * Clients (all over `via`) stream messages to each other and write contacts, three requests in
 * flight each; the server shuts down in the middle. Every client must see `finished`, every
 * acknowledged write must be in the store file, and the server must log nothing.
 */
async function shutdownUnderTraffic(via: "tcp" | "ws"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lime-faults-test-" });
  const path = `${dir}/lime.kv`;
  // The server logs a handler that failed (say, a store closed under a write in flight).
  const logged: string[] = [];
  await logTo("error", (record) => logged.push(String(record.rawMessage)));
  try {
    const store = await KvAccountStore.open(path);
    const server = await startServer(store);
    const count = 6;
    const clients: ClientChannel[] = [];
    const acknowledged: { owner: string; contact: string }[] = [];
    const received = new Array(count).fill(0);
    const loops: Promise<void>[] = [];
    let serverDown = false;
    try {
      for (let i = 0; i < count; i++) {
        const client = await connect(
          via === "ws" ? server.websocketAddress! : server.tcpAddress!,
          via,
        );
        clients.push(client);
        // Accounts, and a roster acknowledged just before the traffic starts.
        await store.createAccount({
          identity: `user${i}@localhost`,
          document: { fullName: `User ${i}` },
          passwordHash: await hashPassword(`secret ${i}`, 1000),
        });
        await within(client.establishSession({
          identity: `user${i}@localhost`,
          instance: "app",
          credentials: plainCredentials(`secret ${i}`),
        }));
        client.onMessage(() => received[i]++);
        for (let j = 0; j < count; j++) {
          if (j === i) continue;
          await within(
            client.setResource("/contacts", CONTACT, { identity: `user${j}@localhost` }),
          );
          acknowledged.push({ owner: `user${i}@localhost`, contact: `user${j}@localhost` });
        }
      }
      // Each client streams messages to the next one and keeps adding contacts, until the end.
      // (A send taken at once resolves at once: the loop yields to the event loop now and then.)
      const errors: unknown[] = [];
      const loop = (body: (k: number) => Promise<void>, client: ClientChannel) =>
        (async () => {
          for (let k = 0; client.state === "established"; k++) {
            await body(k);
            if (k % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
          }
        })().catch((error) => {
          if (!serverDown) errors.push(error);
        });
      clients.forEach((client, i) => {
        const to = `user${(i + 1) % count}@localhost/app`;
        loops.push(loop(async (k) => {
          await client.sendMessage(new Message("text/plain", `message ${k}`, { to }));
        }, client));
        for (let lane = 0; lane < 3; lane++) { // three writes in flight per client
          loops.push(loop(async (k) => {
            const contact = `extra${lane}-${k}@localhost`;
            await client.setResource("/contacts", CONTACT, { identity: contact, name: `${k}` });
            acknowledged.push({ owner: `user${i}@localhost`, contact });
          }, client));
        }
      });
      const before = acknowledged.length;
      await until(
        () => received.every((n) => n >= 20) && acknowledged.length >= before + 3 * count,
        5000,
        "traffic flowing",
      );

      serverDown = true;
      const inFlight = acknowledged.length;
      await within(server.shutdown(), 5000, "shutdown");
      const closes = await within(Promise.all(clients.map((client) => client.closed)));
      assert.deepEqual(closes, closes.map(() => ({ state: "finished" })));
      await within(Promise.all(loops), 5000, "the traffic loops");
      assert.deepEqual(errors, []);
      assert.equal(server.registry.size, 0);
      assert.equal(server.connectionCount, 0);
      console.log(
        `shutdown (${via}): ${received.reduce((a, b) => a + b)} messages routed, ` +
          `${acknowledged.length - before} contact writes acknowledged during the traffic ` +
          `(${acknowledged.length - inFlight} after shutdown was called)`,
      );
    } finally {
      await server.shutdown();
      await Promise.all(clients.map((client) => client.close()));
      store.close();
    }

    // Every acknowledged write is in the file.
    const reopened = await KvAccountStore.open(path);
    try {
      for (let i = 0; i < count; i++) {
        const account = await reopened.getAccount(`user${i}@localhost`);
        assert.deepEqual(account?.document, { fullName: `User ${i}` });
        assert.ok(account?.passwordHash);
      }
      const missing = [];
      for (const { owner, contact } of acknowledged) {
        if (!(await reopened.getContact(owner, contact))) missing.push(`${owner} → ${contact}`);
      }
      assert.deepEqual(missing, []);
    } finally {
      reopened.close();
    }
    assert.deepEqual(logged, []);
  } finally {
    await reset();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("LimeServer.shutdown with traffic in flight over TCP ends every client with finished and loses no acknowledged store write", async () => {
  await shutdownUnderTraffic("tcp");
});

Deno.test("LimeServer.shutdown with traffic in flight over WebSocket ends every client with finished and loses no acknowledged store write", async () => {
  await shutdownUnderTraffic("ws");
});

// A guest's identity is read from the store once it is registered, before it is told
// `established` (an account made meanwhile owns the identity). A client gone during that read must
// still be let go of: the session unregistered, the connection counted as served (or shutdown
// would wait forever).

/**
 * Holds the store's read of `identity` (a guest's one read, after its registration) until
 * `release`; `checked` resolves once it waits. `owned`: the read then finds an account.
 */
function holdCheck(store: KvAccountStore, identity: string, owned = false) {
  const gate = Promise.withResolvers<void>();
  const checked = Promise.withResolvers<void>();
  const getAccount = store.getAccount.bind(store);
  let calls = 0;
  store.getAccount = async (asked: string) => {
    if (asked === identity && ++calls === 1) {
      checked.resolve();
      await gate.promise;
      if (owned) return { identity, passwordHash: "x" } as never;
    }
    return getAccount(asked);
  };
  return { checked: checked.promise, release: () => gate.resolve() };
}

for (const owned of [false, true]) {
  Deno.test(`LimeServer lets go of a guest that left while its identity was read (${owned ? "owned meanwhile" : "still free"})`, async () => {
    const store = await KvAccountStore.open(":memory:");
    const server = await startServer(store, { websocket: false });
    const node = "leaver@localhost/raw";
    const check = holdCheck(store, "leaver@localhost", owned);
    const raw = await RawLimeClient.connect(server.tcpAddress!);
    try {
      const handshake = raw.handshake(node).then(() => "established", () => "ended");
      await within(check.checked);
      assert.ok(server.registry.byNode(node), "registered before the read");
      raw.close();
      await until(() => server.connectionCount === 0, 2000, "the channel ending");
      check.release();
      await until(released(server, node), 2000, "releasing the session");
      assert.equal(await within(handshake), "ended");
      await within(server.shutdown(), 2000, "shutdown");
    } finally {
      check.release();
      raw.close();
      await server.shutdown();
      store.close();
    }
  });
}

Deno.test("LimeServer logs a guest that ended while its identity was read with what the guest got", async () => {
  const refusals: Record<string, unknown>[] = [];
  await logTo("info", (record) => {
    if (String(record.rawMessage).startsWith("Session refused")) refusals.push(record.properties);
  });
  const store = await KvAccountStore.open(":memory:");
  const server = await startServer(store, { websocket: false });
  const check = holdCheck(store, "hasty@localhost", true);
  const raw = await RawLimeClient.connect(server.tcpAddress!);
  try {
    const handshake = raw.handshake("hasty@localhost/raw").then(() => "established", String);
    await within(check.checked);
    // A message before `established`: the channel fails it (15) while the read waits; the read
    // then finds an account, which is no longer what the guest was refused for.
    await raw.send({ id: "x", to: "bob@localhost/b", type: "text/plain", content: "early" });
    assert.match(await within(handshake), /unexpected envelope.*"code":15/);
    check.release();
    await until(released(server, "hasty@localhost/raw"), 2000, "releasing the session");
    assert.equal(refusals.length, 1, JSON.stringify(refusals));
    assert.equal(refusals[0].cause, "ended while the store was read");
    assert.equal(refusals[0].code, 15);
  } finally {
    check.release();
    raw.close();
    await server.shutdown();
    store.close();
    await reset();
  }
});

Deno.test("LimeServer given a transport that cannot be read ends it at once and gives its slot back", async () => {
  const store = await KvAccountStore.open(":memory:");
  const server = await startServer(store, { websocket: false, maxSessions: 1 });
  const [a, b] = MemoryTransport.pair();
  (a as unknown as Record<symbol, unknown>)[Symbol.asyncIterator] = () => {
    throw new Error("no iterator");
  };
  server.accept(a); // its channel ends while it is being made
  const client = await connect(server.tcpAddress!);
  try {
    await until(() => !a.isConnected, 2000, "closed");
    // The one slot is free again: a client gets in.
    await within(client.establishSession({ identity: "guest1@localhost", instance: "a" }));
    assert.equal(client.state, "established");
    assert.equal(server.connectionCount, 1);
    await client.finish();
  } finally {
    await client.close();
    await b.close();
    await server.shutdown();
    store.close();
  }
});

Deno.test("LimeServer closes the connection of a session whose serving fails with a fault of its own, logs it, and serves the next", async () => {
  const logged: string[] = [];
  await logTo("error", (record) => logged.push(String(record.rawMessage)));
  const establish = ServerChannel.prototype.establishSession;
  let faults = 1;
  ServerChannel.prototype.establishSession = function (...args) {
    if (faults-- > 0) return Promise.reject(new Error("a bug of the server's own"));
    return establish.apply(this, args);
  };
  const store = await KvAccountStore.open(":memory:");
  const server = await startServer(store, { websocket: false });
  const [hostname, port] = server.tcpAddress!.split(":");
  const raw = await Deno.connect({ hostname, port: Number(port) });
  try {
    // The peer is let go (end of stream), not left connected to a channel nobody serves.
    const read = await within(raw.read(new Uint8Array(64)), 2000);
    assert.equal(read, null);
    await until(() => server.connectionCount === 0, 2000, "released");
    assert.deepEqual(logged, ["A session failed: {error}"]);
    await establishesAndFinishes(server.tcpAddress!, "guest1@localhost", "a");
  } finally {
    ServerChannel.prototype.establishSession = establish;
    raw.close();
    await server.shutdown();
    store.close();
    await reset();
  }
});

Deno.test("LimeServer unregisters a session whose serving fails after its registration: its node and identity are free again", async () => {
  await logTo("error", () => {}); // the fault is logged: not on the test's output
  const own = Object.hasOwn(ServerChannel.prototype, "onMessage");
  const onMessage = ServerChannel.prototype.onMessage;
  let faults = 1;
  ServerChannel.prototype.onMessage = function (...args) {
    if (faults-- > 0) throw new Error("a bug of the server's own, after registration");
    return onMessage.apply(this, args);
  };
  const store = await KvAccountStore.open(":memory:");
  const server = await startServer(store, { websocket: false, maxSessionsPerIdentity: 1 });
  const first = await connect(server.tcpAddress!);
  try {
    await within(first.establishSession({ identity: "ghost@localhost", instance: "a" }));
    await within(first.closed);
    await until(() => server.connectionCount === 0, 2000, "released");
    // Before, it stayed registered: the node taken for good (a guest never replaces a guest)
    // and the identity's one session used up.
    assert.equal(server.registry.size, 0);
    await establishesAndFinishes(server.tcpAddress!, "ghost@localhost", "a");
  } finally {
    if (own) ServerChannel.prototype.onMessage = onMessage;
    else delete (ServerChannel.prototype as { onMessage?: unknown }).onMessage;
    await first.close();
    await server.shutdown();
    store.close();
    await reset();
  }
});

/** The next LIME envelope a raw WebSocket client gets (other frames skipped). */
async function nextEnvelope(client: RawWebSocket): Promise<Record<string, unknown>> {
  for (;;) {
    const frame = await client.next(3000);
    assert.notEqual(frame, "closed", "the server hung up");
    const { opcode, payload } = frame as ServerFrame;
    if (opcode === 1) return JSON.parse(new TextDecoder().decode(payload));
  }
}

Deno.test("LimeServer stops routing to a WebSocket session the moment it ends it and hangs up within channel.closeTimeout, however silent the peer", async () => {
  // A peer that stops answering anything (LIME pings, WebSocket pings, close frames): the server
  // ends its session (remote idle) with `finished`. Before, the session stayed registered (routed
  // to, counted against its identity) through the WebSocket close handshake, 5 s whatever the
  // server's closeTimeout.
  const ended: Record<string, unknown>[] = [];
  await logTo("info", (record) => {
    if (/^Session ended/.test(String(record.rawMessage))) ended.push(record.properties);
  });
  await using t = await TestServer.start({
    channel: { remotePingInterval: 100, remoteIdleTimeout: 300, closeTimeout: 300 },
  });
  const node = "silent@localhost/ws";
  const client = await RawWebSocket.open(t.server.websocketAddress!);
  try {
    await client.write(clientFrame(1, `{"state":"new"}`));
    let envelope = await nextEnvelope(client);
    assert.equal(envelope.state, "authenticating");
    await client.write(clientFrame(
      1,
      `{"id":"${envelope.id}","from":"${node}","state":"authenticating","scheme":"guest","authentication":{}}`,
    ));
    assert.equal((await nextEnvelope(client)).state, "established");
    assert.ok(t.server.registry.byNode(node));
    do envelope = await nextEnvelope(client); while (envelope.state !== "finished");
    const finished = performance.now();
    const unrouted = await until(() => t.server.registry.byNode(node) === undefined, 2000, "gone");
    assert.ok(unrouted < 100, `still registered ${unrouted.toFixed(0)} ms after its finished`);
    assert.equal(t.server.registry.byIdentityKey("silent@localhost").length, 0);
    const hungUp = await client.endedAt - finished;
    assert.ok(hungUp < 1000, `the server hung up ${hungUp.toFixed(0)} ms after its finished`);
    await until(() => t.server.connectionCount === 0, 2000, "released");
    // The log says who ended it: the server (the session was idle), not the client.
    assert.deepEqual(ended.map((properties) => [properties.node, properties.by]), [
      [node, "the server"],
    ]);
    // A client that finishes its session is logged as the one that ended it.
    const polite = await t.connect();
    await polite.establishSession({ identity: "polite@localhost", instance: "tcp" });
    await polite.finish();
    await until(() => ended.length === 2, 2000, "logged");
    assert.deepEqual(ended[1].by, "the client");
  } finally {
    await client.close();
    await reset();
  }
});

Deno.test("LimeServer stops routing to a session that ends right after a slow establishment", async () => {
  // finishing sent right after established (which a slow store's read of the guest's identity
  // delayed), by a peer that then ignores the WebSocket close: before, the node stayed registered
  // until the close handshake gave up (closeTimeout).
  await using t = await TestServer.start({ channel: { closeTimeout: 3000 } });
  const getAccount = t.store.getAccount.bind(t.store);
  t.store.getAccount = async (identity) => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return await getAccount(identity);
  };
  const node = "hasty@localhost/ws";
  const client = await RawWebSocket.open(t.server.websocketAddress!);
  try {
    await client.write(clientFrame(1, `{"state":"new"}`));
    const auth = await nextEnvelope(client);
    await client.write(clientFrame(
      1,
      `{"id":"${auth.id}","from":"${node}","state":"authenticating","scheme":"guest","authentication":{}}`,
    ));
    assert.equal((await nextEnvelope(client)).state, "established");
    await client.write(clientFrame(1, `{"id":"${auth.id}","state":"finishing"}`));
    assert.equal((await nextEnvelope(client)).state, "finished");
    const unrouted = await until(() => t.server.registry.byNode(node) === undefined, 2000, "gone");
    assert.ok(unrouted < 400, `still registered ${unrouted.toFixed(0)} ms after its finished`);
  } finally {
    await client.close();
  }
});

Deno.test("LimeServer refuses bad channel timeouts when it is made, not at each connection", async () => {
  const store = await KvAccountStore.open(":memory:");
  try {
    for (const channel of [{ closeTimeout: -1 }, { commandTimeout: NaN }]) {
      assert.throws(
        () => new LimeServer({ store, channel }),
        (error: Error) =>
          error instanceof RangeError && /^Option "channel\.\w+" must be a finite number/.test(
            error.message,
          ),
      );
    }
  } finally {
    store.close();
  }
});
