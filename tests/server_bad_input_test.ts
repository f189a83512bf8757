/**
 * LimeServer under hostile input (bad-input battery): a table of malformed or out-of-state input,
 * every row sent from a raw socket to one running server over TCP and over WebSocket, with the
 * reply it must get (exact wire JSON, each within 2 s) and whether the server must then close the
 * connection. A row whose session goes on is followed by a ping (its answer must be the next thing
 * received: nothing else was sent) and `finishing` → `finished`.
 *
 * Meanwhile two healthy sessions on the same server (alice on TCP, bob on WebSocket, established
 * before the battery) exchange messages and alice pings the server: every message must arrive
 * exactly once and in order, and the /ping p50 during the battery must stay within 5× the p50
 * before it (or under 50 ms).
 *
 * This file holds the harness and the rows for an established session (routing, the server's
 * resources, invalid envelopes, the rate limit); tests/server_bad_input_handshake_test.ts holds
 * framing, session order, establishment and the connection limits.
 */
import assert from "node:assert/strict";
import {
  ClientChannel,
  Command,
  hashPassword,
  KvAccountStore,
  LimeServer,
  Message,
  TcpTransport,
  WebSocketTransport,
} from "../mod.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { within } from "./tcp_helpers.ts";

export type Via = "tcp" | "ws";
/** An envelope as received: its wire JSON object. */
export type Wire = Record<string, unknown>;
/** What {@link RawPeer.next} returns once the server closed the connection. */
export const CLOSED = "closed";
type Item = Wire | typeof CLOSED;
/** One TCP write, or one WebSocket message (text for a string, binary for bytes). */
export type Chunk = string | Uint8Array;

/** How long a reply may take. */
export const REPLY_MS = 2000;
export const SERVER = "postmaster@localhost/server";
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The server's limits for the battery. */
export const LIMITS = {
  maxEnvelopeSize: 16384,
  rateLimit: 300,
  maxEstablishing: 4,
  maxSessionsPerIdentity: 2,
  establishmentTimeout: 500,
} as const;
/** Has an account with the password `right`. */
export const CAROL = "carol@localhost";

export const E = JSON.stringify;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that writes whatever it is told and parses what the server sends. */
export class RawPeer {
  readonly via: Via;
  readonly #items: Item[] = [];
  #waiter: ((item: Item) => void) | undefined;
  #ended = false;
  readonly #write: (chunk: Chunk) => Promise<void>;
  readonly #shut: () => Promise<void>;
  /** TCP: the socket (raw WebSocket peers too). */
  conn: Deno.Conn | undefined;

  /** A peer over any connection: `write` sends a chunk, `shut` closes and waits for the end. */
  constructor(
    via: Via,
    write: (chunk: Chunk) => Promise<void>,
    shut: () => Promise<void>,
  ) {
    this.via = via;
    this.#write = write;
    this.#shut = shut;
  }

