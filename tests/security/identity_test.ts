/**
 * Identity attacks: nobody becomes someone else. Each test performs the attack that succeeded
 * against the server before these rules (README, "Security model") and asserts that it fails.
 */
import assert from "node:assert/strict";
import {
  type AccountStore,
  type ClientChannel,
  Command,
  encodeBase64Text,
  externalCredentials,
  guestCredentials,
  KvAccountStore,
  LimeError,
  Message,
  plainCredentials,
  type StoredAccount,
} from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import {
  ACCOUNT,
  commandFailure,
  connect,
  CONTACT,
  json,
  nextMessage,
  startServer,
  TestServer,
} from "../server_test_helpers.ts";

const OWNED = (identity: string) => ({
  code: 13,
  description: `A guest cannot use "${identity}": the identity is owned`,
});
const NOW_OWNED = (identity: string) => ({
  code: 13,
  description: `"${identity}" now belongs to an account: sign in with its credentials`,
});

/** Resolves when `client` ended, with how. */
const ended = (client: ClientChannel) => within(client.closed, 5000, "the session's end");

Deno.test("identity: nobody signs in as the server's own postmaster, with any scheme or instance", async () => {
  await using t = await TestServer.start();
  const reserved = { code: 13, description: 'The identity "postmaster@localhost" is reserved' };
  for (
    const node of [
      "postmaster@localhost/server",
      "postmaster@localhost/x",
      "PostMaster@LOCALHOST/y",
    ]
  ) {
    const client = await t.connect();
    const error = await within(
      client.establishSession({
        identity: node.split("/")[0],
        instance: node.split("/")[1],
        credentials: guestCredentials(),
      }),
    ).then(() => undefined, (caught) => caught);
    assert.ok(error instanceof LimeError, String(error));
    assert.deepEqual(error.reason, {
      ...reserved,
      description: `The identity "${node.split("/")[0]}" is reserved`,
    });
  }
  // Even with an account an operator created by mistake, and the right password.
  await t.addAccount("postmaster@localhost", "pw");
  await t.refused("postmaster@localhost/admin", { credentials: plainCredentials("pw") });
  // Configured names are reserved the same way.
  await using u = await TestServer.start({ reservedNames: ["admin"] });
  await u.refused("admin@localhost/x", { credentials: guestCredentials() });
  assert.equal(u.server.registry.size, 0);
});

Deno.test("identity: a guest proposing 'localhost/phone' is judged as localhost@localhost, the node it would get", async () => {
  await using t = await TestServer.start();
  await t.addAccount("localhost@localhost", "owner-pw");
  // The attack while nobody is signed in (the account alone must refuse it): a guest whose
  // `from` has no domain used to be authenticated as "localhost" (no account) and registered as
  // localhost@localhost/phone.
  const early = await t.connect();
  const refusal = await within(
    early.establishSession({ identity: "localhost", instance: "phone" }),
  ).then(() => undefined, (caught) => caught);
  assert.ok(refusal instanceof LimeError, String(refusal));
  assert.deepEqual(refusal.reason, OWNED("localhost@localhost"));
  assert.equal(t.server.registry.size, 0);
  const owner = await t.login("localhost@localhost/desk", {
    credentials: plainCredentials("owner-pw"),
  });
  // The attack: a guest whose `from` has no domain. It used to be authenticated as "localhost"
  // (no account) and registered as localhost@localhost/phone.
  const raw = await t.connect();
  const error = await within(
    raw.establishSession({ identity: "localhost", instance: "phone" }),
  ).then(() => undefined, (caught) => caught);
  assert.ok(error instanceof LimeError, String(error));
  assert.deepEqual(error.reason, OWNED("localhost@localhost"));
  assert.equal(t.server.registry.byNode("localhost@localhost/phone"), undefined);
  // The owner, with the same short form and the right password, gets exactly that node.
  const phone = await t.connect();
  const established = await within(
    phone.establishSession({
      identity: "localhost",
      instance: "phone",
      credentials: plainCredentials("owner-pw"),
    }),
  );
  assert.equal(established.to, "localhost@localhost/phone");
  assert.equal(owner.state, "established");
});

