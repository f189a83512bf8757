/**
 * `/healthz` and `/readyz`: on the HTTP port of `deno task start` with a Redis cluster engine
 * (readyz 503 once that Redis is stopped, healthz still 200; 503 while stopping), and in
 * `server.handler` (503 before start and from shutdown on).
 * @module
 */
import assert from "node:assert/strict";
import { KvAccountStore, LimeServer } from "../../mod.ts";
import { RedisServer } from "../cluster/redis_server.ts";
import { StartProcess } from "../server_start_helpers.ts";
import { within } from "../tcp_helpers.ts";

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

Deno.test("LimeServer.handler answers /healthz 200 and /readyz 503 before start, 200 when started, 503 from shutdown on", async () => {
  const store = await KvAccountStore.open(":memory:");
  const server = new LimeServer({ store, tcp: false, websocket: false, http: false });
  const ask = async (path: string) => {
    const response = await server.handler(new Request(`http://127.0.0.1${path}`));
    return { status: response.status, body: await response.json() };
  };
  try {
    assert.deepEqual(await ask("/healthz"), { status: 200, body: { status: "ok" } });
    assert.deepEqual(await ask("/readyz"), {
      status: 503,
      body: { status: "not ready", problem: "the listeners are not started" },
    });
    await server.start();
    assert.deepEqual(await ask("/readyz"), { status: 200, body: { status: "ready" } });
    const stopping = server.shutdown();
    assert.deepEqual(await ask("/readyz"), {
      status: 503,
      body: { status: "not ready", problem: "the server is stopping" },
    });
    await stopping;
    assert.equal((await ask("/healthz")).status, 200);
  } finally {
    await server.shutdown();
    store.close();
  }
});

Deno.test("deno task start --engine=redis: /readyz is 503 once Redis is stopped, /healthz stays 200", async () => {
  await using redis = await RedisServer.start();
  await using server = new StartProcess([
    "--tcp=127.0.0.1:0",
    "--ws=off",
    "--engine=redis",
    `--redis=${redis.url}`,
  ]);
  const match = await within(
    server.stdout.find(/HTTP\s+(http:\/\/127\.0\.0\.1:\d+)/, () => server.exited),
    10_000,
    "the HTTP address line",
  );
  const base = match[1];
  assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: { status: "ok" } });
  assert.deepEqual(await get(`${base}/readyz`), { status: 200, body: { status: "ready" } });
  await redis.stop();
  const until = Date.now() + 10_000;
  let ready = await get(`${base}/readyz`);
  while (ready.status !== 503 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    ready = await get(`${base}/readyz`);
  }
  assert.deepEqual(ready, {
    status: 503,
    body: { status: "not ready", problem: "the redis engine is not reachable" },
  });
  assert.equal((await get(`${base}/healthz`)).status, 200);
});