  /** Records an envelope (or the end) from the server. */
  push(item: Item): void {
    if (this.#ended) return;
    if (item === CLOSED) this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  /** Parses the envelopes in a chunk from the server. */
  pushFrames(bytes: Uint8Array, framer = new EnvelopeFramer({ maxEnvelopeSize: 1 << 24 })): void {
    framer.push(bytes, (frame) => this.push(JSON.parse(decoder.decode(frame))));
  }

  /** Sends one chunk. */
  send(chunk: Chunk): Promise<void> {
    return this.#write(chunk);
  }

  /** The next envelope from the server, or {@link CLOSED}; rejects after `ms`. */
  async next(ms: number = REPLY_MS): Promise<Item> {
    const item = this.#items.shift();
    if (item !== undefined) return item;
    if (this.#ended) return CLOSED;
    try {
      return await within(
        new Promise<Item>((resolve) => this.#waiter = resolve),
        ms,
        `a reply over ${this.via}`,
      );
    } finally {
      this.#waiter = undefined;
    }
  }

  /** Closes the connection (if the server has not) and waits for the reader to stop. */
  close(): Promise<void> {
    return this.#shut();
  }

  /** A plain TCP connection. */
  static async tcp(address: string): Promise<RawPeer> {
    const [hostname, port] = address.split(":");
    const conn = await Deno.connect({ hostname, port: Number(port) });
    let reading: Promise<void> = Promise.resolve();
    const peer = new RawPeer("tcp", (chunk) => writeAll(conn, chunk), async () => {
      closeQuietly(conn);
      await reading;
    });
    peer.conn = conn;
    const framer = new EnvelopeFramer({ maxEnvelopeSize: 1 << 24 });
    reading = readLoop(conn, (bytes) => peer.pushFrames(bytes, framer)).then(() =>
      peer.push(CLOSED)
    );
    return peer;
  }

  /** A WebSocket (`lime` subprotocol) through the standard API. */
  static async ws(address: string): Promise<RawPeer> {
    const socket = new WebSocket(`ws://${address}/`, "lime");
    socket.binaryType = "arraybuffer";
    const closed = new Promise<void>((resolve) => socket.onclose = () => resolve());
    const peer = new RawPeer("ws", (chunk) => {
      socket.send(chunk);
      return Promise.resolve();
    }, async () => {
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
      await closed;
    });
    // Listening before the open completes: a refusal may come right with it.
    socket.onmessage = (event) =>
      peer.pushFrames(
        typeof event.data === "string" ? encoder.encode(event.data) : new Uint8Array(event.data),
      );
    closed.then(() => peer.push(CLOSED));
    await within(
      new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = () => reject(new Error("the WebSocket did not open"));
      }),
      REPLY_MS,
      "opening a WebSocket",
    );
    return peer;
  }
}

export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

export async function writeAll(conn: Deno.Conn, chunk: Chunk): Promise<void> {
  const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

export async function readLoop(
  conn: Deno.Conn,
  onBytes: (bytes: Uint8Array) => void,
): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      onBytes(buffer.slice(0, n));
    }
  } catch {
    // Reset by the server, or closed here.
  }
}

// ------------------------------------------------------------------ expected wire JSON

/**
 * Asserts that `actual` is the envelope `expected`: the same keys and values, where a RegExp in
 * `expected` matches a string.
 */
export function like(actual: Item, expected: Wire, what: string): void {
  assert.notEqual(actual, CLOSED, `${what}: the connection closed instead of ${E(expected)}`);
  assert.deepEqual(withPatterns(actual, expected), expected, what);
}

function withPatterns(actual: unknown, expected: unknown): unknown {
  if (expected instanceof RegExp) {
    return typeof actual === "string" && expected.test(actual) ? expected : actual;
  }
  if (
    typeof actual !== "object" || actual === null || typeof expected !== "object" ||
    expected === null || Array.isArray(actual)
  ) return actual;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(actual)) {
    out[key] = withPatterns(value, (expected as Record<string, unknown>)[key]);
  }
  return out;
}

/** What a row's session looks like when its input is sent. */
export interface Ctx {
  via: Via;
  peer: RawPeer;
  /** The session id (`""` before the server's first reply). */
  sid: string;
  /** The node (`""` before establishment). */
  node: string;
  battery: Battery;
}

/** A `failed` session envelope from the server. */
export function failed(c: Ctx, code: number, description: string | RegExp): Wire {
  return {
    state: "failed",
    id: c.sid || UUID,
    from: SERVER,
    ...(c.node ? { to: c.node } : {}),
    reason: { code, description },
  };
}

/** A `failed` notification for the message `id`. */
export function failedNotification(
  c: Ctx,
  id: string,
  from: string | undefined,
  code: number,
  description: string | RegExp,
): Wire {
  return {
    event: "failed",
    id,
    ...(from ? { from } : {}),
    to: c.node,
    reason: { code, description },
  };
}

/** A failure response. */
export function failure(
  c: Ctx,
  id: string,
  method: string,
  code: number,
  description: string | RegExp,
  from?: string,
): Wire {
  return {
    method,
    id,
    ...(from ? { from } : {}),
    to: c.node,
    status: "failure",
    reason: { code, description },
  };
}

/** The server's answer to a ping. */
export function pong(c: Ctx, id: string): Wire {
  return {
    method: "get",
    id,
    to: c.node,
    status: "success",
    type: "application/vnd.lime.ping+json",
    resource: {},
  };
}

export const ping = (id: string) => E({ id, method: "get", uri: "/ping" });
export const text = (id: string, to: string, extra: Wire = {}) =>
  E({ id, to, type: "text/plain", content: "x", ...extra });

// ------------------------------------------------------------------ the table

/** One step of a row: send a chunk, expect an envelope, or (TCP) end the write side. */
export type Step = { send: Chunk } | { reply: Wire } | { endWrite: true };
export const send = (chunk: Chunk): Step => ({ send: chunk });
export const reply = (wire: Wire): Step => ({ reply: wire });

