/**
 * `KvAccountStore` on a real Deno KV (`:memory:`): the reads asked for in one turn go out
 * together (`getMany`, ten keys at a time), and every caller still gets its own account, its
 * identity's case folded, the same as a lone `get` would give; a failed read fails its callers.
 */
import assert from "node:assert/strict";
import { KvAccountStore, type StoredAccount } from "../src/server/account_store.ts";

/** What the store calls on its database (replaced below to count or to fail the calls). */
type GetMany = (keys: Deno.KvKey[]) => Promise<unknown[]>;
const replaceGetMany = (kv: Deno.Kv, getMany: GetMany) => {
  (kv as unknown as { getMany: GetMany }).getMany = getMany;
};

const account = (identity: string): StoredAccount => ({
  identity,
  document: { fullName: identity },
});

/**
 * Runs `test` on a fresh store holding `accounts`, with the database's own `getMany` (to put back
 * or to wrap after {@link replaceGetMany}); closes the store afterwards.
 */
async function withStore(
  accounts: string[],
  test: (store: KvAccountStore, kv: Deno.Kv, getMany: GetMany) => Promise<void>,
): Promise<void> {
  const store = await KvAccountStore.open(":memory:");
  try {
    for (const identity of accounts) {
      assert.equal(await store.createAccount(account(identity)), true);
    }
    const kv = store.database;
    await test(store, kv, kv.getMany.bind(kv) as GetMany);
  } finally {
    store.close();
  }
}

/** Reads `names` in one turn; each answer is the account, undefined, or the error it failed with. */
const readAll = (store: KvAccountStore, names: string[]) =>
  Promise.all(names.map((name) => store.getAccount(name).then((value) => value, (error) => error)));

Deno.test("KvAccountStore answers 25 reads of one turn, owned and free, duplicates and cases mixed, as lone gets would", async () => {
  const owned = Array.from({ length: 13 }, (_, i) => `user${2 * i}@localhost`);
  await withStore(owned, async (store, kv, getMany) => {
    // Count the KV calls: one turn's 25 distinct keys (plus duplicates) make 3 getMany calls.
    const calls: number[] = [];
    replaceGetMany(kv, (keys) => {
      calls.push(keys.length);
      return getMany(keys);
    });
    const names = Array.from({ length: 25 }, (_, i) => `user${i}@localhost`);
    const asked = [...names, "USER0@LOCALHOST", "user1@localhost", "user2@Localhost"];
    const answers = await Promise.all(asked.map((name) => store.getAccount(name)));
    assert.deepEqual(calls, [10, 10, 5]);
    asked.forEach((name, i) => {
      const n = Number(name.toLowerCase().slice(4, name.indexOf("@")));
      if (n % 2 === 0) assert.equal(answers[i]?.identity, `user${n}@localhost`, name);
      else assert.equal(answers[i], undefined, name);
    });
    // A later turn makes its own batch, and sees what was written in between.
    await store.createAccount(account("user1@localhost"));
    assert.equal((await store.getAccount("user1@localhost"))?.identity, "user1@localhost");
    assert.deepEqual(calls, [10, 10, 5, 1]);
  });
});

Deno.test("KvAccountStore rejects every caller of a failed read, and reads again afterwards", async () => {
  await withStore(["alice@localhost"], async (store, kv, getMany) => {
    const broken = new Error("the database is gone");
    replaceGetMany(kv, () => Promise.reject(broken));
    assert.deepEqual(
      await readAll(store, ["alice@localhost", "bob@localhost", "alice@localhost"]),
      [broken, broken, broken],
    );
    // A getMany that throws instead of rejecting fails its callers the same way.
    replaceGetMany(kv, () => {
      throw broken;
    });
    await assert.rejects(store.getAccount("alice@localhost"), broken);
    replaceGetMany(kv, getMany);
    assert.equal((await store.getAccount("alice@localhost"))?.identity, "alice@localhost");
  });
});

Deno.test("KvAccountStore fails only the callers of a key the database refuses, and gives every caller its own copy", async () => {
  await withStore(["alice@localhost"], async (store, kv, getMany) => {
    const refused = new Error("key too large");
    replaceGetMany(
      kv,
      (keys) =>
        keys.some((k) => k[1] === "bad@localhost") ? Promise.reject(refused) : getMany(keys),
    );
    const [alice, bad, again, bob] = await readAll(store, [
      "alice@localhost",
      "bad@localhost",
      "alice@localhost",
      "bob@localhost",
    ]);
    assert.equal(bad, refused);
    assert.equal(bob, undefined);
    assert.equal(alice.identity, "alice@localhost");
    assert.deepEqual(again, alice);
    assert.notEqual(again, alice, "a caller changing its account does not change another's");
  });
});

Deno.test("KvAccountStore fails the reads still waiting when it is closed", async () => {
  const store = await KvAccountStore.open(":memory:");
  const read = store.getAccount("alice@localhost");
  store.close();
  await assert.rejects(read);
});
