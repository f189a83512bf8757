/**
 * LimeServer accounts and authentication over real sockets on 127.0.0.1: in-band registration
 * through `/account` (stored as a PBKDF2 hash only), the guest rule, password changes, the
 * `key`, `transport` (TLS client certificate), `external` and `plain` schemes, and where `plain`
 * may travel without TLS.
 */
import assert from "node:assert/strict";
import {
  encodeBase64Text,
  externalCredentials,
  type ExternalTokenVerifier,
  guestCredentials,
  keyCredentials,
  LimeError,
  plainCredentials,
  transportCredentials,
  verifyPassword,
} from "../mod.ts";
import { within } from "./tcp_helpers.ts";
import { tlsFixture } from "./tls_fixture.ts";
import { ACCOUNT, commandFailure, TestServer } from "./server_test_helpers.ts";

const AUTH_FAILED = { code: 13, description: "The session authentication failed" };

Deno.test("LimeServer in-band registration: a guest sets /account, then logs in with plain; only a PBKDF2 hash is stored", async () => {
  await using t = await TestServer.start();
  const guest = await t.login("dave@localhost/setup", { credentials: guestCredentials() });
  assert.deepEqual(
    await commandFailure(guest.setResource("/account", ACCOUNT, { fullName: "Dave" })),
    { code: 64, description: "A new account needs a password" },
  );
  assert.equal(
    await within(
      guest.setResource("/account", ACCOUNT, {
        fullName: "Dave",
        password: encodeBase64Text("s3cret pass"),
      }),
    ),
    undefined,
  );
  await within(guest.finish());

  const stored = await t.store.getAccount("dave@localhost");
  assert.ok(stored);
  assert.equal(stored.identity, "dave@localhost");
  assert.deepEqual(stored.document, { fullName: "Dave" });
  assert.equal(stored.keyHash, undefined);
  const hash = stored.passwordHash!;
  assert.equal(hash.algorithm, "PBKDF2-SHA256");
  assert.equal(hash.iterations, 1000);
  assert.equal(atob(hash.salt).length, 16);
  assert.equal(atob(hash.hash).length, 32);
  const record = JSON.stringify(stored);
  assert.ok(!record.includes("s3cret"), record);
  assert.ok(!record.includes(encodeBase64Text("s3cret pass")), record);
  assert.ok(!record.includes('password"'), "no password field besides passwordHash");
  assert.equal(await verifyPassword("s3cret pass", hash), true);

  const dave = await t.login("dave@localhost/phone", {
    credentials: plainCredentials("s3cret pass"),
  });
  assert.equal(t.server.registry.byNode("dave@localhost/phone")?.guest, false);
  assert.deepEqual(await within(dave.getResource("/account")), {
    fullName: "Dave",
    identity: "dave@localhost",
  });
  await t.refused("dave@localhost/laptop", { credentials: plainCredentials("wrong") });
});

Deno.test("LimeServer refuses a wrong password with 13 and the session ends failed", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "secret");
  const client = await t.connect();
  const error = await within(
    client.establishSession({ identity: "alice@localhost", credentials: plainCredentials("nope") }),
  ).then(() => undefined, (caught) => caught);
  assert.ok(error instanceof LimeError);
  assert.deepEqual(error.reason, AUTH_FAILED);
  assert.deepEqual(await within(client.closed), { state: "failed", reason: AUTH_FAILED });
  assert.equal(t.server.registry.size, 0);
});

Deno.test("LimeServer refuses a guest the identity of an existing account with 13", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "secret");
  await t.refused("alice@localhost/x", { credentials: guestCredentials() });
  await t.refused("ALICE@localhost/x", { credentials: guestCredentials(), via: "ws" });
  // Another identity is still free for guests; a guest of a foreign domain is not.
  await t.login("zed@localhost/x", { credentials: guestCredentials() });
  await t.refused("zed@example.org/x", { credentials: guestCredentials() });
});

Deno.test("LimeServer with guest false refuses the guest scheme", async () => {
  await using t = await TestServer.start({ guest: false });
  const client = await t.connect();
  let offered: readonly string[] = [];
  const error = await within(
    client.establishSession({
      identity: "zed@localhost",
      authenticator: (schemes) => (offered = schemes, guestCredentials()),
    }),
  ).then(() => undefined, (caught) => caught);
  assert.deepEqual(offered, ["plain", "key"]);
  assert.ok(error instanceof LimeError);
  assert.equal(error.code, 11, "a scheme that was not offered ends the establishment");
});

