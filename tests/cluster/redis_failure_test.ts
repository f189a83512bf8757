/**
 * Failures and abuse of the cluster's ways in, in one process: what another server (or anyone
 * who can write to Redis) puts in an inbox, a destination server that never answers, one that
 * dies with entries pending, and Redis itself going away.
 */
import assert from "node:assert/strict";
import { Message } from "../../mod.ts";
import { json, nextMessage, RECEIPT } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { TestCluster, until } from "./cluster_helpers.ts";

const P = "lime:localhost:";
const text = (id: string, to: string) => new Message("text/plain", id, { id, to });

/** A server that exists only in Redis (nobody reads its inbox): `nodes` are its sessions. */
async function fakeServer(cluster: TestCluster, id: string, nodes: string[]): Promise<void> {
  const redis = cluster.redis;
  await redis.command(["SET", `${P}srv:${id}`, "1", "PX", 600_000]);
  await redis.command(["SADD", `${P}servers`, id]);
  await redis.command(["XGROUP", "CREATE", `${P}inbox:${id}`, "lime", "0", "MKSTREAM"]);
  for (const node of nodes) {
    const [identity, instance] = node.split("/");
    await redis.command(["HSET", `${P}id:${identity}`, instance, `${id}|0|g|1|1|0`, "#v", "1"]);
  }
}

Deno.test("RedisEngine refuses malformed and oversized inbox entries, acknowledges them and keeps routing", async () => {
  await using cluster = await TestCluster.start(2, {}, { maxEnvelopeSize: 4096 });
  const alice = await cluster.login(0, "alice@localhost/a");
  const bob = await cluster.login(1, "bob@localhost/b");
  const inbox = `${P}inbox:${cluster.engines[1].serverId}`;
  const bob1 = JSON.stringify(["bob@localhost/b"]);
  const one = JSON.stringify([""]);
  const envelopes = (n: string, k: string, l: string, b: string, more: string[] = []) => [
    "t",
    "e",
    "o",
    "s1",
    "h",
    "0",
    ...more,
    "n",
    n,
    "k",
    k,
    "l",
    l,
    "b",
    b,
  ];
  const bad: string[][] = [
    ["t", "?"],
    envelopes(bob1, one, "5000", "x".repeat(5000)),
    envelopes(bob1, one, "2", "{}", ["h", "-1"]),
    envelopes(bob1, one, "2", "{}", ["o", ""]),
    envelopes(JSON.stringify(["n".repeat(2000)]), one, "2", "{}"),
    envelopes(bob1, one, "10", "{}"),
    envelopes("not json", one, "2", "{}"),
    envelopes(JSON.stringify(["a@localhost/a", "b@localhost/b"]), one, "2", "{}"),
    envelopes(bob1, one, "1,1,1,1", "{}{}"),
    ["t", "o", "b", "not json"],
    ["t", "o", "b", JSON.stringify(new Array(20_000).fill(["1", 0, ""]))],
    ["t", "o", "b", JSON.stringify([["1", "zero", 3]])],
    ["t", "d", "i", "bob@localhost", "b", "{}"],
    ["t", "d", "i", "bob@localhost", "b", JSON.stringify([1, 2])],
    ["t", "x", "n", "bob@localhost/b", "g", "0", "c", "eleven", "d", ""],
    Array.from({ length: 40 }, (_, i) => String(i)),
  ];
  for (const fields of bad) await cluster.redis.command(["XADD", inbox, "*", ...fields]);
  // Well-formed but harmless: an envelope that is not LIME JSON (answered as an outcome to a
  // server that does not exist), an eviction with the wrong tag, a snapshot of a stranger.
  const harmless: string[][] = [
    envelopes(bob1, JSON.stringify(["7"]), "9", "{not json"),
    envelopes(bob1, JSON.stringify(["8"]), "22", '{"id":"x","content":1}'),
    ["t", "x", "n", "bob@localhost/b", "g", "no-such-tag", "c", "11", "d", "go"],
    ["t", "d", "i", "zed@localhost", "b", "[]"],
  ];
  for (const fields of harmless) await cluster.redis.command(["XADD", inbox, "*", ...fields]);
  await until(
    () => cluster.engines[1].stats().inboxMalformed >= bad.length,
    "the malformed entries counted",
  );
  await until(async () => {
    const [pending] = await cluster.redis.command<[number]>(["XPENDING", inbox, "lime"]);
    return pending === 0;
  }, "every entry acknowledged");
  assert.equal(cluster.engines[1].stats().inboxMalformed, bad.length);
  // Bob was not evicted, and traffic still crosses.
  await alice.sendMessage(text("after", "bob@localhost/b"));
  assert.equal((await nextMessage(bob) as { id: string }).id, "after");
  assert.equal(bob.state, "established");
});

Deno.test("RedisEngine reports a tracked message that its destination's server never answers (44)", async () => {
  await using cluster = await TestCluster.start(1, {}, { hopTimeout: 800 });
  await fakeServer(cluster, "sfake", ["zed@localhost/z"]);
  const alice = await cluster.login(0, "alice@localhost/a");
  await alice.sendMessage(text("lost", "zed@localhost/z"));
  const failed = json(await within(alice.receiveNotification(), 5000)) as {
    id: string;
    event: string;
    reason: { code: number; description: string };
  };
  assert.equal(failed.id, "lost");
  assert.equal(failed.event, "failed");
  assert.equal(failed.reason.code, 44);
  assert.match(failed.reason.description, /No word from the server of "zed@localhost\/z"/);
  assert.equal(cluster.engines[0].stats().inFlight, 0);
});

