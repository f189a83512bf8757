/**
 * Every (state, envelope) cell of the generated session table, exercised through the channels:
 * each side is driven into each state by a scripted raw peer on the other end of a MemoryTransport
 * pair, then (a) the channel tries to send each kind of traffic and (b) the peer sends each kind
 * of traffic and each session state. The expected verdicts are read from SESSION_MOVES,
 * ENVELOPE_PERMISSIONS and SESSION_STATES (src/generated/session.generated.ts), so a spec change
 * changes these tests; the last test checks how many cells ran.
 */
import assert from "node:assert/strict";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { ServerChannel } from "../src/channel/server_channel.ts";
import { guestCredentials } from "../src/channel/authentication/guest.ts";
import { Command, type Envelope, Message, Notification, Session } from "../src/envelope.ts";
import type { SessionState } from "../src/generated/enums.generated.ts";
import {
  ENVELOPE_PERMISSIONS,
  SESSION_MOVES,
  SESSION_STATES,
} from "../src/generated/session.generated.ts";
import type { SessionRole } from "../src/session_types.ts";
import { TransportError } from "../src/transport/errors.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { inbox, within } from "./tcp_helpers.ts";

const SID = "0b7f4a52-5c1e-4d6a-9a3e-6f2d1c0e9b11";
const SERVER_NODE = "postmaster@localhost/server";
const CLIENT_NODE = "alice@localhost/home";

type TrafficKind = keyof typeof ENVELOPE_PERMISSIONS;
type Input = { kind: TrafficKind } | { kind: "session"; state: SessionState };

const STATES = Object.keys(SESSION_STATES) as SessionState[];
const KINDS = Object.keys(ENVELOPE_PERMISSIONS) as TrafficKind[];
const INPUTS: Input[] = [
  ...KINDS.map((kind) => ({ kind })),
  ...STATES.map((state) => ({ kind: "session" as const, state })),
];
const ROLES: SessionRole[] = ["client", "server"];
const className = (role: SessionRole) => role === "client" ? "ClientChannel" : "ServerChannel";
const label = (input: Input) =>
  input.kind === "session" ? `a "${input.state}" session` : input.kind;
const other = (role: SessionRole): SessionRole => role === "client" ? "server" : "client";

/**
 * The table's verdict on `receiver` receiving `input` in `state`. Servers run without opt-ins; a
 * client accepts the server's opt-in moves (lime-go and lime-java clients do too).
 */
function tableReceive(receiver: SessionRole, state: SessionState, input: Input) {
  if (input.kind !== "session") {
    return { allowed: ENVELOPE_PERMISSIONS[input.kind].receive.includes(state), to: state };
  }
  const move = SESSION_MOVES.find((m) =>
    m.from === state && m.to === input.state && m.by === other(receiver) &&
    (m.optIn === undefined || receiver === "client")
  );
  return { allowed: move !== undefined, to: move?.to ?? state };
}

/** Each kind of traffic, with ids to recognise it by. */
function traffic(kind: TrafficKind, tag: string): Envelope {
  switch (kind) {
    case "message":
      return new Message("text/plain", `hello ${tag}`, { id: `m-${tag}` });
    case "notification":
      return new Notification("received", { id: `n-${tag}` });
    case "command":
      return new Command("get", "/account", { id: `c-${tag}` });
  }
}

/** The envelope the peer sends for `input` (session envelopes carry the session id). */
function peerEnvelope(sender: SessionRole, input: Input): Envelope {
  if (input.kind !== "session") return traffic(input.kind, "peer");
  if (sender === "server") {
    return new Session(input.state, {
      id: SID,
      from: SERVER_NODE,
      ...(input.state === "failed" ? { reason: { code: 1, description: "peer says no" } } : {}),
      ...(input.state === "established" ? { to: CLIENT_NODE } : {}),
    });
  }
  return new Session(input.state, {
    id: SID,
    ...(input.state === "failed" ? { reason: { code: 1, description: "client says no" } } : {}),
    ...(input.state === "authenticating"
      ? { from: CLIENT_NODE, scheme: "guest" as const, authentication: {} }
      : {}),
  });
}

