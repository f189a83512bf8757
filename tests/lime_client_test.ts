/**
 * LimeClient, the resilient client: backoff delays and giving up (ManualClock, `random` fixed so
 * jitter is neutral), close() during a reconnection, the outbox while disconnected, resends and
 * dead letters, presence and receipts set again after a reconnection, commands pending when the
 * connection drops, the status sequence of a server restart, and a half-open connection through
 * a TCP proxy that stops forwarding (keepalive). Real LimeServers on 127.0.0.1 where a server is
 * involved; the 10,000-message restart is in lime_client_restart_test.ts.
 */
import assert from "node:assert/strict";
import {
  backoffDelay,
  ClientChannel,
  Command,
  type DeadLetter,
  DedupeWindow,
  type DenoLimeClientOptions,
  denoTransportFactory,
  hashPassword,
  KvAccountStore,
  LimeClient,
  LimeClientError,
  type LimeClientStatus,
  LimeError,
  LimeServer,
  ManualClock,
  Message,
  plainCredentials,
  TcpTransport,
  type Transport,
  type TransportFactory,
} from "../mod.ts";
import { mulberry32 } from "./prng.ts";
import { within, writeAll } from "./tcp_helpers.ts";

const PRESENCE_TYPE = "application/vnd.lime.presence+json";
const RECEIPT_TYPE = "application/vnd.lime.receipt+json";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms, failing after `ms`. */
function until(condition: () => boolean, ms = 3000, what = "a condition"): Promise<void> {
  return within(
    (async () => {
      while (!condition()) await delay(10);
    })(),
    ms,
    what,
  );
}

/** The next status of `client` in `state` (registered now, before the action that causes it). */
function nextStatus<S extends LimeClientStatus["state"]>(
  client: LimeClient,
  state: S,
  ms = 3000,
): Promise<Extract<LimeClientStatus, { state: S }>> {
  let off = () => {};
  const seen = new Promise<Extract<LimeClientStatus, { state: S }>>((resolve) => {
    off = client.onStatus((status) => {
      if (status.state === state) resolve(status as Extract<LimeClientStatus, { state: S }>);
    });
  });
  return within(seen, ms, `status "${state}"`).finally(off);
}

/** Takes statuses from a `statusChanges()` iterator until one in `state` (buffered: no race). */
async function nextOf<S extends LimeClientStatus["state"]>(
  changes: AsyncIterator<LimeClientStatus>,
  state: S,
  ms = 3000,
): Promise<Extract<LimeClientStatus, { state: S }>> {
  return await within(
    (async () => {
      for (;;) {
        const next = await changes.next();
        assert.equal(next.done, false, `the statuses ended before "${state}"`);
        if (next.value.state === state) {
          return next.value as Extract<LimeClientStatus, { state: S }>;
        }
      }
    })(),
    ms,
    `status "${state}"`,
  );
}

/** A factory that always fails (nothing to connect to), counting its calls. */
function failingFactory(): TransportFactory & { calls: number } {
  const factory = Object.assign(() => {
    factory.calls++;
    return Promise.reject(new Error("connection refused (test)"));
  }, { calls: 0 });
  return factory;
}

/** A LimeServer on 127.0.0.1 (TCP only) over a shared store; restartable on the same port. */
class Servers implements AsyncDisposable {
  server!: LimeServer;
  port = 0;

  private constructor(readonly store: KvAccountStore) {}

  static async start(): Promise<Servers> {
    const servers = new Servers(await KvAccountStore.open(":memory:"));
    await servers.restart();
    return servers;
  }

  get uri(): string {
    return `net.tcp://127.0.0.1:${this.port}`;
  }

  /** Starts a (new) server on the port (the first time: a free one). */
  async restart(): Promise<LimeServer> {
    this.server = new LimeServer({
      store: this.store,
      domain: "localhost",
      tcp: { hostname: "127.0.0.1", port: this.port },
      websocket: false,
      passwordIterations: 1000,
    });
    await this.server.start();
    this.port = Number(this.server.tcpAddress!.split(":").at(-1));
    return this.server;
  }

  /** A LimeClient for `name@domain/instance` on this server, without keepalive pings. */
  client(node: string, options: Partial<DenoLimeClientOptions> = {}): LimeClient {
    const [identity, instance] = node.split("/");
    return new LimeClient({ uri: this.uri, identity, instance, keepalive: false, ...options });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server.shutdown();
    this.store.close();
  }
}

