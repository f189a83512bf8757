/**
 * Scripted misbehaving peers against the channels: wrong or missing session ids, bad negotiation
 * choices and credentials, garbage on a TCP connection, silence, a server that jumps to
 * `established`, and peers that hang up in the middle. Each gives the right failure (exact wire
 * JSON and reason codes) and leaks nothing: sanitizers are on, pending commands reject, the
 * ManualClock has no timer left and `closed` says how the channel ended.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../src/clock.ts";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { ServerChannel, type ServerChannelOptions } from "../src/channel/server_channel.ts";
import type {
  EstablishmentResult,
  ServerEstablishOptions,
} from "../src/channel/server_establishment.ts";
import type { ChannelCloseInfo } from "../src/channel/channel.ts";
import { encodeBase64Text } from "../src/channel/authentication/credentials.ts";
import { readPlainPassword } from "../src/channel/authentication/plain.ts";
import type { Credentials } from "../src/channel/authentication/credentials.ts";
import { Command, type Envelope, Message, Session } from "../src/envelope.ts";
import { MemoryTransport, type MemoryTransportOptions } from "../src/transport/memory.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { inbox, readUntil, stillPending, within, writeAll } from "./tcp_helpers.ts";

const SID = "8d3c1f0e-2b4a-4c6d-9e8f-0a1b2c3d4e5f";
const SERVER_NODE = "postmaster@localhost/server";

function channelError(code: ChannelError["code"]) {
  return (error: unknown) => {
    assert.ok(error instanceof ChannelError, `expected a ChannelError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/** A plain copy of an envelope as it came off the wire. */
const plain = (envelope: Envelope) => ({ ...envelope });

/** A ServerChannel on a memory pair with a scripted client (`peer`). */
function serverRig(
  options: Partial<ServerChannelOptions> = {},
  pairOptions: MemoryTransportOptions = {},
) {
  const [peer, mine] = MemoryTransport.pair(pairOptions);
  const channel = new ServerChannel(mine, {
    serverNode: SERVER_NODE,
    sessionId: SID,
    ...options,
  });
  const fromServer = inbox(peer);
  return {
    channel,
    peer,
    fromServer,
    async [Symbol.asyncDispose]() {
      await channel.close();
      await peer.close();
    },
  };
}

/** A ClientChannel on a memory pair with a scripted server (`peer`). */
function clientRig(clock?: ManualClock) {
  const [mine, peer] = MemoryTransport.pair();
  const channel = new ClientChannel(mine, clock ? { clock } : {});
  const fromClient = inbox(peer);
  return {
    channel,
    peer,
    fromClient,
    async [Symbol.asyncDispose]() {
      await channel.close();
      await peer.close();
    },
  };
}

/** The server's guest offer, as a scripted server sends it. */
const guestOffer = () =>
  new Session("authenticating", { id: SID, from: SERVER_NODE, schemeOptions: ["guest"] });

/** The same offer as it must appear on the wire. */
const GUEST_OFFER = {
  id: SID,
  from: SERVER_NODE,
  state: "authenticating",
  schemeOptions: ["guest"],
};

/** Expects a `failed` envelope with `code` from the server, then the connection's end. */
async function expectFailed(
  rig: ReturnType<typeof serverRig>,
  code: number,
  description?: RegExp,
): Promise<void> {
  const failed = plain(await rig.fromServer()) as Session;
  const { reason, ...rest } = failed;
  assert.deepEqual(rest, { id: SID, from: SERVER_NODE, state: "failed" });
  assert.equal(reason?.code, code, reason?.description ?? "");
  if (description) assert.match(reason!.description!, description);
  const info = await within(rig.peer.closed, 2000, "the server closing");
  assert.equal(info.by, "remote");
  assert.deepEqual(await within(rig.channel.closed, 2000), { state: "failed", reason });
  assert.equal(rig.channel.state, "failed");
}

/**
 * Expects the establishment to have failed on the wire with `code` (see {@link expectFailed}), its
 * result to say so with `description` and `cause`, and no timer left on `clock`.
 */
async function expectRefused(
  rig: ReturnType<typeof serverRig>,
  result: Promise<EstablishmentResult>,
  clock: ManualClock,
  code: number,
  description: string,
  cause: string,
): Promise<void> {
  await expectFailed(rig, code);
  assert.deepEqual(await within(result, 2000), {
    established: false,
    reason: { code, description },
    cause,
  });
  assert.equal(clock.pending, 0);
}