/** A channel in some state, the raw peer on the other end, and what the channel wrote. */
interface Rig {
  channel: ClientChannel | ServerChannel;
  peer: MemoryTransport;
  /** Receives the next envelope the channel wrote. */
  fromChannel: (ms?: number) => Promise<Envelope>;
  /** Receives the next envelope the channel wrote, which must be a session envelope. */
  nextSession: (ms?: number) => Promise<Session>;
  /** Everything the channel handed to its transport, in order. */
  wire: Envelope[];
  /** Primitive calls still waiting (settled on dispose). */
  background: Promise<unknown>[];
  dispose(): Promise<void>;
}

function rig(channel: ClientChannel | ServerChannel, peer: MemoryTransport, wire: Envelope[]): Rig {
  const background: Promise<unknown>[] = [];
  const fromChannel = inbox(peer);
  return {
    channel,
    peer,
    fromChannel,
    async nextSession(ms) {
      const envelope = await fromChannel(ms);
      assert.ok(
        "state" in envelope,
        `expected a session envelope, got ${JSON.stringify(envelope)}`,
      );
      return envelope;
    },
    wire,
    background,
    async dispose() {
      await channel.close();
      await peer.close();
      await Promise.allSettled(background);
    },
  };
}

/** Records every envelope handed to `transport.send`. */
function record(transport: MemoryTransport): Envelope[] {
  const wire: Envelope[] = [];
  const send = transport.send.bind(transport);
  transport.send = (envelope, options) => {
    wire.push(envelope);
    return send(envelope, options);
  };
  return wire;
}

function later(r: Rig, promise: Promise<unknown>): void {
  r.background.push(promise.catch(() => {}));
}

/** A ClientChannel driven into `state` by a scripted server. */
async function clientIn(state: SessionState): Promise<Rig> {
  const [mine, peer] = MemoryTransport.pair();
  const wire = record(mine);
  const r = rig(new ClientChannel(mine), peer, wire);
  const channel = r.channel as ClientChannel;
  const start = channel.startNewSession();
  assert.equal((await r.nextSession()).state, "new");
  if (state === "new") {
    later(r, start);
  } else if (state === "failed") {
    later(r, start);
    await peer.send(peerEnvelope("server", { kind: "session", state: "failed" }));
    await within(channel.closed, 2000, "the client closing");
  } else if (state === "negotiating") {
    await peer.send(
      new Session("negotiating", {
        id: SID,
        from: SERVER_NODE,
        compressionOptions: ["none"],
        encryptionOptions: ["none"],
      }),
    );
    await within(start, 2000);
  } else {
    await peer.send(
      new Session("authenticating", { id: SID, from: SERVER_NODE, schemeOptions: ["guest"] }),
    );
    await within(start, 2000);
    if (state !== "authenticating") {
      const auth = channel.authenticateSession("alice@localhost", guestCredentials(), "home");
      assert.equal((await r.nextSession()).state, "authenticating");
      await peer.send(new Session("established", { id: SID, from: SERVER_NODE, to: CLIENT_NODE }));
      await within(auth, 2000);
      if (state !== "established") {
        await channel.sendFinishingSession();
        assert.equal((await r.nextSession()).state, "finishing");
        if (state === "finished") {
          await peer.send(new Session("finished", { id: SID, from: SERVER_NODE, to: CLIENT_NODE }));
          await within(channel.closed, 2000, "the client closing");
        }
      }
    }
  }
  assert.equal(channel.state, state);
  return r;
}

/**
 * A ServerChannel driven into `state` by a scripted client. The server answers `finishing` with
 * `finished` in the same turn, so `finishing` is only observable inside an onSession handler:
 * `inFinishing` runs there.
 */