/** An established raw client channel for `name@domain/instance` (no automatic receipts). */
async function rawClient(servers: Servers, node: string): Promise<ClientChannel> {
  const [identity, instance] = node.split("/");
  const transport = new TcpTransport();
  await transport.open(servers.uri);
  const channel = new ClientChannel(transport);
  await within(channel.establishSession({ identity, instance }), 3000, `establishing ${node}`);
  return channel;
}

/**
 * A TCP proxy that can stop forwarding its current connections both ways without closing them
 * (a half-open network path: bytes go into a black hole); later connections forward normally.
 */
class BlackHoleProxy implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #links: { down: Deno.Conn; up: Deno.Conn; frozen: boolean }[] = [];
  readonly #tasks: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor(target: string) {
    const [hostname, port] = target.split(":");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.#accepting = (async () => {
      for await (const down of listener) {
        const up = await Deno.connect({ hostname, port: Number(port) });
        const link = { down, up, frozen: false };
        this.#links.push(link);
        this.#tasks.push(this.#pump(link, down, up), this.#pump(link, up, down));
      }
    })().catch(() => {});
  }

  /** `127.0.0.1:port`. */
  get address(): string {
    return `127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.#links.length;
  }

  /** Stops forwarding on every current connection (nothing is closed). */
  freeze(): void {
    for (const link of this.#links) link.frozen = true;
  }

  async #pump(link: { frozen: boolean }, from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (!link.frozen) await writeAll(to, buffer.subarray(0, n));
      }
      if (!link.frozen) await to.closeWrite();
    } catch {
      // Closed by dispose or by the peer.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const { down, up } of this.#links) {
      for (const conn of [down, up]) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
    }
    await this.#accepting;
    await Promise.all(this.#tasks);
  }
}

// ---------------------------------------------------------------- backoffDelay

Deno.test("backoffDelay grows by the factor from initialDelay and stops at maxDelay", () => {
  const options = { initialDelay: 100, factor: 3, maxDelay: 2000, jitter: 0.2 };
  const neutral = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, options, neutral)),
    [100, 300, 900, 2000, 2000, 2000],
  );
  // Defaults: 250 × 2^(n-1), capped at 30,000.
  assert.deepEqual(
    [1, 2, 3, 8, 9, 50].map((n) => backoffDelay(n, {}, neutral)),
    [250, 500, 1000, 30_000, 30_000, 30_000],
  );
  // Attempt 0 (or below) counts as the first.
  assert.equal(backoffDelay(0, options, neutral), 100);
});

Deno.test("backoffDelay spreads by at most ±jitter and reaches both ends", () => {
  const options = { initialDelay: 1000, factor: 2, maxDelay: 10_000, jitter: 0.25 };
  assert.equal(backoffDelay(1, options, () => 0), 750);
  assert.equal(backoffDelay(1, options, () => 0.999999), 1250);
  assert.equal(backoffDelay(5, options, () => 0), 7500); // jitter applies after the cap
  const random = mulberry32(42);
  const seen = new Set<number>();
  for (let attempt = 1; attempt <= 6; attempt++) {
    const base = Math.min(10_000, 1000 * 2 ** (attempt - 1));
    for (let i = 0; i < 500; i++) {
      const delay = backoffDelay(attempt, options, random);
      assert.ok(delay >= base * 0.75 && delay <= base * 1.25, `${delay} around ${base}`);
      if (attempt === 1) seen.add(Math.round((delay - 750) / 50));
    }
  }
  assert.equal(seen.size, 11, "the spread covers the whole ±25% band");
  assert.equal(backoffDelay(3, { ...options, jitter: 0 }, () => 0), 4000);
  assert.equal(backoffDelay(3, { ...options, jitter: 0 }, () => 0.999), 4000);
});

Deno.test("DedupeWindow drops repeats within its size and forgets the oldest", () => {
  const window = new DedupeWindow(2);
  assert.equal(window.seen("a"), false);
  assert.equal(window.seen("a"), true);
  assert.equal(window.seen("b"), false);
  assert.equal(window.seen("c"), false); // forgets "a"
  assert.equal(window.seen("a"), false);
  assert.equal(window.seen("c"), true);
  const off = new DedupeWindow(0);
  assert.equal(off.seen("x"), false);
  assert.equal(off.seen("x"), false);
});

// ---------------------------------------------------------------- reconnection loop

Deno.test("LimeClient reconnecting statuses carry the backoff delays, then it gives up", async () => {
  const clock = new ManualClock();
  const factory = failingFactory();
  const statuses: LimeClientStatus[] = [];
  const client = new LimeClient({
    uri: "net.tcp://127.0.0.1:1",
    identity: "alice@localhost",
    transportFactory: factory,
    reconnect: { initialDelay: 100, factor: 2, maxDelay: 1000, jitter: 0.3, maxAttempts: 6 },
    clock,
    random: () => 0.5,
  });
  client.onStatus((status) => statuses.push(status));
  const changes = client.statusChanges()[Symbol.asyncIterator]();
  const started = client.start();
  started.catch(() => {});
  const delays: number[] = [];
  for (let attempt = 1; attempt <= 6; attempt++) {
    const reconnecting = await nextOf(changes, "reconnecting");
    assert.equal(reconnecting.attempt, attempt);
    delays.push(reconnecting.delay);
    assert.equal(clock.pending, 1, "only the backoff timer runs");
    clock.advance(reconnecting.delay - 1);
    assert.equal(factory.calls, attempt, "no attempt before the delay is over");
    clock.advance(1);
    assert.equal((await nextOf(changes, "connecting")).attempt, attempt);
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  await assert.rejects(within(started, 1000, "start"), (error: unknown) => {
    assert.ok(error instanceof LimeClientError);
    assert.equal(error.code, "gave-up");
    return true;
  });
  assert.equal(factory.calls, 7, "the first connection and 6 reconnection attempts");
  assert.equal(client.status.state, "closed");
  const closed = client.status as Extract<LimeClientStatus, { state: "closed" }>;
  assert.ok(closed.error instanceof LimeClientError && closed.error.code === "gave-up");
  assert.deepEqual(
    statuses.map((s) => s.state),
    [
      "connecting",
      ...Array.from({ length: 6 }, () => ["disconnected", "reconnecting", "connecting"]).flat(),
      "disconnected",
      "closed",
    ],
  );
  assert.equal(clock.pending, 0);
  await client.close();
  await assert.rejects(client.sendMessage(new Message("text/plain", "late")), (error: unknown) => {
    assert.ok(error instanceof LimeClientError);
    assert.equal(error.code, "closed");
    return true;
  });
});

Deno.test("LimeClient retries a TCP port where nothing listens and gives up", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const clock = new ManualClock();
  const client = new LimeClient({
    uri: `net.tcp://127.0.0.1:${port}`,
    identity: "alice@localhost",
    reconnect: { initialDelay: 50, maxAttempts: 1 },
    clock,
    random: () => 0.5,
  });
  const changes = client.statusChanges()[Symbol.asyncIterator]();
  const started = client.start();
  started.catch(() => {});
  assert.match((await nextOf(changes, "disconnected")).reason ?? "", /127\.0\.0\.1/);
  const reconnecting = await nextOf(changes, "reconnecting");
  assert.deepEqual(reconnecting, { state: "reconnecting", attempt: 1, delay: 50 });
  clock.advance(50);
  await assert.rejects(within(started, 3000, "start"), { name: "LimeClientError" });
  assert.equal(client.status.state, "closed");
  assert.equal(clock.pending, 0);
});