/** Where the row's raw connection is before its input. */
export type Stage = "connected" | "new-sent" | "offered" | "established";

/** A row of the table. */
export type Category =
  | {
    name: string;
    /** The documented reply (reason code on the wire, or close). */
    expect: string;
    stage: Stage;
    /** Whitespace the harness sends after each of its own envelopes. */
    separator?: string;
    steps?: (c: Ctx) => Step[];
    run?: (c: Ctx) => Promise<void>;
    /** Whether the server closes the connection after the replies. */
    closes: boolean;
  }
  | {
    name: string;
    expect: string;
    stage: "custom";
    run: (battery: Battery, via: Via, tag: string) => Promise<void>;
  };

/** Brings a fresh connection to `stage`. */
export async function advance(
  battery: Battery,
  peer: RawPeer,
  stage: Stage,
  node: string,
  sep = "",
): Promise<Ctx> {
  const c: Ctx = { via: peer.via, peer, sid: "", node: "", battery };
  if (stage === "connected") return c;
  await peer.send('{"state":"new"}' + sep);
  let first = await peer.next();
  assert.notEqual(first, CLOSED, "the server closed after new");
  c.sid = (first as Wire).id as string;
  const offer = {
    state: "authenticating",
    id: c.sid,
    from: SERVER,
    schemeOptions: ["guest", "plain", "key"],
  };
  if (peer.via === "tcp") {
    like(first, {
      state: "negotiating",
      id: c.sid,
      from: SERVER,
      compressionOptions: ["none", "gzip"],
      encryptionOptions: ["none"],
    }, "the negotiation offer");
  } else like(first, offer, "the scheme offer");
  if (stage === "new-sent") return c;
  if (peer.via === "tcp") {
    const choice = { state: "negotiating", id: c.sid, compression: "none", encryption: "none" };
    await peer.send(E(choice) + sep);
    like(await peer.next(), { ...choice, from: SERVER }, "the negotiation confirmation");
    first = await peer.next();
    like(first, offer, "the scheme offer");
  }
  if (stage === "offered") return c;
  await peer.send(
    E({ state: "authenticating", id: c.sid, from: node, scheme: "guest", authentication: {} }) +
      sep,
  );
  like(
    await peer.next(),
    { state: "established", id: c.sid, from: SERVER, to: node },
    "established",
  );
  c.node = node;
  return c;
}

/** Runs one row over `via`. */
export async function runCategory(
  battery: Battery,
  via: Via,
  category: Category,
  tag: string,
): Promise<void> {
  if (category.stage === "custom") {
    await within(category.run(battery, via, tag), 4 * REPLY_MS, category.name);
    return;
  }
  const peer = await battery.connect(via);
  try {
    const sep = category.separator ?? "";
    const c = await advance(battery, peer, category.stage, `${tag}@localhost/raw`, sep);
    for (const step of category.steps?.(c) ?? []) {
      if ("send" in step) await peer.send(step.send);
      else if ("endWrite" in step) await peer.conn?.closeWrite();
      else like(await peer.next(), step.reply, "the reply");
    }
    await category.run?.(c);
    if (category.closes) {
      assert.equal(await peer.next(), CLOSED, "the server closes the connection");
      return;
    }
    // The session goes on: a ping's answer is the next thing received, then a clean finish.
    await peer.send(ping("probe") + sep);
    like(await peer.next(), pong(c, "probe"), "the probe's answer (nothing else came first)");
    await peer.send(E({ state: "finishing", id: c.sid }) + sep);
    like(
      await peer.next(),
      { state: "finished", id: c.sid, from: SERVER, to: c.node },
      "finished",
    );
    assert.equal(await peer.next(), CLOSED, "the server closes after finished");
  } finally {
    await peer.close();
  }
}

// ------------------------------------------------------------------ server and healthy sessions

const ALICE = "alice@localhost/healthy";
const BOB = "bob@localhost/healthy";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A started server with the battery's limits, and the two healthy sessions. */
export class Battery implements AsyncDisposable {
  readonly #peers = new Set<RawPeer>();
  readonly #healthy: ClientChannel[] = [];
  readonly #got: Record<"alice" | "bob", string[]> = { alice: [], bob: [] };
  readonly #ends = { alice: Promise.withResolvers<void>(), bob: Promise.withResolvers<void>() };
  #sent = 0;
  #running = false;
  #loops: Promise<void>[] = [];
  #baseline: number[] = [];
  #during: number[] = [];