async function serverIn(
  state: SessionState,
  inFinishing?: (channel: ServerChannel, wire: Envelope[]) => void,
): Promise<Rig> {
  const [peer, mine] = MemoryTransport.pair();
  const wire = record(mine);
  const r = rig(new ServerChannel(mine, { serverNode: SERVER_NODE, sessionId: SID }), peer, wire);
  const channel = r.channel as ServerChannel;
  await peer.send(new Session("new"));
  assert.equal((await within(channel.receiveNewSession(), 2000)).state, "new");
  if (state === "failed") {
    await channel.sendFailedSession({ code: 1, description: "server says no" });
    assert.equal((await r.nextSession()).state, "failed");
  } else if (state === "negotiating") {
    later(r, channel.negotiateSession(["none", "gzip"], ["none", "tls"]));
    assert.equal((await r.nextSession()).state, "negotiating");
  } else if (state !== "new") {
    const auth = channel.authenticateSession(["guest"]);
    assert.equal((await r.nextSession()).state, "authenticating");
    if (state === "authenticating") {
      later(r, auth);
    } else {
      await peer.send(peerEnvelope("client", { kind: "session", state: "authenticating" }));
      await within(auth, 2000);
      await channel.sendEstablishedSession(CLIENT_NODE);
      assert.equal((await r.nextSession()).state, "established");
      if (state === "finished") {
        await channel.finish();
        assert.equal((await r.nextSession()).state, "finished");
      } else if (state === "finishing") {
        let seen: SessionState | undefined;
        channel.onSession((session) => {
          if (session.state !== "finishing") return;
          seen = channel.state;
          inFinishing?.(channel, wire);
        });
        await peer.send(new Session("finishing", { id: SID }));
        assert.equal((await r.nextSession()).state, "finished");
        await within(channel.closed, 2000, "the server closing");
        assert.equal(seen, "finishing");
        return r;
      }
    }
  }
  assert.equal(channel.state, state);
  return r;
}

const drive = (
  role: SessionRole,
  state: SessionState,
  inFinishing?: (channel: ServerChannel, wire: Envelope[]) => void,
) => role === "client" ? clientIn(state) : serverIn(state, inFinishing);

/** Resolves when the peer's transport has ended (the channel closed the connection). */
async function peerEnded(peer: MemoryTransport): Promise<void> {
  const info = await within(peer.closed, 2000, "the connection closing");
  assert.equal(info.by, "remote");
}

const covered = new Set<string>();

// ------------------------------------------------------------------ sending from the channel

interface SendAttempt {
  kind: TrafficKind;
  envelope: Envelope;
  result: Promise<void>;
  reachedWire: boolean;
}

/** Tries every kind of traffic at once; the gate decides synchronously. */
function trySends(channel: ClientChannel | ServerChannel, wire: Envelope[]): SendAttempt[] {
  return KINDS.map((kind) => {
    const envelope = traffic(kind, `${channel.role}-out`);
    const before = wire.length;
    const result = kind === "message"
      ? channel.sendMessage(envelope as Message)
      : kind === "notification"
      ? channel.sendNotification(envelope as Notification)
      : channel.sendCommand(envelope as Command);
    result.catch(() => {});
    return { kind, envelope, result, reachedWire: wire.length > before };
  });
}

for (const role of ROLES) {
  for (const state of STATES) {
    Deno.test(`${className(role)} in "${state}" sends traffic only as the table allows`, async () => {
      // The server's `finishing` lasts one turn: its sends run inside the onSession handler.
      let attempts: SendAttempt[] | undefined;
      const r = await drive(role, state, (channel, wire) => attempts = trySends(channel, wire));
      if (attempts === undefined) attempts = trySends(r.channel, r.wire);
      try {
        for (const attempt of attempts) {
          const allowed = ENVELOPE_PERMISSIONS[attempt.kind].send.includes(state);
          if (allowed) {
            await attempt.result;
            assert.ok(attempt.reachedWire, `${attempt.kind} reached the transport`);
            const got = await r.fromChannel(1000);
            assert.equal(got.id, attempt.envelope.id);
          } else {
            await assert.rejects(attempt.result, (error: unknown) => {
              assert.ok(error instanceof ChannelError, String(error));
              assert.equal(error.code, "invalid-state");
              assert.ok(error.message.includes(`"${state}"`), error.message);
              return true;
            });
            assert.ok(!attempt.reachedWire, `${attempt.kind} must not reach the transport`);
            assert.ok(
              !r.wire.some((e) => e.id === attempt.envelope.id),
              `${attempt.kind} must not be on the wire`,
            );
          }
          covered.add(`send ${role} ${state} ${attempt.kind}`);
        }
        assert.equal(attempts.length, KINDS.length);
      } finally {
        await r.dispose();
      }
    });
  }
}

