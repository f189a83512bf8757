/**
 * A ServerChannel answers envelopes that are JSON but not valid LIME with the validation reason:
 * a failure response for a command request, a `failed` notification for a message (the session
 * goes on), and a failed session for anything it cannot answer otherwise.
 */
import assert from "node:assert/strict";
import { ServerChannel } from "../src/channel/server_channel.ts";
import { type Envelope, Session } from "../src/envelope.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { inbox, within } from "./tcp_helpers.ts";

const SID = "5b1f0c9e-1111-4c6d-9e8f-0a1b2c3d4e5f";
const SERVER = "postmaster@localhost/server";
const CLIENT = "alice@localhost/home";

/** A server channel, established for `alice@localhost/home` by a scripted raw client. */
async function established() {
  const [peer, mine] = MemoryTransport.pair();
  const channel = new ServerChannel(mine, { serverNode: SERVER, sessionId: SID });
  const fromServer = inbox(peer);
  const establishing = channel.establishSession({ compressionOptions: ["none"] });
  await peer.send(new Session("new"));
  assert.equal((await fromServer() as Session).state, "authenticating");
  await peer.send(
    new Session("authenticating", { id: SID, from: CLIENT, scheme: "guest", authentication: {} }),
  );
  assert.equal((await fromServer() as Session).state, "established");
  assert.equal((await establishing).established, true);
  return {
    channel,
    peer,
    fromServer,
    /** Sends a raw object as if it were an envelope (the memory pair serializes it as is). */
    sendRaw: (value: Record<string, unknown>) => peer.send(value as unknown as Envelope),
    async [Symbol.asyncDispose]() {
      await channel.close();
      await peer.close();
    },
  };
}

Deno.test("ServerChannel answers an invalid command request with a failure response and goes on", async () => {
  await using rig = await established();
  await rig.sendRaw({
    id: "c1",
    method: "set",
    uri: "/presence",
    type: "application/vnd.lime.presence+json",
    resource: { status: 42 },
  });
  const response = { ...await rig.fromServer() } as Record<string, unknown>;
  assert.equal(response.id, "c1");
  assert.equal(response.method, "set");
  assert.equal(response.status, "failure");
  assert.equal(response.to, CLIENT);
  const reason = response.reason as { code: number; description: string };
  assert.ok(reason.code >= 21 && reason.code <= 27, `validation code, got ${reason.code}`);
  assert.match(reason.description, /status/);
  assert.equal(rig.channel.state, "established");
  assert.equal(rig.peer.isConnected, true);
});

Deno.test("ServerChannel answers an invalid message with a failed notification and goes on", async () => {
  await using rig = await established();
  await rig.sendRaw({ id: "m1", type: "application/vnd.lime.presence+json", content: 5 });
  const notification = { ...await rig.fromServer() } as Record<string, unknown>;
  assert.equal(notification.id, "m1");
  assert.equal(notification.event, "failed");
  assert.equal(notification.to, CLIENT);
  assert.ok((notification.reason as { code: number }).code >= 21);
  assert.equal(rig.channel.state, "established");
});

Deno.test("ServerChannel fails the session for an invalid envelope it cannot answer", async () => {
  await using rig = await established();
  await rig.sendRaw({ type: "application/vnd.lime.presence+json", content: 5 }); // no id
  const failed = await rig.fromServer() as Session;
  assert.equal(failed.state, "failed");
  assert.equal(failed.id, SID);
  assert.ok(failed.reason!.code >= 21 && failed.reason!.code <= 27);
  const info = await within(rig.channel.closed, 2000, "the channel end");
  assert.equal(info.state, "failed");
  assert.deepEqual(info.reason, failed.reason);
});

Deno.test("ServerChannel fails the session for invalid credentials during establishment", async () => {
  const [peer, mine] = MemoryTransport.pair();
  const channel = new ServerChannel(mine, { serverNode: SERVER, sessionId: SID });
  const fromServer = inbox(peer);
  const establishing = channel.establishSession({ compressionOptions: ["none"] });
  await peer.send(new Session("new"));
  assert.equal((await fromServer() as Session).state, "authenticating");
  await peer.send({
    state: "authenticating",
    id: SID,
    from: CLIENT,
    scheme: "plain",
    authentication: 5,
  } as unknown as Envelope);
  const failed = await fromServer() as Session;
  assert.equal(failed.state, "failed");
  assert.ok(failed.reason!.code >= 21 && failed.reason!.code <= 27);
  const result = await establishing;
  assert.equal(result.established, false);
  await channel.close();
  await peer.close();
});

Deno.test("ServerChannel gates invalid input only while its transport answers it the channel's way", async () => {
  const [a, b] = MemoryTransport.pair();
  const channel = new ServerChannel(a, { serverNode: "postmaster@localhost/server" });
  assert.equal(channel.gatesInvalidInput, true);
  // The transport's owner chose another policy after: a gate must wrap that one instead.
  a.invalidEnvelopePolicy = () => "skip";
  assert.equal(channel.gatesInvalidInput, false);
  await a.close();
  await b.close();
  await within(channel.closed);
});

Deno.test("ServerChannel leaves a transport's own invalid-input policy alone, and does not gate it", async () => {
  const [a, b] = MemoryTransport.pair({ onInvalidEnvelope: () => "close" });
  const channel = new ServerChannel(a, { serverNode: "postmaster@localhost/server" });
  assert.equal(channel.gatesInvalidInput, false);
  await a.close();
  await b.close();
  await within(channel.closed);
});