  private constructor(readonly server: LimeServer, readonly store: KvAccountStore) {}

  static async start(): Promise<Battery> {
    const store = await KvAccountStore.open(":memory:");
    await store.createAccount({
      identity: CAROL,
      document: {},
      passwordHash: await hashPassword("right", 1000),
    });
    const server = new LimeServer({
      domain: "localhost",
      tcp: { hostname: "127.0.0.1", port: 0 },
      websocket: { hostname: "127.0.0.1", port: 0 },
      passwordIterations: 1000,
      maxEnvelopeSize: LIMITS.maxEnvelopeSize,
      // Per session and identity; the battery's peers and its healthy sessions all come from
      // 127.0.0.1, so the per-address buckets (tested in tests/security/) would mix them.
      rateLimit: {
        envelopesPerSecond: LIMITS.rateLimit,
        perIdentity: { envelopesPerSecond: 2 * LIMITS.rateLimit },
        perAddress: { envelopesPerSecond: 0, bytesPerSecond: 0 },
      },
      maxEstablishing: LIMITS.maxEstablishing,
      maxSessionsPerIdentity: LIMITS.maxSessionsPerIdentity,
      channel: { establishmentTimeout: LIMITS.establishmentTimeout },
      store,
    });
    await server.start();
    const battery = new Battery(server, store);
    await battery.#establishHealthy();
    return battery;
  }

  address(via: Via): string {
    return (via === "tcp" ? this.server.tcpAddress : this.server.websocketAddress)!;
  }

  /** A raw connection, closed with the battery. */
  async connect(via: Via): Promise<RawPeer> {
    const address = this.address(via);
    return this.track(via === "tcp" ? await RawPeer.tcp(address) : await RawPeer.ws(address));
  }

  /** Closes `peer` with the battery. */
  track(peer: RawPeer): RawPeer {
    this.#peers.add(peer);
    return peer;
  }

