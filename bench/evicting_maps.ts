/**
 * What the server's and the HTTP edge's bounded memories cost per new key once full (each new key
 * forgets the oldest), against a plain `Map`'s `set` of the same fresh keys: the login throttle's
 * failures (100,000 keys), the cluster's cache of remote nodes (100,000), the HTTP credential
 * cache (10,000) and a webhook bot's replay guard (10,000 signatures). They found their oldest key
 * as a `Map`'s first, which V8 reaches by walking every entry deleted since the table's last
 * rehash; they use `AgedMap` now. `--root=DIR`: the checkout whose `src/` to load (default this
 * one), to compare two commits from one script.
 *
 * `deno run -A bench/evicting_maps.ts [--root=/tmp/other-checkout]`
 * @module
 */
import { parseArgs } from "node:util";
import { checkoutLoader } from "./checkout.ts";

const { values } = parseArgs({ args: Deno.args, options: { root: { type: "string" } } });
const load = checkoutLoader(values.root);
const { ManualClock } = await load("src/clock.ts") as typeof import("../src/clock.ts");
const { LoginThrottle } = await load(
  "src/server/guard/login_throttle.ts",
) as typeof import("../src/server/guard/login_throttle.ts");
const { DirectoryCache } = await load(
  "src/cluster/directory_cache.ts",
) as typeof import("../src/cluster/directory_cache.ts");
const { CredentialCache } = await load(
  "src/http/credential_cache.ts",
) as typeof import("../src/http/credential_cache.ts");
const { ReplayGuard } = await load(
  "src/http/replay_guard.ts",
) as typeof import("../src/http/replay_guard.ts");
type Entry = import("../src/cluster/directory_entry.ts").DirectoryEntry;

const COUNT = 100_000;

/** µs per call of `add` on fresh keys once `fill` filled it, and a plain Map's set of them. */
function measure(name: string, fill: (key: string) => void, add: (key: string) => void): void {
  for (let i = 0; i < 100_000; i++) fill(`warm-${i}`);
  const ids = Array.from({ length: COUNT }, () => crypto.randomUUID());
  const keys = ids.map((id) => `user-${id}`);
  const same = ids.map((id) => `user-${id}`);
  const plain = new Map<string, number>();
  let started = performance.now();
  for (let i = 0; i < COUNT; i++) plain.set(same[i], i);
  const plainMs = performance.now() - started;
  started = performance.now();
  for (const key of keys) add(key);
  const ms = performance.now() - started;
  const ns = (value: number) => `${(value * 1e6 / COUNT).toFixed(0)} ns`;
  console.log(`${name}: ${ns(ms)} a new key (a Map's set: ${ns(plainMs)})`);
}

const clock = new ManualClock();
const throttle = new LoginThrottle(clock);
const fail = (key: string) => throttle.failed(`${key}@example.org`, undefined);
measure("login throttle, 100,000 keys", fail, fail);

const nodes = new DirectoryCache(3_600_000);
const remember = (key: string) =>
  nodes.rememberNode({ nodeKey: `${key}@example.org/a`, server: "s1" } as Entry, 0);
measure("cluster node cache, 100,000 nodes", remember, remember);

const credentials = new CredentialCache(clock, { maxEntries: 10_000 });
const verified = (key: string) => credentials.set(key, { identityKey: key, hash: "h" });
measure("HTTP credential cache, 10,000 entries", verified, verified);

const guard = new ReplayGuard(300_000);
const signed = (key: string) => guard.firstSignature(key, Date.now());
measure("webhook replay guard, 10,000 signatures", signed, signed);