Deno.test("identity: a guest is refused an identity with an account, and one held by an external or transport session", async () => {
  const verifier = (token: string) =>
    token === "erin-token" ? "member" as const : "unknown" as const;
  await using t = await TestServer.start({ externalVerifier: verifier });
  await t.addAccount("alice@localhost", "pw");
  await t.refused("alice@localhost/x", { credentials: guestCredentials() });
  // Erin has no account: the external verifier vouches for her.
  const erin = await t.login("erin@localhost/e", {
    credentials: externalCredentials("erin-token", "issuer"),
  });
  const bob = await t.login("bob@localhost/b");
  for (const node of ["erin@localhost/e", "erin@localhost/other"]) {
    const client = await t.connect();
    const error = await within(
      client.establishSession({ identity: "erin@localhost", instance: node.split("/")[1] }),
    ).then(() => undefined, (caught) => caught);
    assert.ok(error instanceof LimeError);
    assert.deepEqual(error.reason, OWNED("erin@localhost"));
  }
  // Erin was not replaced and still gets her messages.
  await bob.sendMessage(new Message("text/plain", "still yours", { to: "erin@localhost" }));
  assert.equal((await nextMessage(erin) as { content: string }).content, "still yours");
  assert.equal(t.server.registry.byIdentity("erin@localhost").length, 1);
});

Deno.test("identity: a guest never replaces a live session, not even another guest's node", async () => {
  await using t = await TestServer.start();
  const first = await t.login("gina@localhost/home");
  const bob = await t.login("bob@localhost/b");
  await t.refused("gina@localhost/home", { credentials: guestCredentials() }, 12);
  await bob.sendMessage(new Message("text/plain", "for the first", { to: "gina@localhost/home" }));
  assert.equal((await nextMessage(first) as { content: string }).content, "for the first");
  // A signed-in session does replace its own node (a reconnecting client is back at once).
  await t.addAccount("alice@localhost", "pw");
  const credentials = plainCredentials("pw");
  const old = await t.login("alice@localhost/home", { credentials });
  await t.login("alice@localhost/home", { credentials, via: "ws" });
  assert.equal((await ended(old)).reason?.code, 11);
});

Deno.test("identity: an owner signing in ends the guests that held the name, and their roster goes", async () => {
  const verifier = () => "member" as const;
  await using t = await TestServer.start({ externalVerifier: verifier });
  const guest = await t.login("zed@localhost/g");
  await within(guest.setResource("/contacts", CONTACT, { identity: "spy@localhost" }));
  const owner = await t.login("zed@localhost/o", {
    credentials: externalCredentials("any", "issuer"),
  });
  assert.deepEqual((await ended(guest)).reason, NOW_OWNED("zed@localhost"));
  assert.deepEqual(await within(owner.getResource("/contacts")), {
    itemType: CONTACT,
    total: 0,
    items: [],
  });
  // The guest roster went with it (the owner's roster above is the store's): once the owner
  // leaves, the next guest of the name finds nothing.
  await owner.finish();
  const next = await t.login("zed@localhost/g2");
  assert.equal((await within(next.getResource("/contacts")) as { total: number }).total, 0);
});

Deno.test("identity: creating an account ends every guest session of the identity; nothing they kept survives", async () => {
  await using t = await TestServer.start();
  const bob = await t.login("bob@localhost/b");
  const squatter = await t.login("alice@localhost/squat");
  await within(squatter.setResource("/contacts", CONTACT, { identity: "eve@localhost" }));
  const registrant = await t.login("alice@localhost/reg");
  // The registrant gets its success response, then both guest sessions end.
  await within(
    registrant.setResource("/account", ACCOUNT, {
      fullName: "Alice",
      password: encodeBase64Text("alice-pw"),
    }),
  );
  assert.deepEqual((await ended(squatter)).reason, NOW_OWNED("alice@localhost"));
  assert.deepEqual((await ended(registrant)).reason, NOW_OWNED("alice@localhost"));
  assert.equal(t.server.registry.byIdentity("alice@localhost").length, 0);
  // Messages for alice no longer reach the squatter; the owner signs in and sees a fresh account.
  const message = new Message("text/plain", "hi", { id: "m1", to: "alice@localhost" });
  await bob.sendMessage(message);
  const failed = json(await within(bob.receiveNotification())) as Record<string, unknown>;
  assert.equal(failed.event, "failed");
  assert.equal((failed.reason as { code: number }).code, 42);
  const alice = await t.login("alice@localhost/home", {
    credentials: plainCredentials("alice-pw"),
  });
  assert.deepEqual(await within(alice.getResource("/contacts")), {
    itemType: CONTACT,
    total: 0,
    items: [],
  });
  assert.deepEqual(await within(alice.getResource("/account")), {
    fullName: "Alice",
    identity: "alice@localhost",
  });
  // And a guest can no longer claim the name.
  await t.refused("alice@localhost/again", { credentials: guestCredentials() });
});

