import assert from "node:assert/strict";
import { RedisAccountStore } from "../../cluster.ts";
import { RedisServer } from "./redis_server.ts";

Deno.test("RedisAccountStore keeps accounts (created once, atomically) and rosters in Redis", async () => {
  await using redis = await RedisServer.start();
  const store = await RedisAccountStore.open(redis.url, "lime:test:");
  try {
    const account = { identity: "Alice@localhost", document: { fullName: "Alice" } };
    assert.equal(await store.getAccount("alice@localhost"), undefined);
    const created = await Promise.all([store.createAccount(account), store.createAccount(account)]);
    assert.deepEqual(created.sort(), [false, true]);
    assert.deepEqual(await store.getAccount("ALICE@localhost"), account);
    await store.updateAccount({ ...account, document: { fullName: "Alice B." } });
    assert.equal((await store.getAccount("alice@localhost"))?.document.fullName, "Alice B.");
    await store.putContact("alice@localhost", { identity: "carol@localhost", name: "C" });
    await store.putContact("alice@localhost", { identity: "Bob@localhost", name: "B" });
    assert.deepEqual(
      (await store.listContacts("alice@localhost")).map((c) => c.name),
      ["B", "C"],
    );
    assert.equal((await store.getContact("alice@localhost", "BOB@localhost"))?.name, "B");
    assert.equal(await store.deleteContact("alice@localhost", "bob@localhost"), true);
    assert.equal(await store.deleteContact("alice@localhost", "bob@localhost"), false);
    assert.deepEqual(
      await redis.command(["KEYS", "lime:test:*"]).then((k) => (k as string[]).sort()),
      [
        "lime:test:account:alice@localhost",
        "lime:test:contacts:alice@localhost",
      ],
    );
  } finally {
    store.close();
  }
});