// ------------------------------------------------------------------ session ids

for (
  const [what, id] of [
    ["a wrong session id", "not-the-session-id"],
    ["no session id", undefined],
  ] as const
) {
  Deno.test(`ServerChannel establishSession fails credentials with ${what} with 11`, async () => {
    await using rig = serverRig();
    const result = rig.channel.establishSession();
    await rig.peer.send(new Session("new"));
    assert.deepEqual(plain(await rig.fromServer()), GUEST_OFFER);
    await rig.peer.send(
      new Session("authenticating", {
        id,
        from: "alice@localhost/home",
        scheme: "guest",
        authentication: {},
      }),
    );
    await expectFailed(rig, 11, /session id/);
    const outcome = await within(result, 2000);
    assert.equal(outcome.established, false);
    assert.equal(!outcome.established && outcome.reason.code, 11);
    assert.equal(rig.channel.violation?.code, 11);
  });

  Deno.test(`ServerChannel establishSession fails a negotiation choice with ${what} with 11`, async () => {
    await using rig = serverRig({}, { compression: ["none", "gzip"] });
    const result = rig.channel.establishSession();
    await rig.peer.send(new Session("new"));
    assert.deepEqual(plain(await rig.fromServer()), {
      id: SID,
      from: SERVER_NODE,
      state: "negotiating",
      compressionOptions: ["none", "gzip"],
      encryptionOptions: ["none"],
    });
    await rig.peer.send(
      new Session("negotiating", { id, compression: "none", encryption: "none" }),
    );
    await expectFailed(rig, 11, /session id/);
    assert.equal((await within(result, 2000)).established, false);
  });
}

Deno.test("ServerChannel establishSession accepts `new` carrying an id (lime-python)", async () => {
  await using rig = serverRig();
  const result = rig.channel.establishSession();
  await rig.peer.send(new Session("new", { id: "chosen-by-the-client" }));
  // The server keeps its own session id; the client follows it.
  assert.deepEqual(plain(await rig.fromServer()), GUEST_OFFER);
  await rig.peer.send(
    new Session("authenticating", {
      id: SID,
      from: "alice@localhost/py",
      scheme: "guest",
      authentication: {},
    }),
  );
  assert.deepEqual(plain(await rig.fromServer()), {
    id: SID,
    from: SERVER_NODE,
    to: "alice@localhost/py",
    state: "established",
  });
  assert.deepEqual(await within(result, 2000), {
    established: true,
    node: "alice@localhost/py",
    domainRole: "member",
    scheme: "guest",
  });
  assert.equal(rig.channel.state, "established");
  assert.equal(rig.channel.sessionId, SID);
});

Deno.test(
  "ServerChannel establishSession accepts plain authentication with an inner scheme key (lime-js)",
  async () => {
    await using rig = serverRig();
    const seen: Credentials[] = [];
    const result = rig.channel.establishSession({
      schemeOptions: ["plain"],
      authenticator: (identity, credentials) => {
        seen.push(credentials);
        const ok = identity === "alice@localhost" &&
          readPlainPassword(credentials.authentication) === "s3cr3t";
        return { domainRole: ok ? "member" : "unknown" };
      },
    });
    await rig.peer.send(new Session("new"));
    assert.deepEqual(plain(await rig.fromServer()), { ...GUEST_OFFER, schemeOptions: ["plain"] });
    const password = encodeBase64Text("s3cr3t");
    await rig.peer.send(
      new Session("authenticating", {
        id: SID,
        from: "alice@localhost/web",
        scheme: "plain",
        authentication: { scheme: "plain", password },
      }),
    );
    assert.deepEqual(plain(await rig.fromServer()), {
      id: SID,
      from: SERVER_NODE,
      to: "alice@localhost/web",
      state: "established",
    });
    assert.deepEqual(await within(result, 2000), {
      established: true,
      node: "alice@localhost/web",
      domainRole: "member",
      scheme: "plain",
    });
    assert.deepEqual(seen, [
      { scheme: "plain", authentication: { scheme: "plain", password } },
    ]);
  },
);

// ------------------------------------------------------------------ establishment failures

interface FailureCase {
  name: string;
  options: ServerEstablishOptions;
  credentials: Session;
  code: number;
}

const credentials = (init: ConstructorParameters<typeof Session>[1]) =>
  new Session("authenticating", { id: SID, ...init });

