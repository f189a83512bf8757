import assert from "node:assert/strict";
import { ManualClock } from "../src/clock.ts";
import { HeapClock } from "../src/server/heap_clock.ts";

Deno.test("HeapClock runs callbacks in deadline order on one timer of its base clock", () => {
  const base = new ManualClock();
  const clock = new HeapClock(base);
  const ran: string[] = [];
  clock.setTimeout(() => ran.push("c"), 30);
  clock.setTimeout(() => ran.push("a"), 10);
  clock.setTimeout(() => ran.push("b"), 20);
  clock.setTimeout(() => ran.push("a2"), 10); // a tie runs in the order scheduled
  assert.equal(base.pending, 1, "one base timer for all of them");
  assert.equal(clock.pending, 4);
  base.advance(9);
  assert.deepEqual(ran, []);
  base.advance(1);
  assert.deepEqual(ran, ["a", "a2"]);
  base.advance(20);
  assert.deepEqual(ran, ["a", "a2", "b", "c"]);
  assert.equal(clock.pending, 0);
  assert.equal(base.pending, 0, "nothing left armed");
});

Deno.test("HeapClock cancels any entry; cancelling twice, or after it ran, does nothing", () => {
  const base = new ManualClock();
  const clock = new HeapClock(base);
  const ran: number[] = [];
  const handles = [50, 10, 40, 20, 30].map((ms) => clock.setTimeout(() => ran.push(ms), ms));
  clock.clearTimeout(handles[1]); // the earliest
  clock.clearTimeout(handles[2]); // one in the middle
  clock.clearTimeout(handles[2]);
  clock.clearTimeout(undefined);
  clock.clearTimeout(42);
  base.advance(100);
  assert.deepEqual(ran, [20, 30, 50]);
  clock.clearTimeout(handles[0]); // already ran
  assert.equal(clock.pending, 0);
  const last = clock.setTimeout(() => ran.push(1), 1);
  clock.clearTimeout(last);
  assert.equal(base.pending, 0, "the base timer goes with the last entry");
});

Deno.test("HeapClock: what a callback schedules runs after it, at 0 ms in a later run", () => {
  const base = new ManualClock();
  const clock = new HeapClock(base);
  const ran: string[] = [];
  let again = 3;
  const tick = () => {
    ran.push(`tick at ${base.now()}`);
    if (--again > 0) clock.setTimeout(tick, 0);
  };
  clock.setTimeout(tick, 5);
  clock.setTimeout(() => ran.push("later"), 7);
  base.advance(10);
  assert.deepEqual(ran, ["tick at 5", "tick at 5", "tick at 5", "later"]);
});

Deno.test("HeapClock: a callback that throws does not stop the others; the error surfaces", () => {
  const base = new ManualClock();
  const clock = new HeapClock(base);
  const ran: string[] = [];
  clock.setTimeout(() => ran.push("first"), 1);
  clock.setTimeout(() => {
    throw new Error("boom");
  }, 1);
  clock.setTimeout(() => ran.push("third"), 1);
  clock.setTimeout(() => ran.push("next"), 5);
  assert.throws(() => base.advance(1), /boom/);
  assert.deepEqual(ran, ["first", "third"]);
  base.advance(10);
  assert.deepEqual(ran, ["first", "third", "next"], "still armed for the next deadline");
});

Deno.test("HeapClock keeps deadline order over many random timers and cancels", () => {
  const base = new ManualClock();
  const clock = new HeapClock(base);
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const fired: number[] = [];
  const live = new Map<number, unknown>();
  for (let i = 0; i < 2_000; i++) {
    const at = Math.floor(random() * 1_000);
    live.set(i, clock.setTimeout(() => fired.push(at), at));
    if (random() < 0.3) {
      const victim = Math.floor(random() * i);
      if (live.has(victim)) {
        clock.clearTimeout(live.get(victim));
        live.delete(victim);
      }
    }
  }
  const expected = live.size;
  base.advance(1_000);
  assert.equal(fired.length, expected);
  for (let i = 1; i < fired.length; i++) assert.ok(fired[i - 1] <= fired[i], "in deadline order");
});

Deno.test("HeapClock on the system clock fires real timers", async () => {
  const clock = new HeapClock();
  const order: number[] = [];
  await new Promise<void>((resolve) => {
    clock.setTimeout(() => order.push(2), 20);
    clock.setTimeout(() => order.push(1), 5);
    const cancelled = clock.setTimeout(() => order.push(99), 10);
    clock.clearTimeout(cancelled);
    clock.setTimeout(() => {
      order.push(3);
      resolve();
    }, 30);
  });
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(clock.pending, 0);
});

Deno.test("HeapClock: a deadline beyond 2^31 - 1 ms arms the base timer once, for the longest it takes", () => {
  const base = new ManualClock();
  const delays: number[] = [];
  const clock = new HeapClock({
    now: () => base.now(),
    setTimeout: (callback, ms) => (delays.push(ms), base.setTimeout(callback, ms)),
    clearTimeout: (handle) => base.clearTimeout(handle),
  });
  let ran = false;
  clock.setTimeout(() => ran = true, 2 ** 32);
  assert.deepEqual(delays, [2 ** 31 - 1]);
  base.advance(2 ** 31 - 1);
  assert.equal(ran, false);
  assert.equal(delays.length, 2, "re-armed for the rest");
  base.advance(2 ** 32 - (2 ** 31 - 1));
  assert.equal(ran, true);
});

Deno.test("HeapClock: when several callbacks throw, each error surfaces", async () => {
  const base = new ManualClock();
  const clock = new HeapClock(base);
  clock.setTimeout(() => {
    throw new Error("first");
  }, 1);
  clock.setTimeout(() => {
    throw new Error("second");
  }, 1);
  const surfaced: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    surfaced.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    assert.throws(() => base.advance(1), /first/);
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    globalThis.removeEventListener("error", onError);
  }
  assert.deepEqual(surfaced.map((error) => (error as Error).message), ["second"]);
});
