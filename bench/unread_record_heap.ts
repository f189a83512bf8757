/**
 * The V8 heap one entry of the slow-reader record takes, besides its id: 100,000 entries as the
 * record kept them before `unread_record.ts` (an object per message in an array) and as
 * `UnreadRecord` keeps them, each measured after a collection, with the ids made beforehand (so
 * that neither side counts them) and marks past 2^31 (not small integers).
 *
 * `deno run --v8-flags=--expose-gc bench/unread_record_heap.ts`
 * @module
 */
import type { ServerSession } from "../src/server/server_session.ts";
import { UnreadRecord } from "../src/server/unread_record.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const ENTRIES = 100_000;
const NODE = "reader@localhost/r";
const sender = { node: "sender@localhost/s" } as unknown as ServerSession;
const ids = Array.from({ length: ENTRIES }, () => crypto.randomUUID());
const MARK = 3_000_000_000;

function heapFor(fill: () => unknown): number {
  gc!();
  const before = Deno.memoryUsage().heapUsed;
  const kept = fill();
  gc!();
  const bytes = Deno.memoryUsage().heapUsed - before;
  if (kept === undefined) throw new Error("unreachable"); // kept alive until measured
  return bytes / ENTRIES;
}

const objects = heapFor(() => {
  const record: unknown[] = [];
  for (let i = 0; i < ENTRIES; i++) {
    record.push({ sender, id: ids[i], to: NODE, mark: MARK + i * 200 });
  }
  return record;
});
const chunks = heapFor(() => {
  const record = new UnreadRecord();
  for (let i = 0; i < ENTRIES; i++) record.push(sender, ids[i], NODE, NODE, MARK + i * 200);
  return record;
});
console.log(
  `heap per record entry besides its id (${ENTRIES.toLocaleString("en-US")} entries): ` +
    `${objects.toFixed(1)} bytes as objects in an array, ${
      chunks.toFixed(1)
    } bytes in UnreadRecord`,
);
