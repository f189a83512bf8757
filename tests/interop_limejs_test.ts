/**
 * Interop with a client nobody here wrote: the npm packages `lime-js@3.0.1` and
 * `lime-transport-websocket@2.0.3`, run under Node against a {@link LimeServer} (lime-protocol
 * §12). The packages are installed with npm into `.tmp/npm-interop/` (gitignored) the first time
 * and reused afterwards (`limejs_npm.ts`); the test fails with a clear message when node or npm
 * is missing.
 *
 * A small CommonJS script (written next to the packages) drives lime-js and prints one JSON line
 * per thing it sees: every envelope it sends or receives (`wire`) and every step it reaches
 * (`step`); this file asserts on those lines.
 * @module
 */
import assert from "node:assert/strict";
import { ClientChannel, hashPassword, KvAccountStore, LimeServer, TcpTransport } from "../mod.ts";
import { serializeEnvelope } from "../src/codec.ts";
import type { Envelope } from "../src/envelope.ts";
import { within } from "./tcp_helpers.ts";
import { installLimeJs, LIMEJS_DIR, runWithin } from "./limejs_npm.ts";

const CACHE_DIR = LIMEJS_DIR;
const SCRIPT = `${CACHE_DIR}limejs_client.cjs`;
/** How long a run of the Node script may take before it is killed. */
const NODE_TIMEOUT_MS = 15_000;

const SERVER_NODE = "postmaster@localhost/server";
const ALICE = "alice@localhost";
const ALICE_PASSWORD = "alice-pässword";
const ALICE_KEY = "alice-access-key";
const LIMEJS_INSTANCE = "lime-js";
const ALICE_NODE = `${ALICE}/${LIMEJS_INSTANCE}`;
const BOB_NODE = "bob@localhost/deno";

/** The Node script: one scenario per run, its config as JSON in argv[2]. */
const CLIENT_SCRIPT = `"use strict";
// Written by tests/interop_limejs_test.ts (overwritten on every run): drives lime-js against a
// LimeServer and prints one JSON line per envelope sent/received and per step reached.
const Lime = require("lime-js");
const WebSocketTransport = require("lime-transport-websocket");

const config = JSON.parse(process.argv[2]);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\\n");
const base64 = (text) => Buffer.from(text, "utf8").toString("base64");
const STEP_MS = 3000;

// lime-js logs nothing by itself; a watchdog makes sure the script never outlives its test.
setTimeout(() => {
  print({ step: "watchdog" });
  process.exit(3);
}, 12000).unref();

function within(promise, what) {
  let timer;
  return Promise.race([
    Promise.resolve(promise).finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(what + " did not happen within " + STEP_MS + " ms")), STEP_MS);
    }),
  ]);
}

async function connect(label, identity, authentication) {
  const transport = new WebSocketTransport();
  const channel = new Lime.ClientChannel(transport, true, false);
  const deliver = transport.onEnvelope;
  transport.onEnvelope = (envelope) => {
    print({ label, wire: "in", envelope });
    deliver(envelope);
  };
  const send = transport.send.bind(transport);
  transport.send = (envelope) => {
    print({ label, wire: "out", envelope: JSON.parse(JSON.stringify(envelope)) });
    send(envelope);
  };
  await within(transport.open(config.url), label + ": opening the WebSocket");
  try {
    await within(
      channel.establishSession("none", "none", identity, authentication, config.instance),
      label + ": establishSession",
    );
  } catch (failure) {
    if (failure instanceof Error) throw failure;
    print({ label, step: "failed", state: channel.state, reason: failure.reason });
    return undefined;
  }
  print({
    label,
    step: "established",
    state: channel.state,
    localNode: channel.localNode,
    remoteNode: channel.remoteNode,
  });
  return channel;
}

async function finish(label, channel) {
  await within(channel.sendFinishingSession(), label + ": sendFinishingSession");
  print({ label, step: "finished", state: channel.state });
}

const scenarios = {
  async authenticate() {
    const attempts = [
      ["guest", config.guest, new Lime.GuestAuthentication()],
      ["plain", config.identity, new Lime.PlainAuthentication(base64(config.password))],
      ["key", config.identity, new Lime.KeyAuthentication(base64(config.key))],
      ["wrong-plain", config.identity, new Lime.PlainAuthentication(base64("not the password"))],
    ];
    for (const [label, identity, authentication] of attempts) {
      const channel = await connect(label, identity, authentication);
      if (channel) await finish(label, channel);
    }
  },

  async talk() {
    const label = "talk";
    const channel = await connect(
      label,
      config.identity,
      new Lime.PlainAuthentication(base64(config.password)),
    );
    if (!channel) return;
    const receipt = new Promise((resolve) => {
      channel.onNotification = (notification) => {
        print({ label, step: "notification", notification });
        if (notification.id === "m1" && notification.event === "received") resolve();
      };
    });
    channel.sendMessage({ id: "m1", to: config.peer, type: "text/plain", content: "hello from lime-js" });
    await within(receipt, label + ": the received notification");
    const response = await within(
      channel.processCommand({ id: "ping-1", method: "get", uri: "/ping" }, STEP_MS),
      label + ": processCommand /ping",
    );
    print({ label, step: "ping", response });
    await finish(label, channel);
  },
};

// lime-js's processCommand leaves its timeout timer running after the response (it is never
// cleared), so the script exits explicitly, after reporting what is still open.
scenarios[config.scenario]().then(
  () => {
    // Timers and the stdout/stderr pipes aside, nothing may be left (a WebSocket would show
    // as TCPSocketWrap).
    const open = process.getActiveResourcesInfo()
      .filter((resource) => !["Timeout", "PipeWrap", "TTYWrap"].includes(resource));
    print({ step: "done", open });
    process.exit(0);
  },
  (error) => {
    print({ step: "error", message: String((error && error.stack) || error) });
    process.exit(1);
  },
);
`;