Deno.test("LimeServer changes a password only with the current one in oldPassword", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "old-pass");
  const alice = await t.login("alice@localhost/a", { credentials: plainCredentials("old-pass") });
  const needsOld = {
    code: 64,
    description:
      "Changing the password or the access key needs the current password in oldPassword",
  };
  assert.deepEqual(
    await commandFailure(
      alice.setResource("/account", ACCOUNT, { password: encodeBase64Text("new-pass") }),
    ),
    needsOld,
  );
  assert.deepEqual(
    await commandFailure(
      alice.setResource("/account", ACCOUNT, {
        password: encodeBase64Text("new-pass"),
        oldPassword: encodeBase64Text("not-it"),
      }),
    ),
    needsOld,
  );
  await t.login("alice@localhost/b", { credentials: plainCredentials("old-pass") });
  await within(
    alice.setResource("/account", ACCOUNT, {
      password: encodeBase64Text("new-pass"),
      oldPassword: encodeBase64Text("old-pass"),
      fullName: "Alice",
    }),
  );
  await t.refused("alice@localhost/c", { credentials: plainCredentials("old-pass") });
  await t.login("alice@localhost/c", { credentials: plainCredentials("new-pass") });
  const stored = await t.store.getAccount("alice@localhost");
  assert.deepEqual(stored?.document, { fullName: "Alice" });
  assert.ok(!JSON.stringify(stored).includes("new-pass"));
  assert.ok(!JSON.stringify(stored).includes("old-pass"));
  assert.ok(!JSON.stringify(stored).includes(encodeBase64Text("new-pass")));
});

Deno.test("LimeServer accepts the key scheme once accessKey is set", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "secret");
  await t.refused("alice@localhost/k", { credentials: keyCredentials("k3y") });
  const alice = await t.login("alice@localhost/a", { credentials: plainCredentials("secret") });
  await within(
    alice.mergeResource("/account", ACCOUNT, {
      accessKey: encodeBase64Text("k3y"),
      oldPassword: encodeBase64Text("secret"),
    }),
  );
  const stored = await t.store.getAccount("alice@localhost");
  assert.equal(stored?.keyHash?.algorithm, "PBKDF2-SHA256");
  assert.ok(!JSON.stringify(stored).includes(encodeBase64Text("k3y")));
  assert.equal(await verifyPassword("k3y", stored!.keyHash!), true);

  await t.login("alice@localhost/k", { credentials: keyCredentials("k3y"), via: "ws" });
  await t.refused("alice@localhost/k2", { credentials: keyCredentials("other") });
  // The password still works: the key is an additional secret.
  await t.login("alice@localhost/p", { credentials: plainCredentials("secret") });
});

Deno.test("LimeServer transport scheme: the TLS client certificate gives the role (bob@localhost member by CN, alice@localhost unknown because the SAN wins)", async () => {
  const f = await tlsFixture();
  const tls = { cert: f.server.cert, key: f.server.key, caCerts: [f.ca] };
  await using t = await TestServer.start({ tcp: { hostname: "127.0.0.1", port: 0, tls } });
  const client = (certificate: { cert: string; key: string }) => ({
    credentials: transportCredentials(),
    tcp: { tls: { caCerts: [f.ca], ...certificate } },
  });
  const bob = await t.login("bob@localhost/cert", client(f.chainClient));
  assert.equal(bob.transport.encryption, "tls");
  const session = t.server.registry.byNode("bob@localhost/cert");
  assert.equal(session?.domainRole, "member");
  assert.equal(session?.guest, false);
  assert.equal(session?.channel.transport.encryption, "tls");

  await t.refused("alice@localhost/cert", client(f.client));
  await t.refused("mallory@localhost/cert", client(f.otherClient));
  // Without a certificate the scheme has nothing to go on: it is not offered.
  await t.notOffered("bob@localhost/none", {
    credentials: transportCredentials(),
    tcp: { tls: { caCerts: [f.ca] } },
  });
});

