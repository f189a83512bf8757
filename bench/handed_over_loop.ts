/**
 * `ServerSession.handedOver` in a plain loop (steadier here than `deno bench`, whose figures for
 * it were bimodal on this VM): 3,000,000 fresh parsed messages with UUID ids handed to one session
 * after 500,000 of warm-up, then the same parses alone; prints nanoseconds per message for each.
 * `--queued=N`: what the session's transport says it still holds (0: the record keeps the last
 * 4,096 messages; above 0, every message of the last 16 MiB sent, as under load). `--root=DIR`:
 * the checkout whose `src/` to load (default this one), to compare two commits from one script.
 *
 * `deno run -A bench/handed_over_loop.ts [--queued=4096] [--root=/tmp/other-checkout]`
 * @module
 */
import { parseArgs } from "node:util";
import { checkoutLoader } from "./checkout.ts";
import type { ServerSession as Session } from "../src/server/server_session.ts";
import { handedOverFixture } from "./handed_over_fixture.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { queued: { type: "string", default: "4096" }, root: { type: "string" } },
});
const queued = Number(values.queued);
if (!Number.isSafeInteger(queued) || queued < 0) throw new Error("--queued: a whole number ≥ 0");
const { ServerSession } = await checkoutLoader(values.root)(
  "src/server/server_session.ts",
) as { ServerSession: typeof Session };
const fixture = handedOverFixture(ServerSession, queued);
const MESSAGES = 3_000_000;

function handOver(count: number): void {
  for (let i = 0; i < count; i++) fixture.handOver(i);
}

handOver(500_000);
const start = performance.now();
handOver(MESSAGES);
const handed = performance.now();
for (let i = 0; i < MESSAGES; i++) fixture.parseOnly(i);
const parsed = performance.now();
const ns = (ms: number) => (ms * 1e6 / MESSAGES).toFixed(0);
console.log(
  `handedOver with its parse ${ns(handed - start)} ns, the parse alone ${ns(parsed - handed)} ns ` +
    `per message (queued ${queued}; ${values.root ?? "this checkout"})`,
);