Deno.test("identity: guest rosters stay out of the account store and die with the guest's last session", async () => {
  await using t = await TestServer.start();
  const guest = await t.login("gus@localhost/a");
  const twin = await t.login("gus@localhost/b");
  await within(guest.setResource("/contacts", CONTACT, { identity: "pal@localhost" }));
  assert.equal((await within(twin.getResource("/contacts")) as { total: number }).total, 1);
  assert.deepEqual(await t.store.listContacts("gus@localhost"), []);
  await guest.finish();
  assert.equal((await within(twin.getResource("/contacts")) as { total: number }).total, 1);
  await twin.finish();
  const next = await t.login("gus@localhost/c");
  assert.deepEqual(await within(next.getResource("/contacts")), {
    itemType: CONTACT,
    total: 0,
    items: [],
  });
  // Nor can a guest read an account's document.
  assert.equal((await commandFailure(next.getResource("/account")) as { code: number }).code, 67);
});

Deno.test("identity: a new account starts with an empty roster even when an older version left contacts in the store", async () => {
  await using t = await TestServer.start();
  await t.store.putContact("old@localhost", { identity: "leftover@localhost" });
  const guest = await t.login("old@localhost/g");
  await within(
    guest.setResource("/account", ACCOUNT, { password: encodeBase64Text("pw") }),
  );
  await ended(guest);
  assert.deepEqual(await t.store.listContacts("old@localhost"), []);
});

/**
 * A store in front of a memory one whose reads of `race@localhost` wait while it is held, noting
 * what the server's registry held for the identity at each read.
 */