const FAILURES: FailureCase[] = [
  {
    name: "a scheme that was not offered with 11",
    options: {},
    credentials: credentials({
      from: "alice@localhost/home",
      scheme: "plain",
      authentication: { password: encodeBase64Text("x") },
    }),
    code: 11,
  },
  {
    name: "plain credentials without from with 13 (only a guest may leave its name to the server)",
    options: { schemeOptions: ["plain"], authenticator: () => ({ domainRole: "member" }) },
    credentials: credentials({
      scheme: "plain",
      authentication: { password: encodeBase64Text("x") },
    }),
    code: 13,
  },
  {
    name: "credentials the authenticator refuses with 13",
    options: {
      schemeOptions: ["plain"],
      authenticator: () => ({ domainRole: "unknown" }),
    },
    credentials: credentials({
      from: "alice@localhost/home",
      scheme: "plain",
      authentication: { password: encodeBase64Text("wrong") },
    }),
    code: 13,
  },
  {
    name: "a node the registration refuses with 12",
    options: { register: () => null },
    credentials: credentials({
      from: "alice@localhost/home",
      scheme: "guest",
      authentication: {},
    }),
    code: 12,
  },
];

for (const failure of FAILURES) {
  Deno.test(`ServerChannel establishSession fails ${failure.name}`, async () => {
    await using rig = serverRig();
    const result = rig.channel.establishSession(failure.options);
    await rig.peer.send(new Session("new"));
    assert.equal((plain(await rig.fromServer()) as Session).state, "authenticating");
    await rig.peer.send(failure.credentials);
    await expectFailed(rig, failure.code);
    const outcome = await within(result, 2000);
    assert.equal(outcome.established, false);
    assert.equal(!outcome.established && outcome.reason.code, failure.code);
    assert.equal(rig.channel.violation, undefined);
    assert.equal(rig.channel.remoteNode, undefined);
  });
}

Deno.test("ServerChannel establishSession fails a negotiation option that was not offered with 17", async () => {
  await using rig = serverRig({}, { compression: ["none", "gzip"], encryption: ["none", "tls"] });
  const result = rig.channel.establishSession({ compressionOptions: ["none"] });
  await rig.peer.send(new Session("new"));
  assert.deepEqual(plain(await rig.fromServer()), {
    id: SID,
    from: SERVER_NODE,
    state: "negotiating",
    compressionOptions: ["none"],
    encryptionOptions: ["none", "tls"],
  });
  // gzip is supported by the transport but was not offered.
  await rig.peer.send(
    new Session("negotiating", { id: SID, compression: "gzip", encryption: "tls" }),
  );
  await expectFailed(rig, 17);
  const outcome = await within(result, 2000);
  assert.equal(!outcome.established && outcome.reason.code, 17);
  assert.equal(rig.channel.transport.compression, "none");
  assert.equal(rig.channel.transport.encryption, "none");
});

// ------------------------------------------------------------------ garbage on TCP

