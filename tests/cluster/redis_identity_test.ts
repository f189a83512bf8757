/**
 * The identity rules of README "Security model" hold across the servers of a cluster: each test
 * performs the cross-server version of an attack (or of a legitimate replacement) and asserts
 * the one-process outcome.
 */
import assert from "node:assert/strict";
import {
  type ClientChannel,
  Command,
  encodeBase64Text,
  Message,
  plainCredentials,
} from "../../mod.ts";
import { ACCOUNT, json, nextMessage } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { TestCluster, until } from "./cluster_helpers.ts";

const ended = (client: ClientChannel) => within(client.closed, 5000, "the session's end");

Deno.test("RedisEngine refuses a guest for an identity whose owner is signed in on another server", async () => {
  await using cluster = await TestCluster.start(2);
  await cluster.addAccount("alice@localhost", "secret");
  await cluster.login(0, "alice@localhost/phone", plainCredentials("secret"));
  await cluster.refused(1, "alice@localhost/guest", 13);
  // The owner's own node is not taken by a guest either.
  await cluster.refused(1, "alice@localhost/phone", 13);
});

Deno.test("RedisEngine ends an identity's guests on every server when its owner signs in", async () => {
  await using cluster = await TestCluster.start(2);
  const guest = await cluster.login(0, "carol@localhost/g1");
  await cluster.addAccount("carol@localhost", "secret");
  await cluster.login(1, "carol@localhost/phone", plainCredentials("secret"));
  const info = await ended(guest);
  assert.equal(info.state, "failed");
  assert.equal(info.reason?.code, 13);
  assert.match(info.reason?.description ?? "", /now belongs to an account/);
});

Deno.test("RedisEngine ends guests on other servers when their identity registers an account", async () => {
  await using cluster = await TestCluster.start(2);
  const elsewhere = await cluster.login(1, "dave@localhost/g2");
  const registrant = await cluster.login(0, "dave@localhost/g1");
  await within(
    registrant.setResource("/account", ACCOUNT, { password: encodeBase64Text("pw123456") }),
  );
  const info = await ended(elsewhere);
  assert.equal(info.reason?.code, 13);
  await cluster.refused(1, "dave@localhost/g3", 13);
});

Deno.test("RedisEngine replaces a node's session on another server only under the strength rule", async () => {
  await using cluster = await TestCluster.start(2);
  await cluster.addAccount("erin@localhost", "secret");
  const first = await cluster.login(0, "erin@localhost/phone", plainCredentials("secret"));
  // A guest cannot take it (the identity is owned)...
  await cluster.refused(1, "erin@localhost/phone", 13);
  // ...the owner reconnecting through another server can: the old session gets 11.
  const second = await cluster.login(1, "erin@localhost/phone", plainCredentials("secret"));
  const info = await ended(first);
  assert.equal(info.reason?.code, 11);
  assert.match(info.reason?.description ?? "", /replaced by a new session of the same node/);
  assert.equal(second.state, "established");
  // Guests never replace one another across servers either (12).
  await cluster.login(0, "frank@localhost/x");
  await cluster.refused(1, "frank@localhost/x", 12);
});

Deno.test("RedisEngine counts an identity's sessions on every server (maxSessionsPerIdentity)", async () => {
  await using cluster = await TestCluster.start(2, { maxSessionsPerIdentity: 2 });
  await cluster.login(0, "gina@localhost/1");
  const second = await cluster.login(1, "gina@localhost/2");
  await cluster.refused(0, "gina@localhost/3", 12);
  await cluster.refused(1, "gina@localhost/4", 12);
  // A session that ends frees its slot cluster-wide.
  await second.finish();
  await until(async () => {
    const fields = await cluster.redis.command<string[]>([
      "HKEYS",
      "lime:localhost:id:gina@localhost",
    ]);
    return !fields.includes("2");
  }, "the ended session's entry");
  await cluster.login(0, "gina@localhost/5");
});