async function heldStore() {
  let registered = () => 0;
  const inner = await KvAccountStore.open(":memory:");
  const reads: number[] = [];
  let gate: Promise<void> | undefined;
  let open = () => {};
  const store: AccountStore = {
    getAccount: async (identity: string): Promise<StoredAccount | undefined> => {
      if (identity === "race@localhost") {
        reads.push(registered());
        await gate;
      }
      return await inner.getAccount(identity);
    },
    createAccount: (account) => inner.createAccount(account),
    updateAccount: (account) => inner.updateAccount(account),
    listContacts: (owner) => inner.listContacts(owner),
    getContact: (owner, identity) => inner.getContact(owner, identity),
    putContact: (owner, contact) => inner.putContact(owner, contact),
    deleteContact: (owner, identity) => inner.deleteContact(owner, identity),
    close: () => inner.close(),
  };
  return {
    inner,
    store,
    reads,
    /** Says how many sessions of the identity the registry holds (noted at each read). */
    counting: (count: () => number) => void (registered = count),
    /** Makes the reads to come wait. */
    hold: () => void (gate = new Promise<void>((resolve) => open = resolve)),
    /** Lets the waiting reads go on. */
    release: () => {
      gate = undefined;
      open();
    },
    /** Resolves once `count` reads were made. */
    async readsReach(count: number): Promise<void> {
      while (reads.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
}

Deno.test("identity: a guest let in while the account is being created is refused before it is established", async () => {
  // The window between a guest's check and its registration: the account is created while the
  // guest's read waits. The one read comes after the registration, so it sees the account (an
  // account created after the read ends the guest through `ownerArrived` instead).
  const held = await heldStore();
  const server = await startServer(held.store as KvAccountStore);
  held.counting(() => server.registry.byIdentity("race@localhost").length);
  try {
    held.hold();
    const client = await within(connect(server.tcpAddress!));
    const establishing = client.establishSession({ identity: "race@localhost", instance: "g" })
      .then(() => undefined, (caught) => caught);
    await within(held.readsReach(1));
    await held.inner.createAccount({ identity: "race@localhost", document: {} });
    // Sent to its node meanwhile: held, then failed as for an unknown node once it is refused.
    const bob = await within(connect(server.tcpAddress!));
    await within(bob.establishSession({ identity: "bob@localhost", instance: "b" }));
    await bob.sendMessage(new Message("text/plain", "early", { id: "m1", to: "race@localhost/g" }));
    held.release();
    const failed = json(await within(bob.receiveNotification())) as Record<string, unknown>;
    assert.equal(failed.id, "m1");
    assert.equal((failed.reason as { code: number }).code, 42);
    const error = await within(establishing);
    assert.ok(error instanceof LimeError, `established: ${error}`);
    assert.deepEqual(error.reason, OWNED("race@localhost"));
    // One read, made once the guest was registered; nothing of it stays.
    assert.deepEqual(held.reads, [1]);
    assert.equal(server.registry.byIdentity("race@localhost").length, 0);
  } finally {
    await server.shutdown();
    held.inner.close();
  }
});

Deno.test("identity: a guest still being let in gets no identity traffic, and what is sent to its node waits for it", async () => {
  const held = await heldStore();
  const server = await startServer(held.store as KvAccountStore);
  held.counting(() => server.registry.byIdentity("race@localhost").length);
  try {
    const first = await within(connect(server.tcpAddress!));
    await within(first.establishSession({ identity: "race@localhost", instance: "a" }));
    const bob = await within(connect(server.tcpAddress!));
    await within(bob.establishSession({ identity: "bob@localhost", instance: "b" }));
    // A second guest of the identity, held while the store is read: registered, not established.
    held.hold();
    const second = await within(connect(server.tcpAddress!));
    const establishing = second.establishSession({ identity: "race@localhost", instance: "b" });
    await within(held.readsReach(2));
    assert.deepEqual(held.reads, [1, 2]);
    // Sent to the identity: only the established session gets it, and no `failed` comes back.
    await bob.sendMessage(new Message("text/plain", "hi", { id: "m1", to: "race@localhost" }));
    assert.equal((await nextMessage(first) as { content: string }).content, "hi");
    // Sent to the node being let in: held until it is established, then delivered (a command
    // too: the guest's channel answers the ping).
    await bob.sendMessage(new Message("text/plain", "early", { id: "m2", to: "race@localhost/b" }));
    const pinged = bob.processCommand(
      new Command("get", "/ping", { id: "c1", to: "race@localhost/b" }),
    );
    held.release();
    await within(establishing);
    assert.equal((await nextMessage(second) as { content: string }).content, "early");
    assert.equal((await within(pinged)).status, "success");
    await bob.sendMessage(new Message("text/plain", "both", { to: "race@localhost" }));
    assert.equal((await nextMessage(first) as { content: string }).content, "both");
    assert.equal((await nextMessage(second) as { content: string }).content, "both");
    // No receipt came for any of it (only `failed` is sent unasked).
    const receipt = await within(bob.receiveNotification(), 300).then(json, () => undefined);
    assert.equal(receipt, undefined, `a receipt: ${JSON.stringify(receipt)}`);
  } finally {
    await server.shutdown();
    held.inner.close();
  }
});

Deno.test("identity: an owner arriving while a guest's store read waits ends that guest, once", async () => {
  const held = await heldStore();
  const server = await startServer(held.store as KvAccountStore, {
    externalVerifier: () => "member" as const,
  });
  held.counting(() => server.registry.byIdentity("race@localhost").length);
  try {
    held.hold();
    const guest = await within(connect(server.tcpAddress!));
    const establishing = guest.establishSession({ identity: "race@localhost", instance: "g" })
      .then(() => undefined, (caught) => caught);
    await within(held.readsReach(1));
    const owner = await within(connect(server.tcpAddress!));
    await within(owner.establishSession({
      identity: "race@localhost",
      instance: "o",
      credentials: externalCredentials("any", "issuer"),
    }));
    const error = await within(establishing);
    assert.ok(error instanceof LimeError, `established: ${error}`);
    assert.deepEqual(error.reason, NOW_OWNED("race@localhost"));
    held.release();
    // The read that comes back finds the guest gone: the owner alone stays, served.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(
      server.registry.byIdentity("race@localhost").map((session) => session.node),
      ["race@localhost/o"],
    );
    assert.equal(owner.state, "established");
  } finally {
    await server.shutdown();
    held.inner.close();
  }
});

Deno.test("identity: a guest that proposes no name gets a fresh one", async () => {
  await using t = await TestServer.start();
  const client = await t.connect();
  // `@localhost/tab` names only the domain and the instance.
  const established = await within(
    client.establishSession({ identity: "@localhost", instance: "tab" }),
  );
  assert.match(established.to!, /^[0-9a-f-]{36}@localhost\/tab$/);
  // Plain needs a name.
  await t.refused("@localhost/x", { credentials: plainCredentials("pw") });
});

Deno.test("identity: from and pp may name only the sender's own identity (any instance)", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "pw");
  const credentials = plainCredentials("pw");
  const alice = await t.login("alice@localhost/phone", { credentials });
  const bob = await t.login("bob@localhost/b");
  await alice.sendMessage(
    new Message("text/plain", "on behalf of my laptop", {
      to: "bob@localhost/b",
      from: "alice@localhost/laptop",
      pp: "alice@localhost/laptop",
    }),
  );
  const received = await nextMessage(bob) as Record<string, unknown>;
  assert.equal(received.from, "alice@localhost/phone", "from is the sender's exact node");
  assert.equal(received.pp, "alice@localhost/laptop", "pp is passed on");
  for (const claim of [{ pp: "carol@localhost/x" }, { from: "carol@localhost" }]) {
    await alice.sendMessage(
      new Message("text/plain", "spoof", { id: "s", to: "bob@localhost/b", ...claim }),
    );
    const refusal = json(await within(alice.receiveNotification())) as Record<string, unknown>;
    assert.equal((refusal.reason as { code: number }).code, 32);
  }
});