// ------------------------------------------------------------------ receiving from the peer

/** The peer's envelope after `finishing` meets a server that has already answered `finished`. */
async function serverFinishingReceives(input: Input): Promise<void> {
  const [peer, mine] = MemoryTransport.pair();
  const r = rig(
    new ServerChannel(mine, { serverNode: SERVER_NODE, sessionId: SID }),
    peer,
    record(mine),
  );
  const channel = r.channel as ServerChannel;
  try {
    await peer.send(new Session("new"));
    await within(channel.receiveNewSession(), 2000);
    const auth = channel.authenticateSession(["guest"]);
    await r.fromChannel();
    await peer.send(peerEnvelope("client", { kind: "session", state: "authenticating" }));
    await within(auth, 2000);
    await channel.sendEstablishedSession(CLIENT_NODE);
    await r.fromChannel();
    const sessions: Session[] = [];
    let stateInHandler: SessionState | undefined;
    channel.onSession((session) => {
      sessions.push(session);
      if (session.state === "finishing") stateInHandler = channel.state;
    });
    // Both leave before the server reads either.
    await Promise.all([
      peer.send(new Session("finishing", { id: SID })),
      peer.send(peerEnvelope("client", input)).catch(() => {}),
    ]);
    assert.deepEqual(
      { ...await r.fromChannel() },
      { id: SID, from: SERVER_NODE, to: CLIENT_NODE, state: "finished" },
    );
    await peerEnded(peer);
    const info = await within(channel.closed, 2000);
    assert.deepEqual(info, { state: "finished" });
    assert.equal(stateInHandler, "finishing");
    assert.deepEqual(sessions.map((s) => s.state), ["finishing"]);
    assert.equal(channel.violation, undefined);
    if (input.kind !== "session") {
      const take = input.kind === "message"
        ? channel.receiveMessage()
        : input.kind === "notification"
        ? channel.receiveNotification()
        : channel.receiveCommand();
      await assert.rejects(take, (e: unknown) => e instanceof ChannelError && e.code === "closed");
    }
  } finally {
    await r.dispose();
  }
}