Deno.test("LimeClient close() during a reconnection stops the loop and leaves no timer", async () => {
  const clock = new ManualClock();
  const factory = failingFactory();
  const client = new LimeClient({
    uri: "net.tcp://127.0.0.1:1",
    identity: "alice@localhost",
    transportFactory: factory,
    reconnect: { initialDelay: 500 },
    clock,
    random: () => 0.5,
  });
  const reconnecting = nextStatus(client, "reconnecting");
  const started = client.start();
  started.catch(() => {});
  assert.equal((await reconnecting).delay, 500);
  assert.equal(clock.pending, 1);
  const states: string[] = [];
  client.onStatus((status) => states.push(status.state));
  await within(client.close(), 1000, "close");
  assert.deepEqual(states, ["closed"]);
  assert.deepEqual(client.status, { state: "closed" });
  assert.equal(clock.pending, 0, "the backoff timer was cleared");
  await assert.rejects(within(started, 1000, "start"), (error: unknown) => {
    assert.ok(error instanceof LimeClientError);
    assert.equal(error.code, "closed");
    return true;
  });
  clock.advance(10_000);
  assert.equal(factory.calls, 1, "no attempt after close");
  assert.deepEqual(states, ["closed"]);
  await within(client.close(), 1000, "a second close");
});

