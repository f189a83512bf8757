/**
 * `/readyz` answers anyone: a flood of it must not become a flood of probes of the engine (a
 * real redis-server counts the PINGs).
 * @module
 */
import assert from "node:assert/strict";
import { KvAccountStore, LimeServer } from "../../mod.ts";
import { RedisEngine } from "../../cluster.ts";
import { RedisServer } from "../cluster/redis_server.ts";

Deno.test("LimeServer /readyz flooded by 300 requests at once costs the Redis engine one PING", async () => {
  await using redis = await RedisServer.start();
  const store = await KvAccountStore.open(":memory:");
  const server = new LimeServer({
    store,
    tcp: false,
    websocket: false,
    http: false,
    engine: new RedisEngine({ url: redis.url }),
  });
  const pings = async () => {
    const info = await redis.command<string>(["INFO", "commandstats"]);
    return Number(/cmdstat_ping:calls=(\d+)/.exec(info)?.[1] ?? 0);
  };
  try {
    await server.start();
    const before = await pings();
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => server.handler(new Request("http://127.0.0.1/readyz"))),
    );
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      await answer.body?.cancel();
    }
    assert.equal(await pings() - before, 1, "one PING served every request");
  } finally {
    await server.shutdown();
    store.close();
  }
});
