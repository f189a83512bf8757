/**
 * Establishment lockout: one address that opens connections and never establishes must not lock
 * everyone else out (per-address caps below the global ones, a short first-envelope timeout), and
 * forwarded headers count only when the operator says a proxy stands in front.
 */
import assert from "node:assert/strict";
import { guestCredentials, LimeServer, SERVER_DEFAULTS, WebSocketTransport } from "../../mod.ts";
import { ClientChannel } from "../../mod.ts";
import { TestServer } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { Bystander, RawPeer } from "./security_helpers.ts";
import { forwardedClientAddress } from "../../src/transport/forwarded.ts";

Deno.test("establishment: 1,000 silent sockets from one address cannot lock out other logins", async () => {
  await using t = await TestServer.start();
  const bystander = (await Bystander.start(t)).run();
  const attackers: RawPeer[] = [];
  try {
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      attackers.push(await RawPeer.connect(t.server.tcpAddress!, "127.0.0.2"));
    }
    // Past the per-address cap every connection is refused at once, with a reason.
    const perAddress = SERVER_DEFAULTS.maxEstablishingPerAddress;
    const refusals = await Promise.all(attackers.slice(perAddress).map((peer) => peer.next()));
    for (const refusal of refusals) {
      assert.notEqual(refusal, "closed");
      assert.deepEqual((refusal as { reason: unknown }).reason, {
        code: 11,
        description: "Too many connections from your address are establishing; try again later",
      });
    }
    const refusedIn = performance.now() - started;
    // Logins from elsewhere go through while the attacker holds its share.
    const logins: number[] = [];
    for (let i = 0; i < 20; i++) {
      const at = performance.now();
      const client = await t.login(`user${i}@localhost/x`);
      logins.push(performance.now() - at);
      await client.finish();
    }
    console.log(
      `lockout: ${attackers.length - perAddress} attacker connections refused in ${
        refusedIn.toFixed(0)
      } ms; 20 logins from another address took ≤ ${Math.max(...logins).toFixed(1)} ms each`,
    );
    assert.ok(Math.max(...logins) < 1000);
    // The silent ones that were let in are dropped by the first-envelope timeout (5 s).
    const silent = attackers.slice(0, perAddress);
    const timeouts = await within(Promise.all(silent.map((peer) => peer.next(8000))), 9000);
    for (const reason of timeouts.map((f) => (f as { reason: { code: number } }).reason)) {
      assert.equal(reason.code, 16);
    }
    const silentFor = performance.now() - started;
    assert.ok(silentFor >= 4500 && silentFor < 8000, `dropped after ${silentFor.toFixed(0)} ms`);
    await bystander.stop("lockout");
  } finally {
    await Promise.all(attackers.map((peer) => peer.close()));
  }
});

Deno.test("establishment: sessions per address are capped below the global cap", async () => {
  await using t = await TestServer.start({ maxSessionsPerAddress: 20 });
  const attackers: ClientChannel[] = [];
  for (let i = 0; i < 20; i++) attackers.push(await t.login(`bot${i}@localhost/x`));
  const refused = await t.connect();
  const error = await within(refused.establishSession({ identity: "bot20@localhost" }))
    .then(() => undefined, (caught) => caught);
  assert.equal(error?.reason?.description, "Too many sessions from your address");
  // Another address still gets in.
  const elsewhere = await RawPeer.connect(t.server.tcpAddress!, "127.0.0.3");
  try {
    elsewhere.write('{"state":"new"}');
    const offer = await elsewhere.next() as Record<string, unknown>;
    assert.equal(offer.state, "negotiating");
  } finally {
    await elsewhere.close();
  }
  // A closed session frees its slot.
  await attackers[0].finish();
  await t.login("bot20@localhost/x");
});

Deno.test("establishment: per-address caps must stay below the global caps", () => {
  assert.ok(SERVER_DEFAULTS.maxEstablishingPerAddress < SERVER_DEFAULTS.maxEstablishing);
  assert.ok(SERVER_DEFAULTS.maxSessionsPerAddress < SERVER_DEFAULTS.maxSessions);
  const store = { close() {} } as never;
  assert.throws(
    () => new LimeServer({ store, maxEstablishing: 10, maxEstablishingPerAddress: 10 }),
    RangeError,
  );
  assert.throws(
    () => new LimeServer({ store, maxSessions: 100, maxSessionsPerAddress: 200 }),
    RangeError,
  );
});