  async #establishHealthy(): Promise<void> {
    for (const [node, via] of [[ALICE, "tcp"], [BOB, "ws"]] as const) {
      const transport = via === "tcp" ? new TcpTransport() : new WebSocketTransport();
      await transport.open(
        via === "tcp" ? `net.tcp://${this.address(via)}` : `ws://${this.address(via)}/`,
      );
      const channel = new ClientChannel(transport);
      this.#healthy.push(channel);
      const [identity, instance] = node.split("/");
      const session = await within(channel.establishSession({ identity, instance }));
      assert.equal(session.to, node);
      const who = node === ALICE ? "alice" : "bob";
      channel.onMessage((message) => {
        this.#got[who].push(message.content as string);
        if (message.content === "end") this.#ends[who].resolve();
      });
    }
  }

  /** One /ping round trip of alice's, in ms. */
  async ping(): Promise<number> {
    const started = performance.now();
    const response = await within(
      this.#healthy[0].processCommand(new Command("get", "/ping", { id: crypto.randomUUID() })),
      REPLY_MS,
      "a healthy ping",
    );
    assert.equal(response.status, "success");
    return performance.now() - started;
  }

  /** Measures the baseline, then keeps the healthy sessions busy until {@link stopTraffic}. */
  async startTraffic(): Promise<void> {
    for (let i = 0; i < 40; i++) this.#baseline.push(await this.ping());
    this.#running = true;
    const [alice, bob] = this.#healthy;
    this.#loops = [
      (async () => {
        while (this.#running) {
          this.#during.push(await this.ping());
          await delay(10);
        }
      })(),
      (async () => {
        while (this.#running) {
          const n = this.#sent++;
          await alice.sendMessage(new Message("text/plain", `a${n}`, { to: BOB }));
          await bob.sendMessage(new Message("text/plain", `b${n}`, { to: ALICE }));
          await delay(10);
        }
      })(),
    ];
    // Let the traffic start before the first row.
    await delay(20);
  }

  /**
   * Stops the traffic and checks it: every message arrived once and in order, the sessions are
   * still established, and the ping p50 stayed within bounds.
   */
  async stopTraffic(via: Via): Promise<void> {
    this.#running = false;
    await within(Promise.all(this.#loops), REPLY_MS, "the healthy traffic to stop");
    const [alice, bob] = this.#healthy;
    await alice.sendMessage(new Message("text/plain", "end", { to: BOB }));
    await bob.sendMessage(new Message("text/plain", "end", { to: ALICE }));
    await within(
      Promise.all([this.#ends.alice.promise, this.#ends.bob.promise]),
      REPLY_MS,
      "the end markers",
    );
    const expected = (prefix: string) => [
      ...Array.from({ length: this.#sent }, (_, i) => `${prefix}${i}`),
      "end",
    ];
    assert.deepEqual(
      this.#got.bob,
      expected("a"),
      "bob got each of alice's messages once, in order",
    );
    assert.deepEqual(this.#got.alice, expected("b"), "alice got each of bob's once, in order");
    assert.equal(alice.state, "established");
    assert.equal(bob.state, "established");
    const before = median(this.#baseline);
    const during = median(this.#during);
    const p50 = (ms: number, n: number) => `${ms.toFixed(2)} ms (n=${n})`;
    console.log(
      `[${via}] healthy /ping p50: ${p50(before, this.#baseline.length)} before the battery, ` +
        `${p50(during, this.#during.length)} during it; ${this.#sent} messages each way`,
    );
    assert.ok(
      this.#during.length >= 10,
      `enough pings during the battery (${this.#during.length})`,
    );
    assert.ok(
      during < 5 * before || during < 50,
      `the p50 during the battery (${during} ms) is within 5× the baseline (${before} ms) or 50 ms`,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#running = false;
    await Promise.allSettled(this.#loops);
    await Promise.all([...this.#peers].map((peer) => peer.close()));
    await this.server.shutdown();
    await Promise.all(this.#healthy.map((channel) => within(channel.close(), 5000, "closing")));
    this.store.close();
  }
}

/** Registers one test per transport running `categories` against a fresh server. */
export function battery(title: string, categories: Category[]): void {
  for (const via of ["tcp", "ws"] as const) {
    Deno.test(`LimeServer ${title} over ${via === "tcp" ? "TCP" : "WebSocket"}`, async (t) => {
      await using b = await Battery.start();
      await b.startTraffic();
      for (const [i, category] of categories.entries()) {
        await t.step(
          `${category.name} → ${category.expect}`,
          () => runCategory(b, via, category, `c${i}${via}`),
        );
      }
      await b.stopTraffic(via);
    });
  }
}

// ------------------------------------------------------------------ row builders

/** A row whose input draws exactly `failed(code, description)`, after which the server closes. */
export function refused(
  name: string,
  stage: Stage,
  input: (c: Ctx) => Chunk,
  code: number,
  description: string | RegExp | ((c: Ctx) => string | RegExp),
): Category {
  return {
    name,
    expect: `failed session ${code}, closed`,
    stage,
    steps: (c) => [
      send(input(c)),
      reply(failed(c, code, typeof description === "function" ? description(c) : description)),
    ],
    closes: true,
  };
}

/** A row on an established session: `input` draws exactly `replies`, and the session goes on. */
export function goesOn(
  name: string,
  expect: string,
  input: (c: Ctx) => Chunk,
  replies: (c: Ctx) => Wire[] = () => [],
): Category {
  return {
    name,
    expect: `${expect}; session goes on`,
    stage: "established",
    steps: (c) => [send(input(c)), ...replies(c).map(reply)],
    closes: false,
  };
}

// ------------------------------------------------------------------ rows: an established session

const NOBODY = "nobody@localhost";
const UNKNOWN_JSON = "application/x-unknown+json";
const notFound = (to: string) => `The destination "${to}" was not found`;
const otherDomain = (to: string) =>
  `The destination "${to}" is in a domain this server does not route to`;
const unauthorized = (as: string) => `The sender is not authorized to send as "${as}"`;

/** Rows whose input arrives on an established session. */
const ROWS: Category[] = [
  // ---------------------------------------------------------------- routing
  goesOn(
    "spoofed from (another identity)",
    "failed notification 32",
    () => text("s1", NOBODY, { from: "mallory@localhost/m" }),
    (c) => [failedNotification(c, "s1", NOBODY, 32, unauthorized("mallory@localhost/m"))],
  ),
  goesOn(
    "spoofed pp (a delegate of another identity)",
    "failed notification 32",
    () => text("s2", NOBODY, { pp: "mallory@localhost" }),
    (c) => [failedNotification(c, "s2", NOBODY, 32, unauthorized("mallory@localhost"))],
  ),
  goesOn(
    "unknown destination",
    "failed notification 42",
    () => text("u1", NOBODY),
    (c) => [failedNotification(c, "u1", NOBODY, 42, notFound(NOBODY))],
  ),
  goesOn(
    "unknown instance of a connected identity",
    "failed notification 42",
    () => text("u2", "alice@localhost/elsewhere"),
    (c) => [
      failedNotification(
        c,
        "u2",
        "alice@localhost/elsewhere",
        42,
        notFound("alice@localhost/elsewhere"),
      ),
    ],
  ),
  goesOn(
    "other domain",
    "failed notification 41",
    () => text("o1", "bob@example.org"),
    (c) => [failedNotification(c, "o1", "bob@example.org", 41, otherDomain("bob@example.org"))],
  ),
  goesOn(
    "command request to an unknown node",
    "failure response 42",
    () => E({ id: "k1", method: "get", uri: "/status", to: "nobody@localhost/x" }),
    (c) => [failure(c, "k1", "get", 42, notFound("nobody@localhost/x"), "nobody@localhost/x")],
  ),
  goesOn(
    "message of an unknown JSON type (to itself)",
    "delivered as is, from stamped",
    (c) => E({ id: "j1", to: c.node, type: UNKNOWN_JSON, content: { a: [1, { b: null }] } }),
    (
      c,
    ) => [{
      id: "j1",
      to: c.node,
      from: c.node,
      type: UNKNOWN_JSON,
      content: { a: [1, { b: null }] },
    }],
  ),
  goesOn(
    "message without to (addressed to the server)",
    "failed notification 61",
    () => E({ id: "n1", type: "text/plain", content: "hi server" }),
    (c) => [{
      event: "failed",
      id: "n1",
      to: c.node,
      reason: {
        code: 61,
        description: "The server takes no messages: address a node or an identity",
      },
    }],
  ),
  goesOn(
    "notification to an unknown destination",
    "nothing (notifications are not answered)",
    () => E({ id: "n2", event: "received", to: NOBODY }),
  ),
  goesOn(
    "command response addressed to nobody",
    "nothing",
    () => E({ id: "r1", method: "get", status: "success" }),
  ),
  goesOn(
    "command response to an unknown node",
    "nothing",
    () => E({ id: "r2", method: "get", status: "success", to: "nobody@localhost/x" }),
  ),
  // ---------------------------------------------------------------- the server's resources
  goesOn(
    "duplicate command id (two /ping requests, same id)",
    "both answered with success",
    () => ping("dup") + ping("dup"),
    (c) => [pong(c, "dup"), pong(c, "dup")],
  ),
  goesOn(
    "command to an unknown resource",
    "failure response 62",
    () => E({ id: "k2", method: "get", uri: "/nothing" }),
    (c) => [failure(c, "k2", "get", 62, 'There is no resource at "/nothing"')],
  ),
  goesOn(
    "unsupported method (delete /ping)",
    "failure response 63",
    () => E({ id: "k3", method: "delete", uri: "/ping" }),
    (c) => [failure(c, "k3", "delete", 63, 'The method "delete" is not supported on "/ping"')],
  ),
  goesOn(
    "another identity's resource",
    "failure response 66",
    () => E({ id: "k4", method: "get", uri: "lime://bob@localhost/presence" }),
    (c) => [failure(c, "k4", "get", 66, 'The resources of "bob@localhost" are not yours')],
  ),
  // ---------------------------------------------------------------- invalid envelopes
  goesOn(
    "invalid document for a known type (presence with status 42)",
    "failure response 23",
    () =>
      E({
        id: "k5",
        method: "set",
        uri: "/presence",
        type: "application/vnd.lime.presence+json",
        resource: { status: 42 },
      }),
    (c) => [failure(c, "k5", "set", 23, /^Invalid command at resource\.status: /)],
  ),
  goesOn(
    "message without a content type",
    "failed notification 23",
    () => E({ id: "v1", to: NOBODY, content: "x" }),
    (c) => [failedNotification(c, "v1", undefined, 23, /^Invalid message at type: /)],
  ),
  goesOn(
    "message of a JSON type whose content is not an object",
    "failed notification 23",
    () => E({ id: "v2", to: NOBODY, type: UNKNOWN_JSON, content: 5 }),
    (
      c,
    ) => [
      failedNotification(
        c,
        "v2",
        undefined,
        23,
        /^Invalid message at content: expected a JSON object \(the media type "application\/x-unknown\+json" is JSON\), got number$/,
      ),
    ],
  ),
  goesOn(
    "message with null content",
    "failed notification 22",
    () => '{"id":"v3","to":"nobody@localhost","type":"text/plain","content":null}',
    (
      c,
    ) => [
      failedNotification(
        c,
        "v3",
        undefined,
        22,
        "Invalid message at content: required: expected a document, got null",
      ),
    ],
  ),
  goesOn(
    "invalid node in to",
    "failed notification 26",
    () => text("v4", "@@/"),
    (
      c,
    ) => [
      failedNotification(
        c,
        "v4",
        undefined,
        26,
        'Invalid message at to: expected a node (name@domain/instance), got "@@/": the domain must not contain "@"',
      ),
    ],
  ),
  goesOn(
    "invalid URI (absolute, not lime:)",
    "failure response 27",
    () => E({ id: "k6", method: "get", uri: "http://localhost/ping" }),
    (
      c,
    ) => [
      failure(
        c,
        "k6",
        "get",
        27,
        /^Invalid command at uri: expected a LIME URI, got "http:\/\/localhost\/ping": invalid URI scheme "http"/,
      ),
    ],
  ),
  goesOn(
    "invalid URI (not a path)",
    "failure response 27",
    () => E({ id: "k7", method: "get", uri: "\\x" }),
    (
      c,
    ) => [
      failure(
        c,
        "k7",
        "get",
        27,
        /^Invalid command at uri: expected a LIME URI, got "\\\\x": character U\+005C at index 0 must be percent-encoded$/,
      ),
    ],
  ),
  goesOn(
    "notification with an unknown event",
    "nothing (an invalid notification is dropped and reported; the session goes on)",
    () => E({ id: "v5", to: NOBODY, event: "exploded" }),
  ),
  goesOn(
    "failed notification with a text reason and no to (blip-sdk Python, lime-protocol §16)",
    "nothing (the reason is read as code 101; notifications are not answered)",
    () => E({ id: "v6", from: "alice@localhost/home", event: "failed", reason: "boom (Code 101)" }),
  ),
  {
    ...refused(
      "command with an invalid method",
      "established",
      () => E({ id: "k8", method: "explode", uri: "/ping" }),
      27,
      /^Invalid command at method: /,
    ),
    expect: "failed session 27 (no valid response exists), closed",
  },
  // ---------------------------------------------------------------- the rate limit
  {
    name: `flood over the rate limit (600 pings at once, limit ${LIMITS.rateLimit}/s)`,
    expect:
      "all answered, the sender slowed down (where the transport cannot stop reading: 34 beyond the limit); session goes on",
    stage: "established",
    run: async (c) => {
      const pings = Array.from({ length: 600 }, (_, i) => ping(`f${i}`));
      if (c.via === "tcp") await c.peer.send(pings.join(""));
      else for (const one of pings) await c.peer.send(one);
      const answered = new Set<string>();
      let refused = 0;
      for (let i = 0; i < pings.length; i++) {
        const response = await c.peer.next();
        assert.notEqual(response, CLOSED, "the flood closed the session");
        const { id } = response as { id: string };
        assert.ok(!answered.has(id), `${id} answered once`);
        answered.add(id);
        if ((response as Wire).status === "success") like(response, pong(c, id), "a pong");
        else {
          const description = "The session sends more than it may per second";
          like(response, failure(c, id, "get", 34, description), "a refusal");
          refused++;
        }
      }
      assert.equal(answered.size, pings.length);
      // TCP: shaped, nothing refused (the flood took about a second). The standard WebSocket API
      // cannot stop reading: beyond a full bucket, refused.
      if (c.via === "tcp") assert.equal(refused, 0, "nothing refused over TCP");
      else assert.ok(pings.length - refused >= LIMITS.rateLimit, "a full bucket answered");
      await delay(c.via === "tcp" ? 1100 : 50); // tokens for the probe that follows
    },
    closes: false,
  },
];

// This module is also imported by server_bad_input_handshake_test.ts for its harness: register the
// tests only when Deno runs this file itself (an imported test module would run them twice).
if (Deno.mainModule === import.meta.url) {
  battery("answers bad input on an established session", ROWS);
}
