/**
 * What differs on lime-go, seen by this module's client: the `\n` after every envelope (on the
 * wire, and before the TLS handshake in the same or a later segment), guests that must be UUIDs
 * and the bare `{"code":1}` they get otherwise (a permanent refusal for LimeClient), the node the
 * server assigns (its domain, a random instance), and a server configured with TLS alone, which
 * does not negotiate.
 */
import assert from "node:assert/strict";
import net from "node:net";
import {
  ChannelError,
  ClientChannel,
  guestCredentials,
  guestIdentity,
  LimeClient,
  LimeClientError,
  LimeError,
  Message,
  plainCredentials,
  TcpTransport,
} from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { tlsFixture } from "../tls_fixture.ts";
import { limeGoProfile } from "./lime_go.ts";
import { encryptionFor, openTransport, type Via } from "./profile_cases.ts";
import { ScriptedServer } from "./scripted_server.ts";
import type { Json } from "./wire.ts";

const f = await tlsFixture();
const certificate = { cert: f.server.cert, key: f.server.key };

Deno.test("limeGoProfile writes \\n after every envelope, after the TLS confirmation in the same segment", async () => {
  await using server = await ScriptedServer.start(limeGoProfile(), { certificate });
  const socket = net.connect(Number(server.tcpUri.split(":").at(-1)), "127.0.0.1");
  socket.on("error", () => {});
  const next = () => new Promise<string>((resolve) => socket.once("data", (d) => resolve(`${d}`)));
  try {
    socket.write('{"state":"new"}');
    const offer = await within(next());
    assert.match(offer, /"encryptionOptions":\["none","tls"\]\}\n$/);
    const id = JSON.parse(offer).id;
    socket.write(
      JSON.stringify({ id, state: "negotiating", compression: "none", encryption: "tls" }),
    );
    assert.equal(
      await within(next()),
      `{"id":"${id}","from":"postmaster@localhost/lime-go-host","state":"negotiating",` +
        `"compression":"none","encryption":"tls"}\n`,
    );
  } finally {
    socket.destroy();
  }
});

Deno.test("ClientChannel switches to TLS with lime-go when its \\n comes in a later segment", async () => {
  await using server = await ScriptedServer.start(limeGoProfile(), {
    certificate,
    lateSeparatorBeforeTls: true,
  });
  const transport = await openTransport(server, "tls");
  await using channel = new ClientChannel(transport);
  await within(channel.establishSession({ identity: guestIdentity("localhost") }));
  assert.equal(transport.encryption, "tls");
});

for (const via of ["tcp", "ws"] as Via[]) {
  Deno.test(`ClientChannel surfaces lime-go's bare {"code":1} for a guest not named by a UUID (${via})`, async () => {
    await using server = await ScriptedServer.start(limeGoProfile());
    const channel = new ClientChannel(await openTransport(server, via));
    await assert.rejects(
      channel.establishSession({ identity: "visitor@localhost", encryption: encryptionFor(via) }),
      (error) => {
        assert.ok(error instanceof LimeError, String(error));
        assert.equal(error.code, 1);
        assert.deepEqual(error.reason, { code: 1 });
        return true;
      },
    );
    assert.equal((await channel.closed).state, "failed");
  });
}

Deno.test("LimeClient gives up at once when lime-go refuses its guest name (code 1 to the credentials)", async () => {
  await using server = await ScriptedServer.start(limeGoProfile());
  const states: string[] = [];
  await using client = new LimeClient({
    uri: server.wsUri,
    identity: "visitor@localhost",
    reconnect: { initialDelay: 10, maxDelay: 20 },
  });
  client.onStatus((status) => states.push(status.state));
  await assert.rejects(within(client.start()), (error) => {
    assert.ok(error instanceof LimeError && error.code === 1, String(error));
    return true;
  });
  assert.deepEqual(states, ["connecting", "disconnected", "closed"]);
});

Deno.test("LimeClient keeps retrying lime-go's code 1 when it does not answer the credentials", async () => {
  await using server = await ScriptedServer.start(limeGoProfile(), { certificate });
  const failures: unknown[] = [];
  await using client = new LimeClient({
    uri: server.tcpUri,
    identity: guestIdentity("localhost"),
    compression: "gzip", // lime-go has none: "An invalid negotiation option was selected"
    reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 2 },
  });
  client.onStatus((status) => status.state === "disconnected" && failures.push(status.error));
  await assert.rejects(within(client.start()), (error) => error instanceof LimeClientError);
  assert.equal(failures.length, 3);
  assert.ok(failures.every((error) => error instanceof LimeError && error.code === 1));
});

Deno.test("LimeClient connects to lime-go as a guest named by guestIdentity(), transport listed first", async () => {
  await using server = await ScriptedServer.start(limeGoProfile());
  await using client = new LimeClient({ uri: server.wsUri, identity: guestIdentity("localhost") });
  await within(client.start());
  assert.match(client.node!, /^[0-9a-f-]{36}@localhost\/[0-9a-f-]{36}$/);
});

Deno.test("ClientChannel takes the node lime-go assigns: its domain, a random instance", async () => {
  await using server = await ScriptedServer.start(
    limeGoProfile({ passwords: { john: "mysecretpassword" } }),
  );
  const transport = await openTransport(server, "ws");
  await using john = new ClientChannel(transport);
  const established = await within(john.establishSession({
    identity: "john@example.org",
    instance: "home",
    credentials: plainCredentials("mysecretpassword"),
  }));
  assert.match(established.to!, /^john@localhost\/[0-9a-f-]{36}$/);
  assert.equal(john.localNode, established.to);
  await using guest = new ClientChannel(await openTransport(server, "ws"));
  await within(guest.establishSession({ identity: guestIdentity("localhost") }));
  await guest.sendMessage(new Message("text/plain", "to your node", { to: john.localNode }));
  assert.equal((await within(john.receiveMessage())).content, "to your node");
});

Deno.test("ClientChannel sends nothing in the clear to lime-go configured with TLS alone when tls is required", async () => {
  const received: Json[] = [];
  await using server = await ScriptedServer.start(limeGoProfile({ encryption: ["tls"] }), {
    certificate,
    onReceived: (envelope) => received.push(envelope),
  });
  const strict = new ClientChannel(await openTransport(server, "tls"));
  await assert.rejects(
    strict.establishSession({ identity: guestIdentity("localhost"), encryption: "tls" }),
    (error) => error instanceof ChannelError && /"tls" is required/.test(error.message),
  );
  assert.deepEqual(received.map((e) => e.state), ["new"], "no credentials were sent");
  // Without the requirement the session goes on unencrypted: lime-go offered one option only.
  const transport = new TcpTransport({ tls: { caCerts: [f.ca] } });
  await transport.open(server.tcpUri);
  await using lenient = new ClientChannel(transport);
  await within(
    lenient.establishSession({
      identity: guestIdentity("localhost"),
      credentials: guestCredentials(),
    }),
  );
  assert.equal(transport.encryption, "none");
});