Deno.test("identity: changing the access key needs the current password, like changing the password", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "pw");
  const alice = await t.login("alice@localhost/a", { credentials: plainCredentials("pw") });
  // Someone at an unlocked session cannot add a key of their own to keep access.
  for (const oldPassword of [undefined, encodeBase64Text("wrong")]) {
    const reason = await commandFailure(
      alice.mergeResource("/account", ACCOUNT, {
        accessKey: encodeBase64Text("backdoor"),
        ...(oldPassword ? { oldPassword } : {}),
      }),
    ) as { code: number };
    assert.equal(reason.code, 64);
  }
  assert.equal((await t.store.getAccount("alice@localhost"))?.keyHash, undefined);
});

Deno.test("identity: a message with an id addressed to the server is answered with failed, not silence", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a");
  for (const to of [undefined, "postmaster@localhost", "localhost"]) {
    await alice.sendMessage(new Message("text/plain", "hi server", { id: `m-${to}`, to }));
    const notification = json(await within(alice.receiveNotification())) as Record<string, unknown>;
    assert.equal(notification.event, "failed");
    assert.equal(notification.id, `m-${to}`);
    assert.equal((notification.reason as { code: number }).code, 61);
  }
});

Deno.test("identity: a command response from someone the request did not go to completes nothing", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a");
  const bob = await t.login("bob@localhost/b", { channel: { autoReplyPings: false } });
  const mallory = await t.login("mallory@localhost/m");
  const requests: Command[] = [];
  bob.onCommand((command) => void requests.push(command));
  const request = new Command("get", "/ping", { id: "guessable-1", to: "bob@localhost/b" });
  const answer = alice.processCommand(request, { timeout: 3000 });
  // Mallory answers first, with the right id.
  await mallory.sendCommand(
    new Command("get", undefined, {
      id: "guessable-1",
      to: "alice@localhost/a",
      status: "success",
      type: "application/vnd.lime.ping+json",
      resource: { forged: true },
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  await within((async () => {
    while (requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  })());
  await bob.sendCommand(
    new Command("get", undefined, {
      id: "guessable-1",
      to: "alice@localhost/a",
      status: "success",
      type: "application/vnd.lime.ping+json",
      resource: {},
    }),
  );
  const response = await within(answer);
  assert.equal(response.from, "bob@localhost/b");
  assert.deepEqual(response.resource, {});
});

Deno.test("identity: transport is offered only with client CAs configured, plain and key only where accepted", async () => {
  const { tlsFixture } = await import("../tls_fixture.ts");
  const { transportCredentials } = await import("../../mod.ts");
  const f = await tlsFixture();
  // TLS without client CAs: a client certificate proves nothing here.
  await using t = await TestServer.start({
    tcp: { hostname: "127.0.0.1", port: 0, tls: { cert: f.server.cert, key: f.server.key } },
    plainWithoutTls: "nowhere",
  });
  const offered = await t.notOffered("bob@localhost/cert", {
    credentials: transportCredentials(),
    tcp: { tls: { caCerts: [f.ca], ...f.chainClient } },
  });
  assert.deepEqual(offered, ["guest", "plain", "key"]);
  // In clear over WebSocket, with secrets allowed nowhere without TLS: guest only.
  assert.deepEqual(
    await t.notOffered("bob@localhost/ws", { credentials: plainCredentials("x"), via: "ws" }),
    ["guest"],
  );
});

Deno.test("identity: guests filling an identity's session slots cannot lock out its external owner", async () => {
  // Review finding: the per-identity cap counted the guests an owner's arrival displaces, so
  // guests squatting an identity without an account (external or transport owners) while its
  // owner was away refused the owner (12) and kept receiving the identity's traffic.
  const verifier = (token: string) =>
    token === "erin-token" ? "member" as const : "unknown" as const;
  await using t = await TestServer.start({ externalVerifier: verifier, maxSessionsPerIdentity: 3 });
  const squatters = [];
  for (let i = 0; i < 3; i++) squatters.push(await t.login(`erin@localhost/g${i}`));
  await t.login("erin@localhost/desk", {
    credentials: externalCredentials("erin-token", "issuer"),
  });
  for (const squatter of squatters) {
    assert.deepEqual((await ended(squatter)).reason, NOW_OWNED("erin@localhost"));
  }
  assert.equal(t.server.registry.byIdentity("erin@localhost").length, 1);
});
