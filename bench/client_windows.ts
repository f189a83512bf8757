/**
 * What the resilient client's dedupe window costs per received message with an id once full, at
 * 10,000 keys (the default) and 100,000, against a plain `Set` lookup of the same fresh keys (most
 * of it is hashing a key V8 has not hashed yet). `--root=DIR`: the checkout whose `src/` to load
 * (default this one).
 *
 * `deno run -A bench/client_windows.ts [--root=/tmp/other-checkout]`
 * @module
 */
import { parseArgs } from "node:util";
import { checkoutLoader } from "./checkout.ts";

const { values } = parseArgs({ args: Deno.args, options: { root: { type: "string" } } });
const load = checkoutLoader(values.root);
const { DedupeWindow } = await load(
  "src/client/dedupe_window.ts",
) as typeof import("../src/client/dedupe_window.ts");

const COUNT = 200_000;
const ns = (ms: number) => `${(ms * 1e6 / COUNT).toFixed(0)} ns`;
const timed = (work: () => void) => {
  const started = performance.now();
  work();
  return performance.now() - started;
};

for (const size of [10_000, 100_000]) {
  const window = new DedupeWindow(size);
  for (let i = 0; i < size; i++) window.seen(`warm:${i}:${crypto.randomUUID()}`);
  const ids = Array.from({ length: COUNT }, () => crypto.randomUUID());
  const keys = ids.map((id) => `alice@example.org:${id}`);
  const same = ids.map((id) => `alice@example.org:${id}`);
  const plain = new Set<string>();
  const setMs = timed(() => {
    for (const key of same) if (!plain.has(key)) plain.add(key);
  });
  const windowMs = timed(() => {
    for (const key of keys) window.seen(key);
  });
  console.log(
    `dedupe window of ${size}, full: ${ns(windowMs)} a key; a Set's lookup and add ${ns(setMs)}`,
  );
}