/** A WebSocket client that sends `X-Forwarded-For: address`. */
function forwardedFrom(address: string) {
  return new WebSocketTransport({
    createSocket: (url, protocol) =>
      new WebSocket(url, { protocols: [protocol], headers: { "x-forwarded-for": address } }),
  });
}

for (const trustProxy of [false, true]) {
  Deno.test(`establishment: X-Forwarded-For ${trustProxy ? "names the source address with trustProxy" : "is ignored by default"}`, async () => {
    // The default is what is tested when not trusting: trustProxy is left out, not false.
    await using t = await TestServer.start({
      ...(trustProxy ? { trustProxy } : {}),
      maxSessionsPerAddress: 3,
    });
    const clients: ClientChannel[] = [];
    const outcomes: string[] = [];
    try {
      // Four clients, each claiming another address.
      for (let i = 0; i < 4; i++) {
        const transport = forwardedFrom(`203.0.113.${i + 1}`);
        await transport.open(`ws://${t.server.websocketAddress}/`);
        const client = new ClientChannel(transport);
        clients.push(client);
        outcomes.push(
          await client.establishSession({
            identity: `x${i}@localhost`,
            credentials: guestCredentials(),
          })
            .then(() => "in", (error) => error.reason?.description ?? String(error)),
        );
      }
      if (trustProxy) {
        assert.deepEqual(outcomes, ["in", "in", "in", "in"]);
        const session = t.server.registry.byNode("x0@localhost/default");
        assert.equal(session?.source, "203.0.113.1");
      } else {
        assert.deepEqual(outcomes, ["in", "in", "in", "Too many sessions from your address"]);
        assert.equal(t.server.registry.byNode("x0@localhost/default")?.source, "127.0.0.1");
      }
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
}

Deno.test("establishment: with trustProxy, a client cannot pick its address by padding X-Forwarded-For", () => {
  // Review finding: an X-Forwarded-For over 4 KiB was ignored and the `Forwarded` header read
  // instead; a proxy that appends to X-Forwarded-For passes a client's own `Forwarded` on, so
  // the client chose its source address (any per-address cap, or loopback for plainWithoutTls).
  const padded = `${"10.0.0.1, ".repeat(600)}10.0.0.2`;
  const headers = new Headers({
    "x-forwarded-for": `${padded}, 198.51.100.7`, // the proxy appended the last entry
    "forwarded": "for=127.0.0.1",
  });
  assert.equal(forwardedClientAddress(headers), "198.51.100.7");
  // An unusable right-most entry gives no address (the connection's own counts), never another.
  assert.equal(
    forwardedClientAddress(new Headers({ "x-forwarded-for": "junk", "forwarded": "for=1.2.3.4" })),
    undefined,
  );
  // Without X-Forwarded-For, the right-most `for=` of Forwarded.
  assert.equal(
    forwardedClientAddress(new Headers({ forwarded: 'for=1.2.3.4, for="[2001:db8::1]:4711"' })),
    "2001:db8::1",
  );
});

Deno.test("establishment: silent connections to the WebSocket port are capped per address before the upgrade", async () => {
  await using t = await TestServer.start();
  const bystander = (await Bystander.start(t, "ws")).run();
  const peers: RawPeer[] = [];
  const answers: string[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const peer = await RawPeer.connect(t.server.websocketAddress!, "127.0.0.2");
      peer.socket.removeAllListeners("data");
      peer.socket.on("data", (chunk: Uint8Array) => answers.push(new TextDecoder().decode(chunk)));
      peers.push(peer);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = answers.filter((a) => a.startsWith("HTTP/1.1 503")).length;
    assert.equal(refused, 100 - SERVER_DEFAULTS.maxEstablishingPerAddress);
    // Another address upgrades and establishes at once.
    await t.login("other@localhost/ws", { via: "ws" });
    await bystander.stop("WebSocket upgrades held open");
  } finally {
    await Promise.all(peers.map((peer) => peer.close()));
  }
});
