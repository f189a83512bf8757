// Model test: HeapClock over a ManualClock must behave like the ManualClock itself
// (deadline order, ties in schedule order), with callbacks that schedule and cancel others.
import assert from "node:assert/strict";
import { ManualClock, type TimerHandle } from "../src/clock.ts";
import { HeapClock } from "../src/server/heap_clock.ts";

function run(
  seed: number,
  make: (
    m: ManualClock,
  ) => { setTimeout: ManualClock["setTimeout"]; clearTimeout: ManualClock["clearTimeout"] },
) {
  const base = new ManualClock();
  const clock = make(base);
  let s = seed;
  const rnd = () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const log: string[] = [];
  const live: TimerHandle[] = [];
  let n = 0;
  const schedule = (depth: number) => {
    const id = n++;
    const h = clock.setTimeout(() => {
      log.push(`${id}@${base.now()}`);
      if (depth < 3 && rnd() < 0.5) schedule(depth + 1);
      if (live.length && rnd() < 0.4) {
        clock.clearTimeout(live.splice(Math.floor(rnd() * live.length), 1)[0]);
      }
    }, Math.floor(rnd() * 20));
    live.push(h);
  };
  for (let step = 0; step < 300; step++) {
    const r = rnd();
    if (r < 0.5) schedule(0);
    else if (r < 0.7 && live.length) {
      clock.clearTimeout(live.splice(Math.floor(rnd() * live.length), 1)[0]);
    } else base.advance(Math.floor(rnd() * 7));
  }
  base.advance(1000);
  return log;
}

Deno.test("HeapClock matches ManualClock on random schedules with nested schedule/cancel", () => {
  for (let seed = 1; seed < 300; seed++) {
    const expected = run(seed, (m) => m);
    const actual = run(seed, (m) => new HeapClock(m));
    assert.deepEqual(actual, expected, `seed ${seed}`);
  }
});

Deno.test("HeapClock ignores another HeapClock's handle", () => {
  const base = new ManualClock();
  const a = new HeapClock(base), b = new HeapClock(base);
  const ran: string[] = [];
  const ha = a.setTimeout(() => ran.push("a"), 5);
  b.setTimeout(() => ran.push("b"), 5);
  b.clearTimeout(ha); // same index 0 in b's heap
  base.advance(5);
  assert.deepEqual(ran.sort(), ["a", "b"]);
});
