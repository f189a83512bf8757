/**
 * What lime-csharp / BLiP does that the client must take: envelopes back to back, negotiation only
 * when there is a choice, its failure codes (13, 12), failure responses and `failed`
 * notifications, pings from the server to the client, and `failed` 11 when the server shuts down
 * (lime-go says `finished` there).
 */
import assert from "node:assert/strict";
import net from "node:net";
import {
  ClientChannel,
  CommandFailedError,
  guestIdentity,
  LimeError,
  Message,
  plainCredentials,
} from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { tlsFixture } from "../tls_fixture.ts";
import { limeCsharpProfile } from "./lime_csharp.ts";
import { limeGoProfile } from "./lime_go.ts";
import { openTransport } from "./profile_cases.ts";
import { ScriptedServer } from "./scripted_server.ts";
import type { Json } from "./wire.ts";

const f = await tlsFixture();
const certificate = { cert: f.server.cert, key: f.server.key };
const profile = () => limeCsharpProfile({ passwords: { alice: "s3cret" } });

Deno.test("limeCsharpProfile writes envelopes back to back and negotiates only when there is a choice", async () => {
  await using server = await ScriptedServer.start(profile(), { certificate });
  const socket = net.connect(Number(server.tcpUri.split(":").at(-1)), "127.0.0.1");
  socket.on("error", () => {});
  try {
    socket.write('{"state":"new"}');
    const offer = await within(new Promise<string>((r) => socket.once("data", (d) => r(`${d}`))));
    assert.match(offer, /^\{.*"state":"negotiating".*"encryptionOptions":\["none","tls"\]\}$/);
  } finally {
    socket.destroy();
  }
  // WebSocket has one option of each: straight to authenticating.
  await using channel = new ClientChannel(await openTransport(server, "ws"));
  const reply = await within(channel.startNewSession());
  assert.equal(reply.state, "authenticating");
  assert.deepEqual(reply.schemeOptions, ["guest", "plain", "key", "transport"]);
});

Deno.test("ClientChannel gets lime-csharp's 13 for a wrong password and 12 for a node taken", async () => {
  await using server = await ScriptedServer.start(profile());
  const login = async (password: string) => {
    const channel = new ClientChannel(await openTransport(server, "ws"));
    await channel.establishSession({
      identity: "alice@localhost",
      instance: "home",
      credentials: plainCredentials(password),
    });
    return channel;
  };
  await assert.rejects(login("wrong"), (error) => error instanceof LimeError && error.code === 13);
  await using first = await login("s3cret");
  assert.equal(first.localNode, "alice@localhost/home");
  await assert.rejects(login("s3cret"), (error) => error instanceof LimeError && error.code === 12);
});

Deno.test("ClientChannel gets lime-csharp's failure 62 and failed notification 42", async () => {
  await using server = await ScriptedServer.start(profile());
  await using channel = new ClientChannel(await openTransport(server, "tcp"));
  await within(channel.establishSession({ identity: guestIdentity("localhost") }));
  await assert.rejects(
    channel.getResource("/account"),
    (error) => error instanceof CommandFailedError && error.code === 62,
  );
  const failed = new Promise<Json>((resolve) => channel.onNotification(resolve as never));
  await channel.sendMessage(
    new Message("text/plain", "anyone?", { id: "m1", to: "nobody@localhost/gone" }),
  );
  const notification = await within(failed);
  assert.equal(notification.event, "failed");
  assert.equal(notification.id, "m1");
  assert.equal((notification.reason as { code: number }).code, 42);
});

Deno.test("ClientChannel answers lime-csharp's /ping to its node with type and resource", async () => {
  const received: Json[] = [];
  await using server = await ScriptedServer.start(profile(), {
    onReceived: (envelope) => received.push(envelope),
  });
  await using channel = new ClientChannel(await openTransport(server, "ws"));
  await within(channel.establishSession({ identity: "visitor@localhost" }));
  server.sendTo(channel.localNode!, { id: "p1", method: "get", uri: "/ping" });
  const until = async () => {
    while (!received.some((e) => e.id === "p1")) await new Promise((r) => setTimeout(r, 5));
  };
  await within(until());
  const response = received.find((e) => e.id === "p1")!;
  assert.equal(response.status, "success");
  assert.equal(response.to, server.profile.node);
  assert.equal(response.type, "application/vnd.lime.ping+json");
  assert.deepEqual(response.resource, {});
});

for (
  const [make, state, code] of [[profile, "failed", 11], [
    limeGoProfile,
    "finished",
    undefined,
  ]] as const
) {
  Deno.test(`ClientChannel ends with ${make().name}'s ${state} when the server shuts down`, async () => {
    await using server = await ScriptedServer.start(make());
    const channel = new ClientChannel(await openTransport(server, "tcp"));
    await within(channel.establishSession({ identity: guestIdentity("localhost") }));
    await server.stop();
    const info = await within(channel.closed);
    assert.equal(info.state, state);
    assert.equal(info.reason?.code, code);
  });
}
