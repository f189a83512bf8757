/**
 * What the resilient client's bounded memories cost per message once full, against a plain `Set`
 * lookup of the same fresh keys (most of it is hashing a key V8 has not hashed yet): the dedupe
 * window (one key per received message with an id) at 10,000 (the default) and 100,000 keys, and
 * the resend tracker when nothing confirms (every sent message with an id overflows) against one
 * that never fills. `--root=DIR`: the checkout whose `src/` to load (default this one).
 *
 * `deno run -A bench/client_windows.ts [--root=/tmp/other-checkout]`
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Deno.args, options: { root: { type: "string" } } });
const root = values.root === undefined
  ? new URL("../", import.meta.url).href
  : `file://${Deno.realPathSync(values.root)}/`;
const load = (path: string) => import(new URL(path, root).href);
const { DedupeWindow } = await load(
  "src/client/dedupe_window.ts",
) as typeof import("../src/client/dedupe_window.ts");
const { ResendTracker } = await load(
  "src/client/resend_tracker.ts",
) as typeof import("../src/client/resend_tracker.ts");
const { Message, Notification } = await load(
  "src/envelope.ts",
) as typeof import("../src/envelope.ts");

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

const messages = (count: number) =>
  Array.from(
    { length: count },
    () => new Message("text/plain", "x", { id: crypto.randomUUID(), to: "bob@example.org/a" }),
  );
const never = new ResendTracker({ limit: Infinity });
const confirmed = messages(COUNT);
const receipts = confirmed.map((m) => new Notification("received", { id: m.id }));
const neverMs = timed(() => {
  for (let i = 0; i < COUNT; i++) {
    never.track(confirmed[i], 0);
    if (i >= 256) never.settle(receipts[i - 256]);
  }
});
const full = new ResendTracker();
for (const m of messages(10_000)) full.track(m, 0);
const unconfirmed = messages(COUNT);
const fullMs = timed(() => {
  for (const m of unconfirmed) full.track(m, 0);
});
console.log(
  `resend tracker, full (every message overflows): ${ns(fullMs)} a message; ` +
    `confirmed 256 messages later: ${ns(neverMs)}`,
);