for (const when of ["established", "setting presence"] as const) {
  Deno.test(`LimeClient close() while connecting (${when}) ends the new session`, async () => {
    await using servers = await Servers.start();
    let closing: Promise<void> | undefined;
    const closeNow = () => {
      closing ??= client.close();
    };
    const client: LimeClient = servers.client("alice@localhost/a", {
      ...(when === "setting presence" ? { presence: { status: "available" as const } } : {}),
      channel: {
        modules: [{
          onStateChanged: (state) => {
            if (when === "established" && state === "established") closeNow();
          },
          onSending: (envelope) => {
            if ("method" in envelope && envelope.uri === "/presence") closeNow();
            return envelope;
          },
        }],
      },
    });
    const statuses: string[] = [];
    client.onStatus((status) => statuses.push(status.state));
    const started = client.start();
    started.catch(() => {});
    await until(() => closing !== undefined, 3000, "the close");
    await within(closing!, 3000, "close() during the establishment");
    await assert.rejects(within(started, 1000, "start"), { name: "LimeClientError" });
    assert.deepEqual(statuses, ["connecting", "closed"]);
    await until(() => servers.server.registry.size === 0, 3000, "the server session ending");
  });
}

Deno.test("LimeClient `await using` closes it", async () => {
  const clock = new ManualClock();
  let client: LimeClient;
  {
    await using scoped = new LimeClient({
      uri: "net.tcp://127.0.0.1:1",
      identity: "alice@localhost",
      transportFactory: failingFactory(),
      clock,
      random: () => 0.5,
    });
    client = scoped;
    const reconnecting = nextStatus(client, "reconnecting");
    client.start().catch(() => {});
    await reconnecting;
  }
  assert.equal(client.status.state, "closed");
  assert.equal(clock.pending, 0);
});

// ---------------------------------------------------------------- against a real server

Deno.test("LimeClient statusChanges() yields the statuses of a server restart in order", async () => {
  await using servers = await Servers.start();
  const clock = new ManualClock();
  const client = servers.client("alice@localhost/a", {
    reconnect: { initialDelay: 200 },
    clock,
    random: () => 0.5,
  });
  const collected: LimeClientStatus[] = [];
  const collecting = (async () => {
    for await (const status of client.statusChanges()) collected.push(status);
  })();
  try {
    await within(client.start(), 3000, "start");
    assert.equal(client.node, "alice@localhost/a");
    const reconnecting = nextStatus(client, "reconnecting");
    await servers.server.shutdown();
    assert.equal((await reconnecting).delay, 200);
    await servers.restart();
    const established = nextStatus(client, "established");
    clock.advance(200);
    await established;
    assert.ok(servers.server.registry.byNode("alice@localhost/a"));
  } finally {
    await client.close();
  }
  await within(collecting, 1000, "the status iterator ending");
  assert.deepEqual(collected.map((s) => s.state), [
    "connecting",
    "established",
    "disconnected",
    "reconnecting",
    "connecting",
    "established",
    "closed",
  ]);
  assert.deepEqual(collected[1], { state: "established", node: "alice@localhost/a", attempt: 0 });
  assert.deepEqual(collected[3], { state: "reconnecting", attempt: 1, delay: 200 });
  assert.deepEqual(collected[4], { state: "connecting", attempt: 1 });
  assert.deepEqual(collected[6], { state: "closed" });
  // After close the iterator ends at once.
  const after: LimeClientStatus[] = [];
  for await (const status of client.statusChanges()) after.push(status);
  assert.deepEqual(after, [{ state: "closed" }]);
});

