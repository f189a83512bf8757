/** `deno task start --engine=redis`: the flags of a cluster server. */
import assert from "node:assert/strict";
import { parseServerArgs, UsageError } from "../../src/server/main_args.ts";

const io = { env: () => undefined, readFile: () => Promise.reject(new Error("no files")) };

async function cluster(args: string[]) {
  const parsed = await parseServerArgs(args, io);
  assert.equal(parsed.action, "run");
  return parsed.action === "run" ? parsed.config.cluster : undefined;
}

Deno.test("parseServerArgs takes --engine=redis with its Redis URL and TTL", async () => {
  assert.equal(await cluster([]), undefined);
  assert.equal(await cluster(["--engine=memory"]), undefined);
  assert.deepEqual(await cluster(["--engine=redis"]), {
    redis: "redis://127.0.0.1:6379",
    ttl: 15_000,
  });
  assert.deepEqual(
    await cluster([
      "--engine",
      "redis",
      "--redis=rediss://user:pw@redis.example:6380",
      "--cluster-ttl=3000",
    ]),
    { redis: "rediss://user:pw@redis.example:6380", ttl: 3000 },
  );
});

Deno.test("parseServerArgs refuses a bad engine, URL or TTL, and cluster flags without the engine", async () => {
  for (
    const [args, message] of [
      [["--engine=etcd"], /--engine must be memory or redis/],
      [["--engine=redis", "--redis=http://x"], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
      [["--engine=redis", "--cluster-ttl=10"], /--cluster-ttl must be an integer from 300/],
      [["--redis=redis://x:1"], /--redis and --cluster-ttl go with --engine=redis/],
    ] as const
  ) {
    const error = await parseServerArgs([...args], io).then(() => undefined, (caught) => caught);
    assert.ok(error instanceof UsageError, String(args));
    assert.match(error.message, message);
  }
});
