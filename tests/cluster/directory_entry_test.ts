import assert from "node:assert/strict";
import { DirectoryCache } from "../../src/cluster/directory_cache.ts";
import { decodeEntry, encodeEntry, IdentitySnapshot } from "../../src/cluster/directory_entry.ts";
import { ServerLiveness } from "../../src/cluster/server_liveness.ts";

const presence = {
  status: "busy" as const,
  routingRule: "identityByPriority" as const,
  priority: 7,
};

Deno.test("encodeEntry packs a session in a few bytes and decodeEntry reads it back", () => {
  const value = encodeEntry({ server: "s1", tag: "a", scheme: "plain", presence });
  assert.equal(value, "s1|a|p|2|2|7");
  assert.deepEqual(decodeEntry("bob@localhost", "phone", value), {
    nodeKey: "bob@localhost/phone",
    server: "s1",
    tag: "a",
    scheme: "plain",
    guest: false,
    presence,
  });
});

Deno.test("decodeEntry refuses what is not an entry", () => {
  for (
    const value of ["", "s1|a|p|2|2", "s1|a|z|2|2|7", "s1|a|p|9|2|7", "|a|p|2|2|7", "s1|a|p|1|1|x"]
  ) {
    assert.equal(decodeEntry("bob@localhost", "x", value), undefined, value);
  }
});

Deno.test("IdentitySnapshot reads a hash, answers by node and identity, and drops dead servers", () => {
  const snapshot = new IdentitySnapshot("bob@localhost", [
    "#v",
    "12",
    "phone",
    encodeEntry({ server: "s1", tag: "0", scheme: "guest", presence }),
    "desk",
    encodeEntry({ server: "s2", tag: "1", scheme: "key", presence }),
    "junk",
    "not an entry",
  ]);
  assert.equal(snapshot.version, 12);
  assert.equal(snapshot.entries.size, 2);
  assert.equal(snapshot.byNodeKey("bob@localhost/desk")?.server, "s2");
  assert.equal(snapshot.byNodeKey("eve@localhost/desk"), undefined);
  assert.equal(snapshot.byIdentityKey("bob@localhost").length, 2);
  const live = snapshot.live((server) => server !== "s2");
  assert.deepEqual([...live.entries.keys()], ["phone"]);
  assert.equal(live.version, 12);
});

Deno.test("DirectoryCache keeps the newest snapshot, trusts it only while connected", () => {
  const cache = new DirectoryCache(1000);
  const at = (version: number) => new IdentitySnapshot("bob@localhost", ["#v", String(version)]);
  cache.install(at(5), true);
  assert.equal(cache.fresh("bob@localhost")?.version, 5);
  cache.notice(at(4));
  assert.equal(cache.fresh("bob@localhost")?.version, 5);
  cache.notice(at(9));
  assert.equal(cache.fresh("bob@localhost")?.version, 9);
  cache.distrust();
  assert.equal(cache.fresh("bob@localhost"), undefined);
  cache.install(at(10), true);
  assert.equal(cache.fresh("bob@localhost"), undefined, "not trusted before re-registration");
  cache.trusting = true;
  cache.install(at(10), true);
  assert.equal(cache.fresh("bob@localhost")?.version, 10);
  cache.drop("bob@localhost");
  assert.equal(cache.fresh("bob@localhost"), undefined);
});

Deno.test("DirectoryCache remembers remote nodes briefly and forgets a dead server's", () => {
  const cache = new DirectoryCache(100);
  const entry = decodeEntry("bob@localhost", "b", "s9|0|g|1|1|0")!;
  cache.rememberNode(entry, 1000);
  assert.equal(cache.node("bob@localhost/b", 1050)?.server, "s9");
  assert.equal(cache.node("bob@localhost/b", 1100), undefined);
  cache.rememberNode(entry, 2000);
  cache.forgetServer("s9");
  assert.equal(cache.node("bob@localhost/b", 2001), undefined);
});

Deno.test("ServerLiveness turns a server dead at once and gone after two heartbeats", () => {
  const liveness = new ServerLiveness("me");
  assert.deepEqual(liveness.update(["me", "a", "b"], [true, true, false]), {
    died: ["b"],
    gone: [],
  });
  assert.equal(liveness.isAlive("b"), false);
  assert.equal(liveness.isAlive("unknown"), true);
  assert.deepEqual(liveness.update(["me", "a", "b"], [true, true, false]), {
    died: [],
    gone: ["b"],
  });
  // Its key came back (a Redis restart): alive again.
  assert.deepEqual(liveness.update(["me", "b"], [true, true]), { died: [], gone: [] });
  assert.equal(liveness.isAlive("b"), true);
});