Deno.test("LimeClient keeps sends in the outbox while disconnected, up to outboxSize, in order", async () => {
  await using servers = await Servers.start();
  const clock = new ManualClock();
  const sender = servers.client("alice@localhost/a", {
    outboxSize: 5,
    reconnect: { initialDelay: 100 },
    clock,
    random: () => 0.5,
  });
  const receiver = servers.client("bob@localhost/b", {
    reconnect: { initialDelay: 20, maxDelay: 50 },
  });
  const received: Message[] = [];
  receiver.onMessage((message) => received.push(message));
  try {
    await within(Promise.all([sender.start(), receiver.start()]), 3000, "start");
    const senderDown = nextStatus(sender, "reconnecting");
    const receiverBack = nextStatus(receiver, "established", 5000);
    await servers.server.shutdown();
    await senderDown;
    for (let i = 1; i <= 5; i++) {
      await sender.sendMessage(
        new Message("text/plain", `queued ${i}`, { id: `q${i}`, to: "bob@localhost/b" }),
      );
    }
    assert.equal(sender.outboxLength, 5);
    await assert.rejects(
      sender.sendMessage(
        new Message("text/plain", "one too many", { id: "q6", to: "bob@localhost/b" }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof LimeClientError);
        assert.equal(error.code, "outbox-full");
        return true;
      },
    );
    assert.equal(sender.outboxLength, 5, "the refused message was not taken");
    assert.equal(sender.unconfirmed, 0, "queued messages are not tracked before they are sent");

    // The server comes back; the receiver reconnects first, then the sender's delay ends.
    await servers.restart();
    await receiverBack;
    const established = nextStatus(sender, "established");
    clock.advance(100);
    await established;
    assert.equal(sender.outboxLength, 0);
    await until(() => received.length >= 5, 3000, "the queued messages");
    assert.deepEqual(received.map((m) => [m.id, m.content]), [
      ["q1", "queued 1"],
      ["q2", "queued 2"],
      ["q3", "queued 3"],
      ["q4", "queued 4"],
      ["q5", "queued 5"],
    ]);
    assert.equal(received[0].from, "alice@localhost/a");
    await until(() => sender.unconfirmed === 0, 3000, "the receipts");
  } finally {
    await sender.close();
    await receiver.close();
  }
});

Deno.test("LimeClient resends an unconfirmed message maxResends times, then dead-letters it", async () => {
  await using servers = await Servers.start();
  const bob = await rawClient(servers, "bob@localhost/b"); // never confirms
  const copies: Message[] = [];
  bob.onMessage((message) => copies.push(message));
  const clock = new ManualClock();
  const dead: DeadLetter[] = [];
  const sender = servers.client("alice@localhost/a", {
    resend: { maxResends: 3, window: 1000 },
    onDeadLetter: (letter) => dead.push(letter),
    clock,
  });
  try {
    await within(sender.start(), 3000, "start");
    await sender.sendMessage(
      new Message("text/plain", "hello", { id: "m1", to: "bob@localhost/b" }),
    );
    assert.equal(sender.unconfirmed, 1);
    await until(() => copies.length === 1, 3000, "the first copy");
    // Resent when unconfirmed for window × (resends + 1): at 1000, 3000 and 6000; dead at 10,000.
    const resentAt: number[] = [];
    for (let t = 1000; t <= 10_000; t += 1000) {
      const before = copies.length;
      clock.advance(1000);
      await until(() => clock.pending === 1, 3000, "the next resend check");
      if ([1000, 3000, 6000].includes(t)) {
        await until(() => copies.length === before + 1, 3000, `the resend at ${t}`);
        resentAt.push(t);
      }
      assert.equal(dead.length, t === 10_000 ? 1 : 0, `dead letters at ${t}`);
    }
    assert.deepEqual(resentAt, [1000, 3000, 6000]);
    // Nothing more arrives: a probe without id comes next (routing keeps the sender's order).
    await sender.sendMessage(new Message("text/plain", "probe", { to: "bob@localhost/b" }));
    await until(() => copies.length === 5, 3000, "the probe");
    assert.deepEqual(
      copies.map((m) => [m.id, m.content, m.metadata?.["#resentCount"]]),
      [
        ["m1", "hello", undefined],
        ["m1", "hello", "1"],
        ["m1", "hello", "2"],
        ["m1", "hello", "3"],
        [undefined, "probe", undefined],
      ],
    );
    assert.equal(dead.length, 1);
    assert.equal(dead[0].reason, "max-resends");
    assert.equal(dead[0].message.id, "m1");
    assert.equal(dead[0].message.metadata?.["#resentCount"], "3");
    assert.equal(sender.unconfirmed, 0);
  } finally {
    await sender.close();
    await bob.finish();
  }
  assert.equal(dead.length, 1, "nothing more at close");
});

