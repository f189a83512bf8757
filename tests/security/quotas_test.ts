/**
 * Storage quotas: what one identity can make the server keep is bounded (rosters by count and
 * bytes, presence, account documents), and a response too large to send is answered with a
 * failure instead of silence.
 */
import assert from "node:assert/strict";
import { Command, encodeBase64Text, plainCredentials } from "../../mod.ts";
import {
  ACCOUNT,
  commandFailure,
  CONTACT,
  json,
  PRESENCE,
  TestServer,
} from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";

Deno.test("quotas: a roster holds at most contactsPerIdentity contacts, also under pipelined sets", async () => {
  await using t = await TestServer.start({ quotas: { contactsPerIdentity: 50 } });
  await t.addAccount("alice@localhost", "pw");
  const alice = await t.login("alice@localhost/a", {
    credentials: plainCredentials("pw"),
    channel: { receiveBufferSize: 200 },
  });
  // Pipelined: every check would see a short roster if the writes were not serialized.
  for (let i = 0; i < 80; i++) {
    await alice.sendCommand(
      new Command("set", "/contacts", {
        id: `c${i}`,
        type: CONTACT,
        resource: { identity: `friend${i}@localhost` },
      }),
    );
  }
  const codes: (number | "ok")[] = [];
  for (let i = 0; i < 80; i++) {
    const response = json(await within(alice.receiveCommand())) as Record<string, unknown>;
    codes.push(response.status === "success" ? "ok" : (response.reason as { code: number }).code);
  }
  assert.equal(codes.filter((c) => c === "ok").length, 50);
  assert.ok(codes.filter((c) => c !== "ok").every((c) => c === 34), String(codes));
  assert.equal((await t.store.listContacts("alice@localhost")).length, 50);
  // Replacing an existing contact is not one more.
  await within(
    alice.setResource("/contacts", CONTACT, { identity: "friend0@localhost", name: "Zero" }),
  );
});

Deno.test("quotas: a 60 KB contact is refused, and so is a roster past rosterBytes", async () => {
  await using t = await TestServer.start({ quotas: { rosterBytes: 4000 } });
  const guest = await t.login("gus@localhost/a");
  const big = await commandFailure(
    guest.setResource("/contacts", CONTACT, {
      identity: "big@localhost",
      name: "x".repeat(60_000),
    }),
  ) as { code: number; description: string };
  assert.equal(big.code, 64);
  assert.match(big.description, /The contact is \d+ bytes of JSON, over the maximum of 4096/);
  let refusal: { code: number } | undefined;
  for (let i = 0; i < 10 && !refusal; i++) {
    await guest.setResource("/contacts", CONTACT, {
      identity: `c${i}@localhost`,
      name: "y".repeat(900),
    }).catch((error) => refusal = error.reason);
  }
  assert.equal(refusal?.code, 34);
});

Deno.test("quotas: a presence document over presenceBytes is refused and not kept", async () => {
  await using t = await TestServer.start();
  const alice = await t.login("alice@localhost/a");
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < 20; i++) {
    const reason = await commandFailure(
      alice.setResource("/presence", PRESENCE, {
        status: "available",
        message: "z".repeat(1024 * 1024),
      }),
    ) as { code: number };
    assert.equal(reason.code, 64);
  }
  const session = t.server.registry.byNode("alice@localhost/a")!;
  assert.equal(session.presence.message, undefined);
  const grown = (Deno.memoryUsage().rss - before) / 1024 / 1024;
  console.log(`presence: 20 × 1 MiB presence documents refused; RSS +${grown.toFixed(1)} MiB`);
  // A normal presence still works.
  await within(alice.setResource("/presence", PRESENCE, { status: "busy", message: "lunch" }));
});

Deno.test("quotas: an account document over accountBytes is refused with 64, not 61", async () => {
  await using t = await TestServer.start();
  const guest = await t.login("ana@localhost/a");
  const reason = await commandFailure(
    guest.setResource("/account", ACCOUNT, {
      password: encodeBase64Text("pw"),
      fullName: "A".repeat(100_000),
    }),
  ) as { code: number; description: string };
  assert.equal(reason.code, 64);
  assert.match(reason.description, /account document is \d+ bytes of JSON, over the maximum/);
  assert.equal(await t.store.getAccount("ana@localhost"), undefined);
});

Deno.test("quotas: a response too large to send is answered with a failure, never dropped", async () => {
  await using t = await TestServer.start({
    maxEnvelopeSize: 16 * 1024,
    quotas: { contactBytes: 2000 },
  });
  await t.addAccount("alice@localhost", "pw");
  const alice = await t.login("alice@localhost/a", { credentials: plainCredentials("pw") });
  for (let i = 0; i < 12; i++) {
    await within(
      alice.setResource("/contacts", CONTACT, {
        identity: `c${i}@localhost`,
        name: "n".repeat(1500),
      }),
    );
  }
  const reason = await commandFailure(alice.getResource("/contacts")) as {
    code: number;
    description: string;
  };
  assert.equal(reason.code, 61);
  assert.match(reason.description, /The response is too large to send/);
  // The session goes on.
  assert.deepEqual(await within(alice.getResource("/ping")), {});
});

Deno.test("quotas: guest rosters (in memory, anyone can be a guest) are smaller, and capped all together", async () => {
  await using t = await TestServer.start({
    quotas: { guestContacts: 3, guestRostersTotalBytes: 600 },
  });
  const ann = await t.login("ann@localhost/a");
  for (let i = 0; i < 3; i++) {
    await within(ann.setResource("/contacts", CONTACT, { identity: `c${i}@localhost` }));
  }
  const fourth = await commandFailure(
    ann.setResource("/contacts", CONTACT, { identity: "c3@localhost" }),
  ) as { code: number };
  assert.equal(fourth.code, 34);
  // All guests together: ann holds about 3 × 30 bytes; bob fills the rest of the 600.
  const bob = await t.login("bob@localhost/b");
  let refusal: { code: number; description: string } | undefined;
  for (let i = 0; i < 3 && !refusal; i++) {
    await bob.setResource("/contacts", CONTACT, {
      identity: `d${i}@localhost`,
      name: "x".repeat(180),
    })
      .catch((error) => refusal = error.reason);
  }
  assert.equal(refusal?.code, 34);
  assert.match(refusal!.description, /Guests' rosters are full/);
  // What ann kept is released with her last session: room for bob's small contact again.
  const small = { identity: "e@localhost", name: "y".repeat(60) };
  assert.equal(
    (await commandFailure(bob.setResource("/contacts", CONTACT, small)) as { code: number }).code,
    34,
  );
  await ann.finish();
  await within(bob.setResource("/contacts", CONTACT, small));
});