Deno.test("RedisLoginThrottle delays sign-ins on one server after failures on another", async () => {
  await using cluster = await TestCluster.start(2, {
    loginThrottle: { identity: { free: 2, baseDelay: 2_000, maxDelay: 2_000 } },
  });
  await cluster.addAccount("hank@localhost", "right");
  await cluster.refused(0, "hank@localhost/a", 13, plainCredentials("wrong"));
  await cluster.refused(1, "hank@localhost/a", 13, plainCredentials("wrong"));
  // Two failures, one on each server: the third attempt waits, on either server, even right.
  await cluster.refused(0, "hank@localhost/a", 34, plainCredentials("right"));
  await cluster.refused(1, "hank@localhost/a", 34, plainCredentials("right"));
});

/**
 * Makes the cluster's store hold every read of `identity` (a guest's one read, after its
 * registration) until `gate` resolves; `reading` resolves once one waits.
 */
function holdReads(cluster: TestCluster, identity: string) {
  const store = cluster.store;
  const getAccount = store.getAccount.bind(store);
  const gate = Promise.withResolvers<void>();
  const reading = Promise.withResolvers<void>();
  store.getAccount = async (asked: string) => {
    if (asked === identity) {
      reading.resolve();
      await gate.promise;
    }
    return await getAccount(asked);
  };
  return { reading, gate };
}

Deno.test("RedisEngine: what other servers send a guest being let in waits for it, and no receipt lies", async () => {
  await using cluster = await TestCluster.start(2);
  const first = await cluster.login(0, "race@localhost/a");
  const bob = await cluster.login(0, "bob@localhost/b");
  // The next guest's read of the store waits: registered on server 1 (in the directory, with
  // the default presence), not established.
  const { reading, gate } = holdReads(cluster, "race@localhost");
  const second = await cluster.connect(1);
  const establishing = second.establishSession({ identity: "race@localhost", instance: "b" });
  let pinged: Promise<Command> | undefined;
  try {
    await within(reading.promise);
    await cluster.seesPresence(0, "race@localhost/b", (p) => p.status === "available");
    // Sent from server 0 to the identity and to the node: delivered to the guest once it is
    // established (server 1 holds them), to the established session at once.
    await bob.sendMessage(new Message("text/plain", "hi", { id: "m1", to: "race@localhost" }));
    assert.equal((await nextMessage(first) as { content: string }).content, "hi");
    await bob.sendMessage(new Message("text/plain", "early", { id: "m2", to: "race@localhost/b" }));
    pinged = bob.processCommand(new Command("get", "/ping", { id: "c1", to: "race@localhost/b" }));
  } finally {
    gate.resolve();
  }
  await within(establishing);
  const got = [
    (await nextMessage(second) as { content: string }).content,
    (await nextMessage(second) as { content: string }).content,
  ];
  assert.deepEqual(got.sort(), ["early", "hi"]);
  assert.equal((await within(pinged!)).status, "success");
  // No receipt came for any of it (only `failed` is sent unasked).
  const receipt = await within(bob.receiveNotification(), 500).then(json, () => undefined);
  assert.equal(receipt, undefined, `a receipt: ${JSON.stringify(receipt)}`);
});

Deno.test("RedisEngine: what another server sent a guest that is then refused fails 42", async () => {
  await using cluster = await TestCluster.start(2);
  const bob = await cluster.login(0, "bob@localhost/b");
  const { reading, gate } = holdReads(cluster, "late@localhost");
  const guest = await cluster.connect(1);
  const establishing = guest.establishSession({ identity: "late@localhost", instance: "g" })
    .then(() => undefined, (caught) => caught);
  try {
    await within(reading.promise);
    // An account created while the guest's read waits: it is refused when the read returns.
    await cluster.addAccount("late@localhost", "secret");
    await bob.sendMessage(new Message("text/plain", "early", { id: "m1", to: "late@localhost/g" }));
    await new Promise((resolve) => setTimeout(resolve, 100)); // it reaches server 1's inbox
  } finally {
    gate.resolve();
  }
  assert.equal((await within(establishing))?.code, 13);
  const failed = json(await within(bob.receiveNotification(), 5000)) as Record<string, unknown>;
  assert.equal(failed.id, "m1");
  assert.equal((failed.reason as { code: number }).code, 42);
});
