/**
 * LimeServer's own resources, requested by ClientChannels over TCP and WebSocket on 127.0.0.1:
 * `/ping`, `/presence`, `/receipt`, `/account`, `/contacts` (and `/contacts/{identity}`), and
 * the dispatcher's failures: 62 unknown resource, 63 unsupported method, 64 bad document, 66
 * another identity's resource, 67 not found.
 */
import assert from "node:assert/strict";
import { type ClientChannel, Command, hashPassword, plainCredentials } from "../mod.ts";
import { within } from "./tcp_helpers.ts";
import {
  ACCOUNT,
  commandFailure,
  CONTACT,
  json,
  PRESENCE,
  RECEIPT,
  TestServer,
} from "./server_test_helpers.ts";

const COLLECTION = "application/vnd.lime.collection+json";

/** Sends a request and returns the response's wire JSON. */
async function request(
  client: ClientChannel,
  method: Command["method"],
  uri: string,
  init: { id: string; to?: string; type?: string; resource?: unknown },
): Promise<unknown> {
  const response = await within(client.processCommand(new Command(method, uri, init)));
  return json(response);
}

Deno.test("LimeServer /ping answers get with the ping document, however the server is addressed", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a", { via: "ws" });
  const pong = (id: string) => ({
    id,
    method: "get",
    to: "alice@localhost/a",
    status: "success",
    type: "application/vnd.lime.ping+json",
    resource: {},
  });
  assert.deepEqual(await request(alice, "get", "/ping", { id: "p1" }), pong("p1"));
  assert.deepEqual(
    await request(alice, "get", "/ping", { id: "p2", to: "postmaster@localhost" }),
    pong("p2"),
  );
  assert.deepEqual(
    await request(alice, "get", "/ping", { id: "p3", to: "postmaster@localhost/server" }),
    pong("p3"),
  );
  assert.deepEqual(await request(alice, "get", "lime://localhost/ping", { id: "p4" }), pong("p4"));
  assert.deepEqual(
    await request(alice, "get", "lime://postmaster@localhost/ping", { id: "p5" }),
    pong("p5"),
  );
});

Deno.test("LimeServer /presence get and set change how the session is seen", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a");
  assert.deepEqual(await request(alice, "get", "/presence", { id: "g1" }), {
    id: "g1",
    method: "get",
    to: "alice@localhost/a",
    status: "success",
    type: PRESENCE,
    resource: { status: "available", routingRule: "identity" },
  });
  assert.deepEqual(
    await request(alice, "set", "/presence", {
      id: "s1",
      type: PRESENCE,
      resource: { status: "busy", message: "brb", priority: 3 },
    }),
    { id: "s1", method: "set", to: "alice@localhost/a", status: "success" },
  );
  assert.deepEqual(await within(alice.getResource("/presence")), {
    status: "busy",
    routingRule: "identity",
    priority: 3,
    message: "brb",
  });
  const session = t.server.registry.byNode("alice@localhost/a")!;
  assert.deepEqual(session.presence, {
    status: "busy",
    routingRule: "identity",
    priority: 3,
    message: "brb",
    explicit: true,
  });
  // set replaces: what it leaves out falls back to unavailable / identity / 0.
  await within(alice.setResource("/presence", PRESENCE, { routingRule: "instance" }));
  assert.deepEqual(await within(alice.getResource("/presence")), {
    status: "unavailable",
    routingRule: "instance",
  });
  // merge keeps what it leaves out.
  await within(alice.mergeResource("/presence", PRESENCE, { status: "available" }));
  assert.deepEqual(await within(alice.getResource("/presence")), {
    status: "available",
    routingRule: "instance",
  });
  // Own absolute URI works too.
  assert.deepEqual(await within(alice.getResource("lime://alice@localhost/presence")), {
    status: "available",
    routingRule: "instance",
  });
  assert.deepEqual(
    await commandFailure(alice.setResource("/presence", PRESENCE, { routingRule: "domain" })),
    { code: 35, description: 'The routing rule "domain" needs a domain authority' },
  );
  assert.deepEqual(
    await commandFailure(alice.setResource("/presence", "application/json", { status: "away" })),
    {
      code: 64,
      description:
        'A set of /presence needs type "application/vnd.lime.presence+json", got "application/json"',
    },
  );
});

