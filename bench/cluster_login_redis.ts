/**
 * What a guest login and logout costs Redis in a cluster: 50 of them (after a warm-up of 5) on a
 * two-server `TestCluster` (a `redis-server` of its own on a free port), alternating servers, and
 * the Redis commands per login from `INFO commandstats` (the directory scripts count as their
 * `EVALSHA`; what the scripts call inside is listed too: `hget`, `hset`, ...).
 *
 * `deno run -A bench/cluster_login_redis.ts [--logins=50]`
 * @module
 */
import { TestCluster } from "../tests/cluster/cluster_helpers.ts";
import { numberOption } from "./cli_option.ts";

const LOGINS = numberOption("logins", 50, { min: 1, max: 10_000, integer: true });

await using cluster = await TestCluster.start(2);
const calls = async (): Promise<Map<string, number>> => {
  const info = await cluster.redis.command<string>(["INFO", "commandstats"]);
  const counts = new Map<string, number>();
  for (const line of info.split("\n")) {
    const match = /^cmdstat_(\w+):calls=(\d+)/.exec(line.trim());
    if (match) counts.set(match[1], Number(match[2]));
  }
  return counts;
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
for (let i = 0; i < 5; i++) await (await cluster.login(i % 2, `warm${i}@localhost/x`)).finish();
await settle();
const before = await calls();
for (let i = 0; i < LOGINS; i++) {
  await (await cluster.login(i % 2, `guest${i}@localhost/x`)).finish();
}
await settle();
const perLogin = [...await calls()]
  .map(([command, count]) => [command, (count - (before.get(command) ?? 0)) / LOGINS] as const)
  .filter(([command, count]) => count > 0 && command !== "info")
  .sort((a, b) => b[1] - a[1]);
console.log(
  `Redis commands per guest login and logout (${LOGINS}, two servers): ` +
    perLogin.map(([command, count]) => `${command} ${count.toFixed(2)}`).join(", "),
);
