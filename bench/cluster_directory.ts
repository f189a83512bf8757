/**
 * The directory part of `cluster_load.ts`: what a session costs Redis and its server. Guests of
 * distinct identities (bots) connect to one server on the Redis engine; Redis's `used_memory` and
 * the directory keys' `MEMORY USAGE` before and after, the server's RSS, how fast they register,
 * and what a heartbeat's `PEXPIRE` of their keys costs Redis.
 * @module
 */
import { createClient } from "npm:redis@6.4.0";
import type { RedisServer } from "../tests/cluster/redis_server.ts";
import { RawTcpClient } from "./raw_tcp_client.ts";
import type { ServerProcess } from "./server_process.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Redis's CPU time (user + sys), ms, and `used_memory`, bytes. */
export async function redisInfo(redis: RedisServer): Promise<{ cpuMs: number; memory: number }> {
  const text = await redis.command<string>(["INFO"]);
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1]);
  return {
    cpuMs: (field("used_cpu_user") + field("used_cpu_sys")) * 1000,
    memory: field("used_memory"),
  };
}

/** Directory bytes per session: `sessions` guests of distinct identities on `server`. */
export async function directory(server: ServerProcess, redis: RedisServer, sessions: number) {
  const client = createClient({ url: redis.url, RESP: 2 });
  client.on("error", () => {});
  await client.connect();
  const call = <T>(args: (string | number)[]) => client.sendCommand(args.map(String)) as Promise<T>;
  const directoryKeys = async () => {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, found] = await call<[string, string[]]>([
        "SCAN",
        cursor,
        "MATCH",
        "lime:localhost:id:*",
        "COUNT",
        1000,
      ]);
      cursor = next;
      keys.push(...found);
    } while (cursor !== "0");
    return keys;
  };
  const usage = async () => {
    const keys = await directoryKeys();
    const sizes = await Promise.all(
      keys.map((key) => call<number | null>(["MEMORY", "USAGE", key, "SAMPLES", 0])),
    );
    return { bytes: sizes.reduce<number>((a, b) => a + (b ?? 0), 0), keys: keys.length };
  };
  const memory = async () => (await server.request("mem")).rss as number;
  const before = { redis: await redisInfo(redis), keys: await usage(), rss: await memory() };
  const clients: RawTcpClient[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 100 }, async () => {
    for (let k = next++; k < sessions; k = next++) {
      clients.push(await RawTcpClient.establish(server.tcp, `bot${k}@localhost/b`));
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  await sleep(500);
  const after = { redis: await redisInfo(redis), keys: await usage(), rss: await memory() };
  // What a heartbeat costs Redis per identity: one PEXPIRE each, pipelined.
  const keys = await directoryKeys();
  const cpu0 = (await redisInfo(redis)).cpuMs;
  for (let i = 0; i < keys.length; i += 1000) {
    await Promise.all(keys.slice(i, i + 1000).map((key) => call(["PEXPIRE", key, 15_000])));
  }
  const pexpireUs = ((await redisInfo(redis)).cpuMs - cpu0) * 1000 / keys.length;
  client.destroy();
  for (const client of clients) client.close();
  return {
    sessions: clients.length,
    perSecond: clients.length / seconds,
    usedMemory: (after.redis.memory - before.redis.memory) / clients.length,
    keyBytes: (after.keys.bytes - before.keys.bytes) / clients.length,
    keys: after.keys.keys - before.keys.keys,
    rss: (after.rss - before.rss) / clients.length,
    pexpireUs,
  };
}