/** One line the Node script printed. */
interface Line {
  label?: string;
  wire?: "in" | "out";
  envelope?: Record<string, unknown>;
  step?: string;
  [key: string]: unknown;
}

/** What a run of the Node script gave. */
interface NodeRun {
  code: number;
  signal: Deno.Signal | null;
  lines: Line[];
  stderr: string;
}

/** Installs lime-js once per test run (reusing the cache) and writes the Node script. */
async function limeJs(): Promise<void> {
  await installLimeJs();
  await Deno.writeTextFile(SCRIPT, CLIENT_SCRIPT);
}

/** Runs one scenario of the Node script; never takes longer than {@link NODE_TIMEOUT_MS}. */
async function runNode(config: Record<string, unknown>): Promise<NodeRun> {
  const output = await runWithin(
    "node",
    [SCRIPT, JSON.stringify(config)],
    NODE_TIMEOUT_MS,
    CACHE_DIR,
  );
  const decoder = new TextDecoder();
  const lines = decoder.decode(output.stdout).split("\n").filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Line;
      } catch {
        return { step: "unparsed", text: line };
      }
    });
  return { code: output.code, signal: output.signal, lines, stderr: decoder.decode(output.stderr) };
}

/** Explains a run in failure messages. */
function transcript(result: NodeRun): string {
  const ended = result.signal
    ? `node was killed (${result.signal}) after ${NODE_TIMEOUT_MS} ms`
    : `node exited with code ${result.code}`;
  return `${ended}; it printed:\n` +
    result.lines.map((line) => JSON.stringify(line)).join("\n") + `\nstderr:\n${result.stderr}`;
}

function step(result: NodeRun, label: string | undefined, name: string): Line {
  const line = result.lines.find((line) => line.label === label && line.step === name);
  assert.ok(line, `no "${name}" step for ${label ?? "the script"}\n${transcript(result)}`);
  return line;
}

function wire(result: NodeRun, label: string, direction: "in" | "out"): Record<string, unknown>[] {
  return result.lines.filter((line) => line.label === label && line.wire === direction)
    .map((line) => line.envelope!);
}

/** Asserts the handshake lime-js went through for `label`, with exact envelopes. */
function assertHandshake(
  result: NodeRun,
  label: string,
  identity: string,
  authentication: Record<string, unknown>,
  outcome: Record<string, unknown>,
) {
  const sent = wire(result, label, "out");
  const received = wire(result, label, "in");
  assert.deepEqual(sent[0], { state: "new" }, transcript(result));
  const authenticating = received[0];
  const id = authenticating?.id;
  assert.equal(typeof id, "string", transcript(result));
  // Never `new` → `established` directly: lime-js waits for `authenticating` (§12).
  assert.deepEqual(authenticating, {
    id,
    from: SERVER_NODE,
    state: "authenticating",
    schemeOptions: ["guest", "plain", "key"],
  });
  // lime-js repeats the scheme inside `authentication` (§12); the server must ignore it.
  assert.deepEqual(sent[1], {
    id,
    from: `${identity}/${LIMEJS_INSTANCE}`,
    state: "authenticating",
    scheme: authentication.scheme,
    authentication,
  });
  assert.deepEqual(received[1], { id, from: SERVER_NODE, ...outcome });
}

