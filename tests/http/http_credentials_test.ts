/**
 * The HTTP API's cache of verified `Authorization` headers, against a real server: a bot's first
 * burst is verified once (no 429 from the login throttle, one store read), later requests do not
 * read the store until `revalidateAfter`, and a changed key stops working within it.
 */
import assert from "node:assert/strict";
import { hashPassword } from "../../mod.ts";
import { HttpTestServer, keyAuthorization } from "./http_helpers.ts";

const ALICE = "alice@localhost";
const BOB = "bob@localhost";
const MESSAGE = { type: "text/plain", content: "x", to: BOB };

/** Counts the server's account reads (the store is the server's own object). */
function countReads(t: HttpTestServer): { reads: number } {
  const counter = { reads: 0 };
  const read = t.store.getAccount.bind(t.store);
  t.store.getAccount = (identity) => {
    counter.reads++;
    return read(identity);
  };
  return counter;
}

Deno.test("HttpApi verifies a header once for a burst of requests at its first use", async () => {
  await using t = await HttpTestServer.start();
  await t.addAccount(ALICE, "alice-pw", "alice-key");
  await t.addAccount(BOB, "bob-pw");
  await t.login(`${BOB}/phone`, "bob-pw");
  const counter = countReads(t);
  const answers = await Promise.all(
    Array.from(
      { length: 24 },
      () => t.post("/messages", MESSAGE, keyAuthorization(ALICE, "alice-key")),
    ),
  );
  assert.deepEqual(answers.map((a) => a.status), answers.map(() => 202), answers[0].text);
  assert.equal(counter.reads, 1, "one store read verified the whole burst");
  // A wrong key in a burst is an attempt per request: each is refused, none is let in.
  const wrong = await Promise.all(
    Array.from({ length: 3 }, () => t.post("/messages", MESSAGE, keyAuthorization(ALICE, "nope"))),
  );
  for (const answer of wrong) assert.ok([401, 429].includes(answer.status), answer.text);
});

Deno.test("HttpApi takes a verified header without reading the store until revalidateAfter", async () => {
  await using t = await HttpTestServer.start({
    http: { credentialCache: { revalidateAfter: 150 } },
  });
  await t.addAccount(ALICE, "alice-pw", "alice-key");
  await t.addAccount(BOB, "bob-pw");
  await t.login(`${BOB}/phone`, "bob-pw");
  const auth = keyAuthorization(ALICE, "alice-key");
  assert.equal((await t.post("/messages", MESSAGE, auth)).status, 202);
  const counter = countReads(t);
  for (let i = 0; i < 5; i++) assert.equal((await t.post("/messages", MESSAGE, auth)).status, 202);
  assert.equal(counter.reads, 0);
  // The key changes (elsewhere: another server of the cluster, say): refused once rechecked.
  const account = (await t.store.getAccount(ALICE))!;
  await t.store.updateAccount({ ...account, keyHash: await hashPassword("new-key", 1000) });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const old = await t.post("/messages", MESSAGE, auth);
  assert.equal(old.status, 401, old.text);
  assert.equal((old.body?.reason as { code?: number } | undefined)?.code, 13);
  assert.equal(
    (await t.post("/messages", MESSAGE, keyAuthorization(ALICE, "new-key"))).status,
    202,
  );
});

Deno.test("HttpApi with revalidateAfter 0 refuses a changed key at the next request", async () => {
  await using t = await HttpTestServer.start({ http: { credentialCache: { revalidateAfter: 0 } } });
  await t.addAccount(ALICE, "alice-pw", "alice-key");
  await t.addAccount(BOB, "bob-pw");
  await t.login(`${BOB}/phone`, "bob-pw");
  const auth = keyAuthorization(ALICE, "alice-key");
  assert.equal((await t.post("/messages", MESSAGE, auth)).status, 202);
  const account = (await t.store.getAccount(ALICE))!;
  await t.store.updateAccount({ ...account, keyHash: await hashPassword("new-key", 1000) });
  assert.equal((await t.post("/messages", MESSAGE, auth)).status, 401);
});