Deno.test("LimeServer transport scheme: the SAN alice.localhost makes an identity of domain alice.localhost an authority", async () => {
  const f = await tlsFixture();
  const tls = { cert: f.server.cert, key: f.server.key, caCerts: [f.ca] };
  await using t = await TestServer.start({
    domain: "alice.localhost",
    tcp: { hostname: "127.0.0.1", port: 0, tls },
    websocket: false,
  });
  const how = {
    credentials: transportCredentials(),
    tcp: { tls: { caCerts: [f.ca], serverName: "localhost", ...f.client } },
  };
  await t.login("alice@alice.localhost/cert", how);
  assert.equal(t.server.registry.byNode("alice@alice.localhost/cert")?.domainRole, "authority");
  // The identity must be in the server's domain even when the certificate would vouch for it.
  await t.refused("alice@localhost/cert", how);
});

Deno.test("LimeServer external scheme: the externalVerifier decides, and without one the scheme is not offered", async () => {
  const calls: unknown[] = [];
  const verifier: ExternalTokenVerifier = (token, issuer, identity) => {
    calls.push([token, issuer, identity]);
    return Promise.resolve(
      token === "good-token" && issuer === "issuer.example" ? "member" : "unknown",
    );
  };
  {
    await using t = await TestServer.start({ externalVerifier: verifier });
    const client = await t.login("erin@localhost/e", {
      credentials: externalCredentials("good-token", "issuer.example"),
      via: "ws",
    });
    assert.ok(client.isEstablished);
    await t.refused("erin@localhost/f", {
      credentials: externalCredentials("bad-token", "issuer.example"),
    });
    await t.refused("erin@localhost/g", {
      credentials: externalCredentials("good-token", "elsewhere.example"),
    });
    assert.deepEqual(calls, [
      ["good-token", "issuer.example", "erin@localhost"],
      ["bad-token", "issuer.example", "erin@localhost"],
      ["good-token", "elsewhere.example", "erin@localhost"],
    ]);
  }
  {
    await using t = await TestServer.start();
    const client = await t.connect();
    let offered: readonly string[] = [];
    const error = await within(
      client.establishSession({
        identity: "erin@localhost",
        authenticator: (schemes) => (
          offered = schemes, externalCredentials("good-token", "issuer.example")
        ),
      }),
    ).then(() => undefined, (caught) => caught);
    assert.deepEqual(offered, ["guest", "plain", "key"]);
    assert.ok(error instanceof LimeError);
    assert.equal(error.code, 11, "a scheme that was not offered ends the establishment");
    assert.equal(calls.length, 3);
  }
});

Deno.test("LimeServer accepts plain without TLS from loopback by default and refuses it with plainWithoutTls nowhere", async () => {
  {
    await using t = await TestServer.start();
    await t.addAccount("alice@localhost", "secret");
    const tcp = await t.login("alice@localhost/tcp", { credentials: plainCredentials("secret") });
    assert.equal(tcp.transport.encryption, "none");
    await t.login("alice@localhost/ws", { credentials: plainCredentials("secret"), via: "ws" });
  }
  const f = await tlsFixture();
  await using t = await TestServer.start({
    plainWithoutTls: "nowhere",
    tcp: {
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: f.server.cert, key: f.server.key, caCerts: [f.ca] },
    },
  });
  await t.addAccount("alice@localhost", "secret");
  const clear = { encryption: "none" as const };
  const plain = plainCredentials("secret");
  // TLS offered but declined: plain is not even offered, so no password crosses the wire.
  const client = await t.connect({ tcp: { tls: { caCerts: [f.ca] } } });
  let offered: readonly string[] = [];
  const error = await within(
    client.establishSession({
      identity: "alice@localhost",
      ...clear,
      authenticator: (schemes) => {
        offered = schemes;
        throw new LimeError({ code: 13, description: "plain not offered" });
      },
    }),
  ).then(() => undefined, (caught) => caught);
  assert.ok(error instanceof LimeError);
  assert.deepEqual(offered, ["guest"]);
  assert.deepEqual(
    await t.notOffered("alice@localhost/ws", { credentials: plain, via: "ws" }),
    ["guest"],
  );
  await t.notOffered("alice@localhost/key", { credentials: keyCredentials("any"), via: "ws" });
  // Over TLS it is fine.
  const secure = await t.login("alice@localhost/tls", {
    credentials: plain,
    tcp: { tls: { caCerts: [f.ca] } },
  });
  assert.equal(secure.transport.encryption, "tls");
});