Deno.test(
  "ServerChannel on TCP ends on garbage or invalid JSON; the listener's next session still establishes",
  async () => {
    const listener = new TcpTransportListener({ port: 0 });
    await listener.listen();
    const sessions: Promise<{ outcome: EstablishmentResult; info: ChannelCloseInfo }>[] = [];
    const serving = (async () => {
      for await (const transport of listener) {
        const channel = new ServerChannel(transport, { serverNode: SERVER_NODE });
        sessions.push((async () => {
          const outcome = await channel.establishSession();
          const info = await channel.closed;
          return { outcome, info };
        })());
      }
    })();
    const [hostname, port] = listener.address!.split(":");
    try {
      const encode = (text: string) => new TextEncoder().encode(text);
      // Bytes that cannot be framed and JSON that is not a valid envelope are both answered with
      // `failed` and reason 21 (saying what was wrong), then the connection is closed.
      const garbage: [Uint8Array, RegExp][] = [
        [new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x0a]), /Unexpected byte 0xde/],
        [encode('{"state":"new",,}'), /not JSON/],
        [encode('{"state": nope}\n'), /not JSON/],
      ];
      for (const [i, [bytes, description]] of garbage.entries()) {
        const conn = await Deno.connect({ hostname, port: Number(port) });
        let wire: string;
        try {
          await writeAll(conn, bytes);
          wire = await within(readUntil(conn, () => false), 2000, "the server hanging up");
        } finally {
          conn.close();
        }
        await within(
          (async () => {
            while (sessions.length <= i) await new Promise((r) => setTimeout(r, 5));
          })(),
          2000,
          "the server accepting",
        );
        const { outcome, info } = await within(sessions[i], 2000, "the session ending");
        const failed = JSON.parse(wire);
        assert.equal(failed.state, "failed");
        assert.equal(failed.from, SERVER_NODE);
        assert.equal(failed.reason.code, 21);
        assert.match(failed.reason.description, description);
        assert.equal(outcome.established, false);
        assert.equal(!outcome.established && outcome.reason.code, 21);
        assert.equal(info.state, "failed");
        assert.deepEqual(info.reason, failed.reason);
      }

      // A well-behaved client on the same listener still gets a session.
      const transport = new TcpTransport();
      await transport.open(`net.tcp://${listener.address}`);
      const client = new ClientChannel(transport);
      const established = await within(
        client.establishSession({ identity: "bob@localhost", instance: "tcp" }),
        3000,
        "establishing",
      );
      assert.equal(established.to, "bob@localhost/tcp");
      assert.equal(client.state, "established");
      await within(client.finish(), 2000, "finishing");
      assert.deepEqual(await client.closed, { state: "finished" });
      const last = await within(sessions[garbage.length], 2000);
      assert.deepEqual(last.outcome, {
        established: true,
        node: "bob@localhost/tcp",
        domainRole: "member",
        scheme: "guest",
      });
      assert.deepEqual(last.info, { state: "finished" });
      assert.equal(sessions.length, garbage.length + 1);
    } finally {
      await listener.close({ closeTransports: true });
      await within(serving, 2000, "the accept loop ending");
    }
  },
);

// ------------------------------------------------------------------ silence

for (const how of ["the establishSession timeout", "the establishmentTimeout option"] as const) {
  Deno.test(`ServerChannel establishSession fails a silent client with 16 (${how})`, async () => {
    const clock = new ManualClock();
    await using rig = serverRig(
      how === "the establishmentTimeout option" ? { clock, establishmentTimeout: 1000 } : { clock },
    );
    const result = rig.channel.establishSession(
      how === "the establishSession timeout" ? { timeout: 1000 } : {},
    );
    clock.advance(999);
    assert.ok(await stillPending(result, 20));
    assert.ok(rig.peer.isConnected);
    clock.advance(1);
    await expectRefused(
      rig,
      result,
      clock,
      16,
      "The session establishment timed out after 1000 ms",
      "timed out",
    );
  });
}

Deno.test("ServerChannel establishSession fails with 16 when the first envelope does not come within firstEnvelopeTimeout", async () => {
  const clock = new ManualClock();
  await using rig = serverRig({ clock });
  const result = rig.channel.establishSession({ timeout: 1000, firstEnvelopeTimeout: 300 });
  clock.advance(299);
  assert.ok(await stillPending(result, 20));
  clock.advance(1);
  await expectRefused(
    rig,
    result,
    clock,
    16,
    "Waiting for the first session envelope timed out after 300 ms",
    "timed out",
  );
});

Deno.test("ServerChannel establishSession counts its timeout from the start, not from the first envelope", async () => {
  const clock = new ManualClock();
  await using rig = serverRig({ clock });
  const result = rig.channel.establishSession({ timeout: 1000, firstEnvelopeTimeout: 300 });
  clock.advance(250);
  await rig.peer.send(new Session("new"));
  assert.equal((await rig.fromServer() as Session).state, "authenticating");
  clock.advance(300); // past the first envelope's limit: it no longer counts
  assert.ok(await stillPending(result, 20));
  clock.advance(449);
  assert.ok(await stillPending(result, 20));
  clock.advance(1); // 1,000 ms after the start
  await expectRefused(
    rig,
    result,
    clock,
    16,
    "The session establishment timed out after 1000 ms",
    "timed out",
  );
});

for (const when of ["before the first envelope", "after it", "before it starts"] as const) {
  Deno.test(`ServerChannel establishSession fails with 11 when its signal aborts ${when}, and leaves no timer`, async () => {
    const clock = new ManualClock();
    await using rig = serverRig({ clock });
    const stop = new AbortController();
    if (when === "before it starts") stop.abort(new Error("the server stops"));
    const result = rig.channel.establishSession({ timeout: 1000, signal: stop.signal });
    if (when === "after it") {
      await rig.peer.send(new Session("new"));
      assert.equal((await rig.fromServer() as Session).state, "authenticating");
    }
    stop.abort(new Error("the server stops"));
    await expectRefused(
      rig,
      result,
      clock,
      11,
      "The session establishment was aborted by the server",
      "aborted by the server",
    );
  });
}