Deno.test("RedisEngine rescues a dead server's inbox: pending entries go where their node is now, or fail back", async () => {
  await using cluster = await TestCluster.start(2, {}, { ttl: 1_500, hopTimeout: 20_000 });
  await fakeServer(cluster, "sdead", ["zed@localhost/z", "yan@localhost/y"]);
  const alice = await cluster.login(0, "alice@localhost/a");
  await alice.setResource("/receipt", RECEIPT, { events: ["dispatched"] });
  await alice.sendMessage(text("to-zed", "zed@localhost/z"));
  await alice.sendMessage(text("to-yan", "yan@localhost/y"));
  const inbox = `${P}inbox:sdead`;
  await until(async () => {
    const entries = await cluster.redis.command<[string, string[]][]>(["XRANGE", inbox, "-", "+"]);
    const queued = entries.map(([, fields]) => fields[fields.indexOf("l") + 1].split(",").length);
    return queued.reduce((a, b) => a + b, 0) === 2;
  }, "queued");
  // The dead server had read them (pending, never acknowledged) when it died.
  await cluster.redis.command(["XREADGROUP", "GROUP", "lime", "sdead", "STREAMS", inbox, ">"]);
  await cluster.redis.command(["DEL", `${P}srv:sdead`]);
  await until(
    () => cluster.engines.some((engine) => engine.stats().deadServers > 0),
    "the death seen",
  );
  // Zed comes back, through a server that saw the death, before the rescue (a heartbeat later).
  const seen = cluster.engines.findIndex((engine) => engine.stats().deadServers > 0);
  const zed = await cluster.login(seen, "zed@localhost/z");
  assert.equal((await nextMessage(zed) as { id: string }).id, "to-zed");
  const receipts = new Map<string, { event: string; reason?: { code: number } }>();
  while (receipts.size < 2) {
    const notification = json(await within(alice.receiveNotification(), 5000)) as {
      id: string;
      event: string;
      reason?: { code: number };
    };
    receipts.set(notification.id, notification);
  }
  assert.equal(receipts.get("to-zed")?.event, "dispatched");
  assert.equal(receipts.get("to-yan")?.event, "failed");
  assert.equal(receipts.get("to-yan")?.reason?.code, 42);
  await until(async () => await cluster.redis.command<number>(["EXISTS", inbox]) === 0, "gone");
  assert.equal(await cluster.redis.command(["SISMEMBER", `${P}servers`, "sdead"]), 0);
});

Deno.test("RedisEngine recovers when Redis restarts empty: sessions registered again, traffic crosses", async () => {
  await using cluster = await TestCluster.start(2);
  const alice = await cluster.login(0, "alice@localhost/a");
  const bob = await cluster.login(1, "bob@localhost/b");
  // Past the guests' post-check (an account store that fails it ends the session: 11).
  await Promise.all([alice.getResource("/ping"), bob.getResource("/ping")]);
  await cluster.redis.restart(200);
  // Both servers are back once their sessions are registered again.
  for (const [identity, field] of [["alice", "a"], ["bob", "b"]]) {
    await until(
      async () => {
        const fields = await cluster.redis.command<string[]>([
          "HKEYS",
          `${P}id:${identity}@localhost`,
        ]);
        return fields.includes(field);
      },
      `${identity} registered again`,
      10_000,
    );
  }
  await until(async () => {
    const groups = await cluster.redis.command<unknown[]>([
      "XINFO",
      "GROUPS",
      `${P}inbox:${cluster.engines[1].serverId}`,
    ]).catch(() => []);
    return groups.length === 1;
  }, "bob's server's inbox recreated");
  await alice.sendMessage(text("after-restart", "bob@localhost/b"));
  assert.equal((await nextMessage(bob) as { id: string }).id, "after-restart");
  // New sessions are let in again (once the account store is back too), with the cluster-wide
  // rules.
  await until(
    () => cluster.login(1, "carol@localhost/c").then(() => true, () => false),
    "a new session let in",
  );
  await cluster.refused(0, "bob@localhost/b", 12);
});

Deno.test("RedisEngine registers its sessions again when its keys lapsed (a server stalled past the TTL)", async () => {
  await using cluster = await TestCluster.start(2);
  const alice = await cluster.login(0, "alice@localhost/a");
  const bob = await cluster.login(1, "bob@localhost/b");
  const carol = await cluster.login(1, "carol@localhost/c");
  // What a stall longer than the TTL leaves: bob's server's liveness key and one directory key gone.
  await cluster.redis.command(["DEL", `${P}srv:${cluster.engines[1].serverId}`]);
  await cluster.redis.command(["DEL", `${P}id:bob@localhost`, `${P}id:carol@localhost`]);
  for (const [identity, field] of [["bob", "b"], ["carol", "c"]]) {
    await until(async () => {
      const fields = await cluster.redis.command<string[]>([
        "HKEYS",
        `${P}id:${identity}@localhost`,
      ]);
      return fields.includes(field);
    }, `${identity} registered again`);
  }
  // The other server may have seen it dead meanwhile: it sees it alive again.
  await until(
    () => cluster.engines.every((engine) => engine.stats().deadServers === 0),
    "every server alive",
  );
  await alice.sendMessage(text("after-lapse", "bob@localhost/b"));
  assert.equal((await nextMessage(bob) as { id: string }).id, "after-lapse");
  assert.equal(carol.state, "established");
});