Deno.test("LimeServer /receipt get and set; failed is always on", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a", { via: "ws" });
  assert.deepEqual(await request(alice, "get", "/receipt", { id: "r1" }), {
    id: "r1",
    method: "get",
    to: "alice@localhost/a",
    status: "success",
    type: RECEIPT,
    resource: { events: ["failed"] },
  });
  await within(alice.setResource("/receipt", RECEIPT, { events: ["accepted", "dispatched"] }));
  assert.deepEqual(await within(alice.getResource("/receipt")), {
    events: ["failed", "accepted", "dispatched"],
  });
  assert.deepEqual(
    [...t.server.registry.byNode("alice@localhost/a")!.receiptEvents],
    ["failed", "accepted", "dispatched"],
  );
  await within(alice.setResource("/receipt", RECEIPT, { events: [] }));
  assert.deepEqual(await within(alice.getResource("/receipt")), { events: ["failed"] });
});

Deno.test("LimeServer /account get returns the account without secrets, 67 without an account", async () => {
  await using t = await TestServer.start();
  await t.store.createAccount({
    identity: "alice@localhost",
    document: { fullName: "Alice", city: "Recife" },
    passwordHash: await hashPassword("secret", 1000),
    keyHash: await hashPassword("k3y", 1000),
  });
  const alice = await t.login("alice@localhost/a", {
    via: "tcp",
    credentials: plainCredentials("secret"),
  });
  assert.deepEqual(await request(alice, "get", "/account", { id: "a1" }), {
    id: "a1",
    method: "get",
    to: "alice@localhost/a",
    status: "success",
    type: ACCOUNT,
    resource: { fullName: "Alice", city: "Recife", identity: "alice@localhost" },
  });
  const guest = await t.login("gus@localhost/g", { via: "ws" });
  assert.deepEqual(await commandFailure(guest.getResource("/account")), {
    code: 67,
    description: '"gus@localhost" has no account',
  });
  assert.deepEqual(await commandFailure(alice.deleteResource("/account")), {
    code: 63,
    description: 'The method "delete" is not supported on "/account"',
  });
});