Deno.test("ClientChannel establishSession times out on a silent server and closes the transport", async () => {
  const clock = new ManualClock();
  await using rig = clientRig(clock);
  const established = rig.channel.establishSession({ identity: "alice@localhost", timeout: 1000 });
  assert.deepEqual(plain(await rig.fromClient()), { state: "new" });
  clock.advance(1000);
  await assert.rejects(within(established, 2000), channelError("timeout"));
  assert.equal(rig.channel.transport.isConnected, false);
  assert.equal((await within(rig.peer.closed, 2000)).by, "remote");
  const info = await rig.channel.closed;
  assert.equal(info.state, "new");
  assert.ok(info.error instanceof ChannelError && info.error.code === "timeout");
  assert.equal(clock.pending, 0);
});

// ------------------------------------------------------------------ established without authentication

/** Records every envelope handed to the channel's transport. */
function recordWire(channel: ServerChannel): Envelope[] {
  const wire: Envelope[] = [];
  const transport = channel.transport;
  const send = transport.send.bind(transport);
  transport.send = (envelope, options) => {
    wire.push(envelope);
    return send(envelope, options);
  };
  return wire;
}

Deno.test("ServerChannel sendEstablishedSession refuses `new` → established without the opt-in", async () => {
  await using rig = serverRig();
  const wire = recordWire(rig.channel);
  await rig.peer.send(new Session("new"));
  await within(rig.channel.receiveNewSession(), 2000);
  await assert.rejects(rig.channel.sendEstablishedSession("alice@localhost/home"), (error) => {
    channelError("invalid-state")(error);
    assert.match((error as Error).message, /"established".*"new"/);
    return true;
  });
  assert.deepEqual(wire, []);
  assert.equal(rig.channel.state, "new");
  assert.equal(rig.channel.remoteNode, undefined);
  // The session goes on: it can still be failed, with no `to` (nobody was established).
  await rig.channel.sendFailedSession({ code: 1, description: "bye" });
  assert.deepEqual(plain(await rig.fromServer()), {
    id: SID,
    from: SERVER_NODE,
    state: "failed",
    reason: { code: 1, description: "bye" },
  });
});

Deno.test("ServerChannel sendEstablishedSession goes `new` → established with establishWithoutAuthentication", async () => {
  await using rig = serverRig({ establishWithoutAuthentication: true });
  await rig.peer.send(new Session("new"));
  await within(rig.channel.receiveNewSession(), 2000);
  await rig.channel.sendEstablishedSession("alice@localhost/home");
  assert.deepEqual(plain(await rig.fromServer()), {
    id: SID,
    from: SERVER_NODE,
    to: "alice@localhost/home",
    state: "established",
  });
  assert.equal(rig.channel.state, "established");
  assert.equal(rig.channel.remoteNode, "alice@localhost/home");
});

// ------------------------------------------------------------------ hanging up in the middle

Deno.test("ClientChannel establishSession rejects with closed when the server hangs up mid-establishment", async () => {
  await using rig = clientRig();
  const messages = rig.channel.messages()[Symbol.asyncIterator]().next();
  const established = rig.channel.establishSession({ identity: "alice@localhost" });
  assert.deepEqual(plain(await rig.fromClient()), { state: "new" });
  await rig.peer.send(guestOffer());
  const sent = plain(await rig.fromClient());
  assert.deepEqual(sent, {
    id: SID,
    from: "alice@localhost/default",
    state: "authenticating",
    scheme: "guest",
    authentication: {},
  });
  await rig.peer.close();
  await assert.rejects(within(established, 2000), channelError("closed"));
  await assert.rejects(within(messages, 2000), channelError("closed"));
  const info = await rig.channel.closed;
  assert.equal(info.state, "authenticating");
  assert.ok(info.error instanceof ChannelError, String(info.error));
  assert.match(info.error.message, /"authenticating"/);
});