Deno.test("LimeClient close() dead-letters unconfirmed and unsent messages with reason closed", async () => {
  await using servers = await Servers.start();
  const bob = await rawClient(servers, "bob@localhost/b"); // never confirms
  const clock = new ManualClock();
  const dead: DeadLetter[] = [];
  const sender = servers.client("alice@localhost/a", {
    onDeadLetter: (letter) => dead.push(letter),
    clock,
    random: () => 0.5,
  });
  try {
    await within(sender.start(), 3000, "start");
    await sender.sendMessage(
      new Message("text/plain", "sent", { id: "t1", to: "bob@localhost/b" }),
    );
    await within(bob.receiveMessage(), 3000, "t1 at bob");
    assert.equal(sender.unconfirmed, 1);
    const down = nextStatus(sender, "reconnecting");
    await servers.server.shutdown();
    await down;
    await sender.sendMessage(
      new Message("text/plain", "queued", { id: "q1", to: "bob@localhost/b" }),
    );
    await sender.sendMessage(new Message("text/plain", "no id", { to: "bob@localhost/b" }));
    assert.equal(sender.outboxLength, 2);
    assert.equal(dead.length, 0);
    await sender.close();
    assert.deepEqual(
      dead.map((letter) => [letter.reason, letter.message.id, letter.message.content]),
      [["closed", "t1", "sent"], ["closed", "q1", "queued"], ["closed", undefined, "no id"]],
    );
    assert.equal(sender.unconfirmed, 0);
    assert.equal(sender.outboxLength, 0);
    assert.equal(clock.pending, 0);
  } finally {
    await sender.close();
    await bob.close();
  }
});

Deno.test("LimeClient sets presence and receipts again after a reconnection", async () => {
  await using servers = await Servers.start();
  const client = servers.client("alice@localhost/a", {
    presence: { status: "busy" },
    reconnect: { initialDelay: 20, maxDelay: 50 },
  });
  try {
    await within(client.start(), 3000, "start");
    const node = client.node!;
    assert.equal(node, "alice@localhost/a");
    // The constructor's presence is set at establishment.
    assert.equal(servers.server.registry.byNode(node)?.presence.status, "busy");
    await client.setResource("/presence", PRESENCE_TYPE, {
      status: "available",
      routingRule: "instance",
      priority: 3,
      message: "at work",
    });
    await client.setResource("/receipt", RECEIPT_TYPE, { events: ["accepted", "dispatched"] });
    // A refused set (a guest may not route by domain) is not set again after reconnecting.
    await assert.rejects(
      client.setResource("/presence", PRESENCE_TYPE, { status: "away", routingRule: "domain" }),
      { name: "CommandFailedError", code: 35 },
    );
    const before = servers.server.registry.byNode(node)!;
    assert.equal(before.presence.routingRule, "instance");
    assert.deepEqual([...before.receiptEvents].sort(), ["accepted", "dispatched", "failed"]);

    const back = nextStatus(client, "established", 5000);
    await servers.server.shutdown();
    const fresh = await servers.restart();
    assert.equal(fresh.registry.size, 0);
    await back;
    const after = fresh.registry.byNode(node);
    assert.ok(after && after !== before, "a session on the new server");
    assert.deepEqual(after.presence, {
      status: "available",
      routingRule: "instance",
      priority: 3,
      message: "at work",
      explicit: true,
    });
    assert.deepEqual([...after.receiptEvents].sort(), ["accepted", "dispatched", "failed"]);
    assert.deepEqual(await client.getResource("/presence"), {
      status: "available",
      routingRule: "instance",
      priority: 3,
      message: "at work",
    });
  } finally {
    await client.close();
  }
});

