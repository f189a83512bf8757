/**
 * Clearing array slots so that what they held can be collected, as `SendQueue`'s pump and
 * `UnreadRecord.dropOldest` do: `Array.prototype.fill(undefined, start, end)` against a loop, for
 * one slot per call (a written batch of one envelope) and for a whole range at once, on a
 * 256-slot array of objects copied per iteration (the copy is in both).
 *
 * `deno bench bench/clear_slots_bench.ts`
 * @module
 */
const SLOTS = 256;
const objects: ({ text: string } | undefined)[] = Array.from(
  { length: SLOTS },
  (_, i) => ({ text: `envelope ${i}` }),
);

Deno.bench("fill, one slot per call (236 calls)", { group: "one", baseline: true }, () => {
  const slots = objects.slice();
  for (let i = 10; i < SLOTS - 10; i++) slots.fill(undefined, i, i + 1);
});

Deno.bench("loop, one slot per call (236 calls)", { group: "one" }, () => {
  const slots = objects.slice();
  for (let i = 10; i < SLOTS - 10; i++) {
    for (let j = i; j < i + 1; j++) slots[j] = undefined;
  }
});

Deno.bench("fill, 236 slots at once", { group: "range", baseline: true }, () => {
  objects.slice().fill(undefined, 10, SLOTS - 10);
});

Deno.bench("loop, 236 slots at once", { group: "range" }, () => {
  const slots = objects.slice();
  for (let i = 10; i < SLOTS - 10; i++) slots[i] = undefined;
});