Deno.test("LimeServer /contacts set, get, get one and delete the roster of the session's identity", async () => {
  await using t = await TestServer.start();
  await t.addAccount("alice@localhost", "pw");
  const credentials = plainCredentials("pw");
  const alice = await t.login("alice@localhost/a", { credentials });
  const other = await t.login("alice@localhost/b", { via: "ws", credentials });
  const bob = await t.login("bob@localhost/b", { via: "ws" });

  assert.deepEqual(await within(alice.getResource("/contacts")), {
    itemType: CONTACT,
    total: 0,
    items: [],
  });
  assert.deepEqual(
    await request(alice, "set", "/contacts", {
      id: "c1",
      type: CONTACT,
      resource: { identity: "bob@localhost", name: "Bob" },
    }),
    { id: "c1", method: "set", to: "alice@localhost/a", status: "success" },
  );
  await within(
    alice.setResource("/contacts", CONTACT, { identity: "carol@localhost", name: "Carol" }),
  );
  // Set again replaces.
  await within(
    alice.setResource("/contacts", CONTACT, { identity: "bob@localhost", name: "Bobby" }),
  );
  const roster = {
    itemType: CONTACT,
    total: 2,
    items: [
      { identity: "bob@localhost", name: "Bobby" },
      { identity: "carol@localhost", name: "Carol" },
    ],
  };
  assert.deepEqual(await request(alice, "get", "/contacts", { id: "c2" }), {
    id: "c2",
    method: "get",
    to: "alice@localhost/a",
    status: "success",
    type: COLLECTION,
    resource: roster,
  });
  // The roster belongs to the identity: her other instance sees it, Bob has his own.
  assert.deepEqual(await within(other.getResource("/contacts")), roster);
  assert.deepEqual(await within(bob.getResource("/contacts")), {
    itemType: CONTACT,
    total: 0,
    items: [],
  });

  assert.deepEqual(await request(alice, "get", "/contacts/bob@localhost", { id: "c3" }), {
    id: "c3",
    method: "get",
    to: "alice@localhost/a",
    status: "success",
    type: CONTACT,
    resource: { identity: "bob@localhost", name: "Bobby" },
  });
  assert.deepEqual(
    await request(alice, "delete", "/contacts/bob@localhost", { id: "c4" }),
    { id: "c4", method: "delete", to: "alice@localhost/a", status: "success" },
  );
  const notContact = { code: 67, description: '"bob@localhost" is not a contact' };
  assert.deepEqual(await commandFailure(alice.getResource("/contacts/bob@localhost")), notContact);
  assert.deepEqual(
    await commandFailure(alice.deleteResource("/contacts/bob@localhost")),
    notContact,
  );
  assert.deepEqual(await within(alice.getResource("/contacts")), {
    itemType: CONTACT,
    total: 1,
    items: [{ identity: "carol@localhost", name: "Carol" }],
  });
  assert.deepEqual(await t.store.listContacts("alice@localhost"), [
    { identity: "carol@localhost", name: "Carol" },
  ]);

  assert.deepEqual(
    await commandFailure(alice.setResource("/contacts", CONTACT, { name: "Nobody" })),
    {
      code: 64,
      description: "A contact needs an identity",
    },
  );
  assert.deepEqual(
    await commandFailure(alice.setResource("/contacts/carol@localhost", CONTACT, { name: "C" })),
    { code: 63, description: "set is not supported on a single contact" },
  );
  assert.deepEqual(await commandFailure(alice.deleteResource("/contacts")), {
    code: 63,
    description: "Delete a contact at /contacts/{identity}",
  });
});

Deno.test("LimeServer answers an unknown resource 62, an unsupported method 63 and another identity's resource 66", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a", { via: "ws" });
  await t.login("bob@localhost/b");
  assert.deepEqual(await request(alice, "get", "/nope", { id: "e1" }), {
    id: "e1",
    method: "get",
    to: "alice@localhost/a",
    status: "failure",
    reason: { code: 62, description: 'There is no resource at "/nope"' },
  });
  assert.deepEqual(await commandFailure(alice.getResource("/ping/deeper")), {
    code: 62,
    description: 'There is no resource at "/ping/deeper"',
  });
  assert.deepEqual(await request(alice, "delete", "/ping", { id: "e2" }), {
    id: "e2",
    method: "delete",
    to: "alice@localhost/a",
    status: "failure",
    reason: { code: 63, description: 'The method "delete" is not supported on "/ping"' },
  });
  assert.deepEqual(await commandFailure(alice.mergeResource("/receipt", RECEIPT, { events: [] })), {
    code: 63,
    description: 'The method "merge" is not supported on "/receipt"',
  });
  assert.deepEqual(await request(alice, "get", "lime://bob@localhost/contacts", { id: "e3" }), {
    id: "e3",
    method: "get",
    to: "alice@localhost/a",
    status: "failure",
    reason: { code: 66, description: 'The resources of "bob@localhost" are not yours' },
  });
  assert.deepEqual(
    await commandFailure(alice.setResource("lime://bob@localhost/presence", PRESENCE, {})),
    { code: 66, description: 'The resources of "bob@localhost" are not yours' },
  );
  // A postmaster of another domain is not this server either.
  assert.deepEqual(await commandFailure(alice.getResource("lime://postmaster@example.org/ping")), {
    code: 66,
    description: 'The resources of "postmaster@example.org" are not yours',
  });
  // Responses and notifications addressed to the server are dropped, and the session goes on.
  await alice.sendCommand(
    new Command("get", undefined, { id: "stray", status: "success", to: "postmaster@localhost" }),
  );
  assert.deepEqual(await within(alice.getResource("/ping")), {});
});