Deno.test("LimeClient retries a pending get on the next session; a pending set rejects disconnected", async () => {
  await using servers = await Servers.start();
  const transports: Transport[] = [];
  const base = denoTransportFactory();
  const alice = servers.client("alice@localhost/a", {
    reconnect: { initialDelay: 20, maxDelay: 50 },
    transportFactory: async (uri, signal) => {
      const transport = await base(uri, signal);
      transports.push(transport);
      return transport;
    },
  });
  const bob = await rawClient(servers, "bob@localhost/b");
  const requests: Command[] = [];
  bob.onCommand((command) => requests.push(command));
  try {
    await within(alice.start(), 3000, "start");

    // get: bob answers only the copy sent on the second session.
    const get = new Command("get", "/things/1", { id: "get-1", to: "bob@localhost/b" });
    const answered = alice.processCommand(get, { timeout: 5000 });
    await until(() => requests.length === 1, 3000, "the get at bob");
    await transports.at(-1)!.close(); // the connection drops
    await until(() => requests.length === 2, 3000, "the get sent again");
    assert.equal(transports.length, 2);
    assert.deepEqual(
      requests.map((r) => [r.id, r.method, r.uri, r.from]),
      [
        ["get-1", "get", "/things/1", "alice@localhost/a"],
        ["get-1", "get", "/things/1", "alice@localhost/a"],
      ],
    );
    await bob.sendCommand(
      new Command("get", "/things/1", {
        id: "get-1",
        to: "alice@localhost/a",
        status: "success",
        type: "application/json",
        resource: { n: 1 },
      }),
    );
    const response = await within(answered, 3000, "the get's response");
    assert.equal(response.status, "success");
    assert.deepEqual(response.resource, { n: 1 });

    // set: not idempotent, so the drop rejects it and it is not sent again.
    const set = new Command("set", "/things/2", {
      id: "set-1",
      to: "bob@localhost/b",
      type: "application/json",
      resource: { n: 2 },
    });
    const rejected = alice.processCommand(set, { timeout: 5000 });
    await until(() => requests.length === 3, 3000, "the set at bob");
    const third = nextStatus(alice, "established");
    await transports.at(-1)!.close();
    await assert.rejects(within(rejected, 3000, "the set"), (error: unknown) => {
      assert.ok(error instanceof LimeClientError);
      assert.equal(error.code, "disconnected");
      assert.match(error.message, /set \/things\/2/);
      return true;
    });
    await third;
    assert.equal(transports.length, 3);
    // An idempotent: true set is retried like a get.
    const retried = alice.processCommand(
      new Command("set", "/things/3", { id: "set-2", to: "bob@localhost/b" }),
      { timeout: 5000, idempotent: true },
    );
    await until(() => requests.length === 4, 3000, "set-2 at bob");
    await transports.at(-1)!.close();
    await until(() => requests.length === 5, 3000, "set-2 sent again");
    await bob.sendCommand(
      new Command("set", "/things/3", { id: "set-2", to: "alice@localhost/a", status: "success" }),
    );
    assert.equal((await within(retried, 3000, "set-2")).status, "success");
    assert.deepEqual(requests.map((r) => r.id), ["get-1", "get-1", "set-1", "set-2", "set-2"]);
  } finally {
    await alice.close();
    await bob.finish();
  }
});

Deno.test("LimeClient retries a pending get across a server restart; a pending set rejects", async () => {
  await using servers = await Servers.start();
  const alice = servers.client("alice@localhost/a", {
    reconnect: { initialDelay: 20, maxDelay: 50 },
  });
  let bob = await rawClient(servers, "bob@localhost/b");
  const requests: Command[] = [];
  bob.onCommand((command) => requests.push(command));
  try {
    await within(alice.start(), 3000, "start");
    const get = new Command("get", "/things/1", { id: "get-1", to: "bob@localhost/b" });
    const answered = alice.processCommand(get, { timeout: 5000 });
    answered.catch(() => {});
    await until(() => requests.length === 1, 3000, "the get at bob");
    const back = nextStatus(alice, "established", 5000);
    await servers.server.shutdown(); // alice's session ends with `finished`
    await bob.close();
    await servers.restart();
    bob = await rawClient(servers, "bob@localhost/b");
    bob.onCommand((command) => requests.push(command));
    await back;
    await until(() => requests.length === 2, 3000, "the get sent again");
    assert.deepEqual(requests.map((r) => [r.id, r.method, r.from]), [
      ["get-1", "get", "alice@localhost/a"],
      ["get-1", "get", "alice@localhost/a"],
    ]);
    await bob.sendCommand(
      new Command("get", "/things/1", {
        id: "get-1",
        to: "alice@localhost/a",
        status: "success",
        type: "application/json",
        resource: { n: 1 },
      }),
    );
    assert.deepEqual((await within(answered, 3000, "the get's response")).resource, { n: 1 });

    // A set pending when the server shuts down rejects with `disconnected`.
    const set = alice.processCommand(
      new Command("set", "/things/2", { id: "set-1", to: "bob@localhost/b" }),
      { timeout: 5000 },
    );
    set.catch(() => {}); // it rejects during the shutdown, checked below
    await until(() => requests.length === 3, 3000, "the set at bob");
    await servers.server.shutdown();
    await assert.rejects(within(set, 3000, "the set"), (error: unknown) => {
      assert.ok(error instanceof LimeClientError);
      assert.equal(error.code, "disconnected");
      return true;
    });
  } finally {
    await alice.close();
    await bob.close();
  }
});

