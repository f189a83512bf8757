/**
 * LimeClient against each scripted server profile over TCP, TCP+TLS and WebSocket: two clients
 * exchange messages through the server, the server stops (saying goodbye as its profile does:
 * lime-go `finished`, lime-csharp `failed` 11) and starts again on the same ports, both clients
 * reconnect by themselves, take the node the server assigns this time, and exchange messages again.
 */
import assert from "node:assert/strict";
import { LimeClient, Message } from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { tlsFixture } from "../tls_fixture.ts";
import { encryptionFor, PROFILE_CASES, VIAS } from "./profile_cases.ts";
import { ScriptedServer } from "./scripted_server.ts";

const f = await tlsFixture();

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
};

for (const { profile, logins, assignsInstance } of PROFILE_CASES) {
  const name = profile().name;
  for (const via of VIAS) {
    Deno.test(`LimeClient reconnects to ${name} over ${via} after a restart and keeps messaging`, async () => {
      await using server = await ScriptedServer.start(profile(), {
        certificate: { cert: f.server.cert, key: f.server.key },
      });
      const [one, two] = logins.filter((login) => !login.tlsOnly).slice(-2);
      const client = (login: typeof one, instance: string) =>
        new LimeClient({
          uri: via === "ws" ? server.wsUri : server.tcpUri,
          identity: login.identity,
          instance,
          credentials: login.credentials,
          encryption: encryptionFor(via),
          tls: { caCerts: [f.ca] },
          reconnect: { initialDelay: 20, maxDelay: 100 },
          presence: { status: "available", routingRule: "identity" },
          receipts: ["received"],
        });
      await using alice = client(one, "a");
      await using bob = client(two, "b");
      const inbox = { alice: [] as Message[], bob: [] as Message[] };
      alice.onMessage((message) => inbox.alice.push(message));
      bob.onMessage((message) => inbox.bob.push(message));
      const exchange = async (round: string) => {
        const to = (login: typeof one) => login.identity.replace(/@.*/, "@localhost");
        await alice.sendMessage(
          new Message("text/plain", `${round} to bob`, { id: crypto.randomUUID(), to: to(two) }),
        );
        await bob.sendMessage(
          new Message("text/plain", `${round} to alice`, { id: crypto.randomUUID(), to: to(one) }),
        );
        await within(
          until(() =>
            inbox.bob.some((m) => m.content === `${round} to bob`) &&
            inbox.alice.some((m) => m.content === `${round} to alice`)
          ),
          5000,
          `the ${round} messages`,
        );
        // Each side's receipt reached the other through the server.
        await within(
          until(() => alice.unconfirmed === 0 && bob.unconfirmed === 0),
          5000,
          "receipts",
        );
        assert.equal(inbox.bob.find((m) => m.content === `${round} to bob`)!.from, alice.node);
      };

      await within(Promise.all([alice.start(), bob.start()]), 5000, "starting");
      const before = alice.node!;
      assert.equal(before.split("/")[1] === "a", !assignsInstance, before);
      await exchange("first");

      await server.stop();
      await within(until(() => alice.status.state !== "established"), 5000, "noticing the stop");
      await server.start();
      await within(
        until(() => alice.status.state === "established" && bob.status.state === "established"),
        5000,
        "reconnecting",
      );
      if (assignsInstance) assert.notEqual(alice.node, before, "a new instance from the server");
      else assert.equal(alice.node, before);
      await exchange("second");
    });
  }
}
