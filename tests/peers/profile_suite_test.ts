/**
 * The client suite against each scripted server profile (lime-go, lime-csharp / BLiP) over TCP,
 * TCP+TLS and WebSocket: establishment with every scheme the profile has, the node the server
 * assigns, `/ping` and `set /presence`, messages both ways between two clients through the
 * server, and `finishing` answered with `finished`.
 */
import assert from "node:assert/strict";
import { ClientChannel, Command, Message } from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { tlsFixture } from "../tls_fixture.ts";
import {
  encryptionFor,
  type Login,
  openTransport,
  PROFILE_CASES,
  type Via,
  VIAS,
} from "./profile_cases.ts";
import { ScriptedServer } from "./scripted_server.ts";

const f = await tlsFixture();

async function establish(server: ScriptedServer, via: Via, login: Login, instance: string) {
  const transport = await openTransport(server, via);
  const channel = new ClientChannel(transport);
  const session = await within(
    channel.establishSession({
      identity: login.identity,
      instance,
      credentials: login.credentials,
      encryption: encryptionFor(via),
    }),
  );
  return { channel, transport, session };
}

for (const { profile, logins, assignsInstance } of PROFILE_CASES) {
  const name = profile().name;
  for (const via of VIAS) {
    const usable = logins.filter((login) => via === "tls" || !login.tlsOnly);
    Deno.test(
      `ClientChannel establishes with ${name} over ${via}: ${
        usable.map((l) => l.label).join(", ")
      }`,
      async () => {
        await using server = await ScriptedServer.start(profile(), {
          certificate: { cert: f.server.cert, key: f.server.key, ca: [f.ca] },
        });
        for (const login of usable) {
          const { channel, transport, session } = await establish(server, via, login, "home");
          const [identity, instance] = session.to!.split("/");
          const [user] = login.identity.split("@");
          assert.equal(identity, `${user}@localhost`, login.label);
          if (assignsInstance) assert.notEqual(instance, "home", "the server picks the instance");
          else assert.equal(instance, "home");
          assert.equal(channel.localNode, session.to, "the client uses the node it was given");
          assert.equal(channel.remoteNode, server.profile.node);
          assert.equal(transport.encryption, via === "tls" ? "tls" : "none");
          await within(channel.finish());
          assert.equal((await channel.closed).state, "finished", login.label);
        }
      },
    );

    Deno.test(`ClientChannel runs commands and messages both ways through ${name} over ${via}`, async () => {
      await using server = await ScriptedServer.start(profile(), {
        certificate: { cert: f.server.cert, key: f.server.key },
      });
      // Two clients of different schemes (the transport scheme is for the establishment test).
      const [first, second] = [usable[0], usable.filter((login) => !login.tlsOnly).at(-1)!];
      const a = await establish(server, via, first, "a");
      const b = await establish(server, via, second, "b");
      try {
        const ping = await within(a.channel.processCommand(new Command("get", "/ping")));
        assert.equal(ping.status, "success");
        assert.equal(ping.type, "application/vnd.lime.ping+json");
        await within(
          b.channel.setResource("/presence", "application/vnd.lime.presence+json", {
            status: "available",
            routingRule: "identity",
          }),
        );
        await a.channel.sendMessage(
          new Message("text/plain", "<b>hello</b> & b", {
            id: crypto.randomUUID(),
            to: b.session.to,
          }),
        );
        const received = await within(b.channel.receiveMessage());
        assert.equal(received.content, "<b>hello</b> & b");
        assert.equal(received.from, a.session.to);
        await b.channel.sendMessage(
          new Message("text/plain", "<i>hello</i> & a", {
            id: crypto.randomUUID(),
            to: received.from,
          }),
        );
        const answer = await within(a.channel.receiveMessage());
        assert.equal(answer.content, "<i>hello</i> & a");
        assert.equal(answer.from, b.session.to);
      } finally {
        await a.channel.finish().catch(() => {});
        await b.channel.finish().catch(() => {});
      }
    });
  }
}