Deno.test("LimeClient keepalive detects a half-open connection and reconnects", async () => {
  await using servers = await Servers.start();
  await using proxy = new BlackHoleProxy(servers.server.tcpAddress!);
  // Signed in (a guest could not replace the half-open session the server still holds).
  await servers.store.createAccount({
    identity: "alice@localhost",
    document: {},
    passwordHash: await hashPassword("pw", 1000),
  });
  const statuses: [number, LimeClientStatus][] = [];
  const client = new LimeClient({
    uri: `net.tcp://${proxy.address}`,
    identity: "alice@localhost",
    credentials: plainCredentials("pw"),
    encryption: "none",
    instance: "a",
    keepalive: { interval: 200, timeout: 600 },
    channel: { closeTimeout: 200 },
    reconnect: { initialDelay: 50, maxDelay: 100 },
  });
  client.onStatus((status) => statuses.push([performance.now(), status]));
  try {
    await within(client.start(), 3000, "start");
    const first = servers.server.registry.byNode("alice@localhost/a");
    assert.ok(first);
    // Healthy and idle: the keepalive pings keep it established past the timeout.
    for (let i = 0; i < 5; i++) await delay(150);
    assert.equal(client.status.state, "established");
    assert.equal(statuses.length, 2);

    const disconnected = nextStatus(client, "disconnected", 3000);
    proxy.freeze();
    const frozenAt = performance.now();
    const lost = await disconnected;
    const detection = performance.now() - frozenAt;
    assert.ok(lost.error, "disconnected with an error");
    assert.equal((lost.error as { code?: string }).code, "timeout");
    // Idle timeout 600 ms (counted from the last thing received, at most one interval before the
    // freeze) plus the finishing attempt's closeTimeout 200 ms, plus scheduling slack.
    assert.ok(detection >= 400, `detected after ${detection.toFixed(0)} ms (too early)`);
    assert.ok(detection <= 600 + 200 + 300, `detected after ${detection.toFixed(0)} ms`);

    await until(() => client.status.state === "established", 3000, "the reconnection");
    assert.equal(proxy.connections, 2, "a fresh connection through the proxy");
    const second = servers.server.registry.byNode("alice@localhost/a");
    assert.ok(second && second !== first);
    const after = statuses.map(([, s]) => s.state).slice(2);
    assert.deepEqual(after, ["disconnected", "reconnecting", "connecting", "established"]);
    assert.deepEqual(await client.getResource("/ping"), {});
  } finally {
    await client.close();
  }
});

Deno.test("LimeClient stops at once when the server refuses the credentials (no retry loop)", async () => {
  await using servers = await Servers.start();
  await servers.store.createAccount({
    identity: "carol@localhost",
    document: {},
    passwordHash: await hashPassword("right", 1000),
  });
  const statuses: string[] = [];
  const client = new LimeClient({
    uri: servers.uri,
    identity: "carol@localhost",
    credentials: plainCredentials("wrong"),
    encryption: "none",
    reconnect: { initialDelay: 10 },
  });
  client.onStatus((status) => statuses.push(status.state));
  await assert.rejects(within(client.start(), 3000, "start"), (error) => {
    assert.ok(error instanceof LimeError);
    assert.equal(error.code, 13);
    return true;
  });
  assert.equal(client.status.state, "closed");
  assert.deepEqual(statuses, ["connecting", "disconnected", "closed"]);
  await client.close();
});

Deno.test("LimeClient connects by domain through its _lime._tcp SRV record", async () => {
  await using servers = await Servers.start();
  const queries: string[] = [];
  const resolveDns = ((query: string, type: string) => {
    queries.push(`${type} ${query}`);
    return Promise.resolve([{ priority: 0, weight: 5, port: servers.port, target: "127.0.0.1." }]);
  }) as unknown as typeof Deno.resolveDns;
  await using client = new LimeClient({
    domain: "chat.example",
    resolve: { resolveDns },
    identity: "dana@localhost",
    instance: "srv",
    encryption: "none",
  });
  await within(client.start(), 3000, "start");
  assert.deepEqual(queries, ["SRV _lime._tcp.chat.example"]);
  assert.equal(client.node, "dana@localhost/srv");
  assert.equal(servers.server.registry.byNode("dana@localhost/srv")?.node, "dana@localhost/srv");
});

Deno.test("LimeClient stops when the server refuses the presence of its options", async () => {
  await using servers = await Servers.start();
  const client = new LimeClient({
    uri: servers.uri,
    identity: "erin@localhost",
    encryption: "none",
    presence: { status: "available", routingRule: "domain" }, // needs a domain authority: 35
    reconnect: { initialDelay: 10 },
  });
  await assert.rejects(within(client.start(), 3000, "start"), (error) => {
    assert.ok(error instanceof LimeError);
    assert.equal(error.code, 35);
    return true;
  });
  assert.equal(client.status.state, "closed");
  await client.close();
});
