/**
 * AgedMap against a list model (random sets, re-sets, deletes and evictions, seeded), and the cost
 * of evicting the oldest entry of a full map, against a plain Map's `set` of the same fresh keys
 * in the same run (a plain Map's first key, once thousands were deleted at its front, took
 * thousands of steps to find).
 */
import assert from "node:assert/strict";
import { mulberry32 } from "./prng.ts";
import { AgedMap } from "../src/aged_map.ts";

Deno.test("AgedMap answers as a list of entries ordered by their last set does", () => {
  for (const keys of [1, 5, 40, 3000]) {
    const next = mulberry32(keys);
    const map = new AgedMap<string, number>();
    let model: [string, number][] = [];
    for (let step = 0; step < 30_000; step++) {
      const key = `k${Math.floor(next() * keys)}`;
      const roll = next();
      const where = `${keys} keys, step ${step}`;
      if (roll < 0.45) {
        map.set(key, step);
        model = model.filter(([k]) => k !== key);
        model.push([key, step]);
      } else if (roll < 0.7) {
        assert.equal(map.delete(key), model.some(([k]) => k === key), where);
        model = model.filter(([k]) => k !== key);
      } else if (roll < 0.85) {
        assert.deepEqual(map.deleteOldest(), model.shift(), where);
      } else {
        assert.deepEqual(map.oldest(), model[0], where);
      }
      assert.equal(map.size, model.length, where);
      assert.equal(map.get(key), model.find(([k]) => k === key)?.[1], where);
      assert.equal(map.has(key), model.some(([k]) => k === key), where);
      if (step % 997 === 0) assert.deepEqual(map.entries(), model, where);
    }
    assert.deepEqual(map.entries(), model);
    map.clear();
    assert.equal(map.size, 0);
    assert.equal(map.oldest(), undefined);
    assert.equal(map.deleteOldest(), undefined);
    map.set("again", 1);
    assert.deepEqual(map.entries(), [["again", 1]]);
  }
});

Deno.test("AgedMap: changing the map while going through entries() is safe", () => {
  const map = new AgedMap<number, number>();
  for (let i = 0; i < 5_000; i++) map.set(i, i);
  const seen: number[] = [];
  for (const [key] of map.entries()) {
    seen.push(key);
    map.delete(key);
    map.set(key + 10_000, key);
  }
  assert.equal(seen.length, 5_000);
  assert.deepEqual(map.entries().map(([key]) => key), seen.map((key) => key + 10_000));
});

Deno.test("AgedMap evicts from a full map at about the cost of a plain Map's set", () => {
  for (const size of [10_000, 100_000]) {
    const aged = new AgedMap<string, number>();
    for (let i = 0; i < size; i++) aged.set(`warm:${i}`, i);
    const ids = Array.from({ length: 200_000 }, () => crypto.randomUUID());
    const keys = ids.map((id) => `a:${id}`);
    const same = ids.map((id) => `a:${id}`);
    const plain = new Map<string, number>();
    let started = performance.now();
    for (let i = 0; i < same.length; i++) plain.set(same[i], i);
    const plainMs = performance.now() - started;
    started = performance.now();
    for (let i = 0; i < keys.length; i++) {
      aged.deleteOldest();
      aged.set(keys[i], i);
    }
    const agedMs = performance.now() - started;
    assert.equal(aged.size, size);
    assert.deepEqual(aged.oldest(), [keys[200_000 - size], 200_000 - size]);
    // ~1-2x here; a plain Map's first key made the same loop 10x (10,000) and 30x (100,000).
    assert.ok(
      agedMs < 4 * plainMs + 50,
      `${size} entries: ${agedMs.toFixed(0)} ms for 200,000 evictions, a Map's sets ${
        plainMs.toFixed(0)
      } ms`,
    );
  }
});