for (const role of ROLES) {
  for (const state of STATES) {
    for (const input of INPUTS) {
      const verdict = tableReceive(role, state, input);
      const final = SESSION_STATES[state].final;
      const transient = role === "server" && state === "finishing";
      const outcome = final
        ? "cannot arrive (the connection is closed)"
        : transient
        ? "meets a server that already answered finished"
        : verdict.allowed
        ? "is delivered"
        : role === "server"
        ? "fails the session with 15"
        : "closes the channel with a protocol error";
      Deno.test(
        `${className(role)} in "${state}" receiving ${label(input)} ${outcome}`,
        async () => {
          if (transient) {
            await serverFinishingReceives(input);
            covered.add(`receive ${role} ${state} ${label(input)}`);
            return;
          }
          const r = await drive(role, state);
          const { channel, peer } = r;
          try {
            const envelope = peerEnvelope(other(role), input);
            if (final) {
              // Every final state closes the connection, so nothing the table could allow or forbid
              // can arrive; the table allows nothing there either.
              assert.equal(verdict.allowed, false);
              const before = await channel.closed;
              await assert.rejects(
                peer.send(envelope),
                (e: unknown) => e instanceof TransportError && e.code === "closed",
              );
              assert.equal(before.state, state);
              assert.equal(before.error, undefined);
              if (state === "failed") assert.equal(before.reason?.code, 1);
              assert.equal(channel.state, state);
              covered.add(`receive ${role} ${state} ${label(input)}`);
              return;
            }
            const sessions: { session: Session; state: SessionState }[] = [];
            let sessionSeen!: () => void;
            const sessionArrived = new Promise<void>((resolve) => sessionSeen = resolve);
            channel.onSession((session) => {
              sessions.push({ session, state: channel.state });
              sessionSeen();
            });
            const iterator = channel.messages()[Symbol.asyncIterator]();
            const nextMessage = iterator.next();
            nextMessage.catch(() => {});
            await peer.send(envelope);

            if (verdict.allowed && input.kind !== "session") {
              const got = input.kind === "message"
                ? (await within(nextMessage, 2000)).value
                : input.kind === "notification"
                ? await within(channel.receiveNotification(), 2000)
                : await within(channel.receiveCommand(), 2000);
              assert.deepEqual({ ...got }, { ...envelope });
              assert.equal(channel.state, state);
              assert.ok(channel.transport.isConnected);
            } else if (verdict.allowed && input.kind === "session") {
              await within(sessionArrived, 2000, "the session envelope");
              assert.equal(sessions.length, 1);
              assert.equal(sessions[0].session.state, input.state);
              assert.equal(sessions[0].state, verdict.to);
              if (role === "server" && verdict.to === "finishing") {
                // The server answers finishing with finished and closes.
                assert.deepEqual(
                  { ...await r.fromChannel() },
                  { id: SID, from: SERVER_NODE, to: CLIENT_NODE, state: "finished" },
                );
                assert.deepEqual(await within(channel.closed, 2000), { state: "finished" });
              } else if (SESSION_STATES[verdict.to].final) {
                const info = await within(channel.closed, 2000);
                assert.equal(info.state, verdict.to);
                assert.equal(info.error, undefined);
                if (verdict.to === "failed") {
                  assert.deepEqual(info.reason, { code: 1, description: "peer says no" });
                }
                await peerEnded(peer);
              } else {
                assert.equal(channel.state, verdict.to);
                assert.ok(channel.transport.isConnected);
              }
            } else if (role === "server") {
              const failed = { ...await r.fromChannel() } as Session;
              const { reason, ...rest } = failed;
              assert.deepEqual(rest, {
                id: SID,
                from: SERVER_NODE,
                state: "failed",
                ...(state === "established" ? { to: CLIENT_NODE } : {}),
              });
              assert.equal(reason?.code, 15);
              assert.ok(reason?.description?.includes(`"${state}"`), reason?.description ?? "");
              await peerEnded(peer);
              // The server's own end: closed says failed, with the reason it sent.
              assert.deepEqual(await within(channel.closed, 2000), { state: "failed", reason });
              assert.deepEqual((channel as ServerChannel).violation, reason);
              assert.deepEqual(sessions, []);
            } else {
              const info = await within(channel.closed, 2000);
              assert.ok(info.error instanceof ChannelError, String(info.error));
              assert.equal(info.error.code, "protocol");
              assert.ok(info.error.message.includes(`"${state}"`), info.error.message);
              assert.equal(info.state, state);
              await assert.rejects(within(nextMessage, 2000), (e: unknown) => {
                assert.ok(e instanceof ChannelError, String(e));
                assert.equal(e.code, "closed");
                assert.equal(e.cause, info.error);
                return true;
              });
              await peerEnded(peer);
              assert.deepEqual(sessions, []);
            }
            covered.add(`receive ${role} ${state} ${label(input)}`);
          } finally {
            await r.dispose();
          }
        },
      );
    }
  }
}

Deno.test("channel state cells: every cell of the session table ran", () => {
  const expected = ROLES.length * STATES.length * (KINDS.length + INPUTS.length);
  assert.equal(INPUTS.length, KINDS.length + STATES.length);
  assert.ok(STATES.length > 0 && KINDS.length > 0, "the table is not empty");
  assert.equal(covered.size, expected);
});