Deno.test("ServerChannel establishSession reports 11 when the client hangs up mid-establishment", async () => {
  await using rig = serverRig();
  const commands = rig.channel.commands()[Symbol.asyncIterator]().next();
  const result = rig.channel.establishSession();
  await rig.peer.send(new Session("new"));
  assert.deepEqual(plain(await rig.fromServer()), GUEST_OFFER);
  await rig.peer.close();
  const outcome = await within(result, 2000);
  assert.equal(outcome.established, false);
  assert.equal(!outcome.established && outcome.reason.code, 11);
  assert.match(!outcome.established ? outcome.reason.description! : "", /went away/);
  await assert.rejects(within(commands, 2000), channelError("closed"));
  const info = await rig.channel.closed;
  assert.equal(info.state, "authenticating");
  assert.ok(info.error instanceof ChannelError, String(info.error));
});

/** Establishes a ClientChannel against a scripted server. */
async function establishedClient(rig: ReturnType<typeof clientRig>): Promise<void> {
  const established = rig.channel.establishSession({ identity: "alice@localhost" });
  await rig.fromClient();
  await rig.peer.send(guestOffer());
  await rig.fromClient();
  await rig.peer.send(
    new Session("established", { id: SID, from: SERVER_NODE, to: "alice@localhost/default" }),
  );
  await within(established, 2000);
}

/** Establishes a ServerChannel against a scripted client. */
async function establishedServer(rig: ReturnType<typeof serverRig>): Promise<void> {
  const result = rig.channel.establishSession();
  await rig.peer.send(new Session("new"));
  await rig.fromServer();
  await rig.peer.send(
    new Session("authenticating", {
      id: SID,
      from: "alice@localhost/home",
      scheme: "guest",
      authentication: {},
    }),
  );
  await rig.fromServer();
  assert.equal((await within(result, 2000)).established, true);
}

for (const role of ["client", "server"] as const) {
  const name = role === "client" ? "ClientChannel" : "ServerChannel";
  Deno.test(`${name} rejects pending commands and iterators when the peer hangs up mid-session`, async () => {
    const clock = new ManualClock();
    const crig = role === "client" ? clientRig(clock) : undefined;
    const srig = role === "server" ? serverRig({ clock }) : undefined;
    const rig = (crig ?? srig)!;
    try {
      if (crig) await establishedClient(crig);
      else await establishedServer(srig!);
      const channel = rig.channel;
      const fromChannel = crig ? crig.fromClient : srig!.fromServer;
      assert.equal(channel.state, "established");

      const first = channel.processCommand(new Command("get", "/account", { id: "cmd-1" }));
      const second = channel.processCommand(new Command("get", "/contacts", { id: "cmd-2" }), {
        timeout: 5000,
      });
      const iterators: Promise<IteratorResult<Envelope>>[] = [
        channel.messages()[Symbol.asyncIterator]().next(),
        channel.notifications()[Symbol.asyncIterator]().next(),
        channel.commands()[Symbol.asyncIterator]().next(),
      ];
      const receive = channel.receiveMessage();
      assert.equal((plain(await fromChannel()) as Command).id, "cmd-1");
      assert.equal((plain(await fromChannel()) as Command).id, "cmd-2");
      // A message arrives and is taken before the hang-up.
      await rig.peer.send(new Message("text/plain", "last words", { id: "m-1" }));
      assert.equal((await within(iterators[0], 2000)).value?.id, "m-1");
      iterators[0] = channel.messages()[Symbol.asyncIterator]().next();
      // Two timers wait for the two commands; the hang-up must remove both.
      assert.ok(clock.pending >= 2);

      await rig.peer.close();
      await assert.rejects(within(first, 2000), channelError("closed"));
      await assert.rejects(within(second, 2000), channelError("closed"));
      for (const next of iterators) {
        await assert.rejects(within(next, 2000), channelError("closed"));
      }
      await assert.rejects(within(receive, 2000), channelError("closed"));
      const info = await within(channel.closed, 2000);
      assert.equal(info.state, "established");
      assert.ok(info.error instanceof ChannelError, String(info.error));
      assert.match(info.error.message, /"established"/);
      assert.equal(clock.pending, 0);
      // Nothing is left waiting: the same id is free again, and the channel says it is closed.
      await assert.rejects(
        channel.processCommand(new Command("get", "/account", { id: "cmd-1" })),
        channelError("closed"),
      );
      await assert.rejects(
        channel.sendMessage(new Message("text/plain", "too late")),
        channelError("closed"),
      );
      assert.equal(clock.pending, 0);
    } finally {
      await rig[Symbol.asyncDispose]();
    }
  });
}