async function startServer() {
  const store = await KvAccountStore.open(":memory:");
  await store.createAccount({
    identity: ALICE,
    document: {},
    passwordHash: await hashPassword(ALICE_PASSWORD, 1000),
    keyHash: await hashPassword(ALICE_KEY, 1000),
  });
  const server = new LimeServer({
    store,
    tcp: { hostname: "127.0.0.1", port: 0 },
    websocket: { hostname: "127.0.0.1", port: 0 },
    passwordIterations: 1000,
  });
  await server.start();
  return {
    server,
    url: `ws://${server.websocketAddress}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      store.close();
    },
  };
}

const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

Deno.test("LimeServer establishes and finishes lime-js sessions with guest, plain and key over WebSocket", async () => {
  await limeJs();
  await using env = await startServer();
  const guest = "guest-5c1e@localhost";
  const result = await runNode({
    scenario: "authenticate",
    url: env.url,
    instance: LIMEJS_INSTANCE,
    guest,
    identity: ALICE,
    password: ALICE_PASSWORD,
    key: ALICE_KEY,
  });
  assert.equal(result.code, 0, transcript(result));
  assert.deepEqual(step(result, undefined, "done"), { step: "done", open: [] }, transcript(result));

  const cases: [string, string, Record<string, unknown>][] = [
    ["guest", guest, { scheme: "guest" }],
    ["plain", ALICE, { scheme: "plain", password: base64(ALICE_PASSWORD) }],
    ["key", ALICE, { scheme: "key", key: base64(ALICE_KEY) }],
  ];
  for (const [label, identity, authentication] of cases) {
    const node = `${identity}/${LIMEJS_INSTANCE}`;
    assertHandshake(result, label, identity, authentication, { to: node, state: "established" });
    assert.deepEqual(step(result, label, "established"), {
      label,
      step: "established",
      state: "established",
      localNode: node,
      remoteNode: SERVER_NODE,
    });
    const sent = wire(result, label, "out");
    const received = wire(result, label, "in");
    const id = received[0].id;
    assert.deepEqual(sent.slice(2), [{ id, state: "finishing" }], transcript(result));
    assert.deepEqual(received.slice(2), [{ id, from: SERVER_NODE, to: node, state: "finished" }]);
    assert.deepEqual(step(result, label, "finished"), {
      label,
      step: "finished",
      state: "finished",
    });
  }

  // A wrong password: lime-js's establishSession rejects with the server's `failed` session.
  const wrong = { scheme: "plain", password: base64("not the password") };
  const refused = { code: 13, description: "The session authentication failed" };
  assertHandshake(result, "wrong-plain", ALICE, wrong, { state: "failed", reason: refused });
  assert.deepEqual(step(result, "wrong-plain", "failed"), {
    label: "wrong-plain",
    step: "failed",
    state: "failed",
    reason: refused,
  });
  assert.equal(wire(result, "wrong-plain", "out").length, 2, transcript(result));
});

Deno.test("LimeServer routes a lime-js message to a Deno client, returns its received notification and answers lime-js's /ping", async () => {
  await limeJs();
  await using env = await startServer();
  const transport = new TcpTransport();
  await transport.open(`net.tcp://${env.server.tcpAddress}`);
  const bob = new ClientChannel(transport, { autoNotifyReceipt: true });
  try {
    const session = await within(
      bob.establishSession({ identity: "bob@localhost", instance: "deno", encryption: "none" }),
      3000,
      "the Deno client's establishment",
    );
    assert.equal(session.to, BOB_NODE);
    const delivered = within(bob.receiveMessage(), NODE_TIMEOUT_MS, "the message from lime-js");
    const [message, ran] = await Promise.allSettled([
      delivered,
      runNode({
        scenario: "talk",
        url: env.url,
        instance: LIMEJS_INSTANCE,
        identity: ALICE,
        password: ALICE_PASSWORD,
        peer: BOB_NODE,
      }),
    ]);
    if (ran.status === "rejected") throw ran.reason;
    const result = ran.value;
    if (message.status === "rejected") throw new Error(`${message.reason}\n${transcript(result)}`);

    // The Deno client got the message with `from` stamped as the lime-js node.
    assert.deepEqual(JSON.parse(serializeEnvelope(message.value as Envelope)), {
      id: "m1",
      from: ALICE_NODE,
      to: BOB_NODE,
      type: "text/plain",
      content: "hello from lime-js",
    });

    assert.equal(result.code, 0, transcript(result));
    assert.deepEqual(
      step(result, undefined, "done"),
      { step: "done", open: [] },
      transcript(result),
    );
    assertHandshake(result, "talk", ALICE, {
      scheme: "plain",
      password: base64(ALICE_PASSWORD),
    }, { to: ALICE_NODE, state: "established" });
    const id = wire(result, "talk", "in")[0].id;

    const sent = wire(result, "talk", "out").slice(2);
    assert.deepEqual(sent, [
      { id: "m1", to: BOB_NODE, type: "text/plain", content: "hello from lime-js" },
      { id: "ping-1", method: "get", uri: "/ping" },
      { id, state: "finishing" },
    ], transcript(result));

    // Everything lime-js received after establishment, in order: bob's automatic `received`
    // notification, the /ping response, `finished`.
    const received = wire(result, "talk", "in").slice(2);
    assert.deepEqual(received, [
      { id: "m1", from: BOB_NODE, to: ALICE_NODE, event: "received" },
      {
        id: "ping-1",
        to: ALICE_NODE,
        method: "get",
        status: "success",
        type: "application/vnd.lime.ping+json",
        resource: {},
      },
      { id, from: SERVER_NODE, to: ALICE_NODE, state: "finished" },
    ], transcript(result));
    assert.deepEqual(step(result, "talk", "notification").notification, received[0]);
    assert.deepEqual(step(result, "talk", "ping").response, received[1]);
    assert.deepEqual(step(result, "talk", "finished"), {
      label: "talk",
      step: "finished",
      state: "finished",
    });
  } finally {
    await bob[Symbol.asyncDispose]();
  }
});
