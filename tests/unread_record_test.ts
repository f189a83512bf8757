// The record of possibly unread messages (chunks of parallel arrays) against a plain array of
// objects, the shape it replaced: same entries in the same order after any mix of pushes (in
// bursts across many chunks), drops (within a chunk, across several, of everything) and takes.
import assert from "node:assert/strict";
import type { ServerSession } from "../src/server/server_session.ts";
import {
  CHUNK,
  SPARE_CHUNKS,
  type UnreadMessage,
  UnreadRecord,
} from "../src/server/unread_record.ts";
import { mulberry32, randomInt } from "./prng.ts";

const NODE = "reader@localhost/r";
const senders = [1, 2, 3].map((n) => ({ node: `s${n}@localhost/x` }) as unknown as ServerSession);

function check(record: UnreadRecord, model: UnreadMessage[]): void {
  assert.equal(record.length, model.length);
  for (let i = 0; i < model.length; i++) assert.equal(record.markAt(i), model[i].mark);
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  Deno.test(`UnreadRecord behaves as an array of records (seed ${seed})`, () => {
    const random = mulberry32(seed);
    const record = new UnreadRecord();
    let model: UnreadMessage[] = [];
    let mark = 0;
    for (let step = 0; step < 3_000; step++) {
      const r = random();
      if (r < 0.6) {
        // Bursts, so that the arrays grow large and then shrink.
        const count = random() < 0.1 ? randomInt(random, 2_000) : 1 + randomInt(random, 5);
        for (let i = 0; i < count; i++) {
          const sender = senders[randomInt(random, senders.length)];
          const to =
            [NODE, "reader@localhost", undefined, "other@localhost/x"][randomInt(random, 4)];
          mark += 1 + randomInt(random, 500);
          // A mark past 2^30 is not a small integer: the marks array must keep doubles exactly.
          const entry = { sender, id: `m${step}.${i}`, to, mark: mark * 2 ** 21 + 0.5 };
          record.push(entry.sender, entry.id, entry.to, NODE, entry.mark);
          model.push(entry);
        }
      } else if (r < 0.95) {
        const count = randomInt(random, model.length + 2);
        record.dropOldest(count);
        model.splice(0, count);
      } else {
        assert.deepEqual(record.take(NODE), model);
        model = [];
      }
      check(record, model);
    }
    assert.deepEqual(record.take(NODE), model);
    assert.equal(record.length, 0);
    assert.deepEqual(record.take(NODE), []);
  });
}

Deno.test("UnreadRecord keeps no destination equal to the session's node, and gives it back", () => {
  const record = new UnreadRecord();
  const to = ["reader", "@localhost", "/r"].join(""); // equal to NODE, another string
  record.push(senders[0], "a", to, NODE, 10);
  record.push(senders[1], "b", undefined, NODE, 20);
  record.push(senders[2], "c", "Reader@localhost/r", NODE, 30);
  assert.deepEqual(record.take(NODE), [
    { sender: senders[0], id: "a", to: NODE, mark: 10 },
    { sender: senders[1], id: "b", to: undefined, mark: 20 },
    { sender: senders[2], id: "c", to: "Reader@localhost/r", mark: 30 },
  ]);
});

Deno.test("UnreadRecord gives back the memory of a burst once it is dropped", () => {
  const record = new UnreadRecord();
  for (let i = 0; i < 100_000; i++) record.push(senders[0], `m${i}`, NODE, NODE, i);
  const grown = record.capacity;
  assert.ok(grown >= 100_000);
  record.dropOldest(99_990);
  // What is left: the chunk of the last ten entries, and the spare ones.
  assert.ok(
    record.capacity <= (1 + SPARE_CHUNKS) * CHUNK,
    `${record.capacity} of ${grown} slots left`,
  );
  assert.equal(record.length, 10);
  for (let i = 0; i < 10; i++) assert.equal(record.markAt(i), 99_990 + i);
  assert.deepEqual(
    record.take(NODE).map((m) => m.id),
    [...Array(10)].map((_, i) => `m${99_990 + i}`),
  );
  assert.equal(record.capacity, 0);
});

Deno.test("UnreadRecord drops nothing for a count that is not a positive number", () => {
  const record = new UnreadRecord();
  for (let i = 0; i < 10; i++) record.push(senders[0], `m${i}`, NODE, NODE, i);
  for (const count of [0, -3, Number.NaN, -Infinity]) record.dropOldest(count);
  assert.equal(record.length, 10);
  record.dropOldest(1.5); // a whole entry, not half of one
  assert.equal(record.length, 9);
  assert.equal(record.markAt(0), 1);
  record.dropOldest(Infinity);
  assert.equal(record.length, 0);
  record.push(senders[1], "after", undefined, NODE, 42);
  assert.deepEqual(record.take(NODE), [{
    sender: senders[1],
    id: "after",
    to: undefined,
    mark: 42,
  }]);
});
