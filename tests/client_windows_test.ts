/**
 * The resilient client's two bounded memories against plain models: the dedupe window (the last
 * N message keys received) and the resend tracker's overflow (the least recently tracked
 * unconfirmed message becomes a dead letter). And the dedupe window at scale: it once found its
 * oldest key by walking its Set from the start, over every key deleted since the last rehash,
 * thousands of steps per message once full (4.2-4.3 µs a key at its default 10,000, 24 µs at
 * 100,000). The timing test compares it with a plain `Set` doing the same lookups on the same
 * fresh keys in the same run, so a slower machine does not fail it.
 */
import assert from "node:assert/strict";
import { mulberry32 } from "./prng.ts";
import { DedupeWindow } from "../src/client/dedupe_window.ts";
import { ResendTracker } from "../src/client/resend_tracker.ts";
import { Message, Notification } from "../src/envelope.ts";

Deno.test("DedupeWindow answers as a list of the last N distinct keys does", () => {
  for (const size of [1, 2, 3, 17, 100]) {
    const next = mulberry32(size);
    const window = new DedupeWindow(size);
    const model: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      // Keys from a pool a little larger than the window: repeats both inside and outside it.
      const key = `k${Math.floor(next() * size * 1.5)}`;
      const expected = model.includes(key);
      assert.equal(window.seen(key), expected, `size ${size}, step ${i}, key ${key}`);
      if (!expected) {
        model.push(key);
        if (model.length > size) model.shift();
      }
    }
  }
});

Deno.test("DedupeWindow costs a key about what a Set lookup of it does, however large", () => {
  for (const size of [10_000, 100_000]) {
    const window = new DedupeWindow(size);
    const warm = Array.from({ length: size }, (_, i) => `warm:${i}:${crypto.randomUUID()}`);
    for (const key of warm) window.seen(key); // full: every new key now forgets the oldest
    const ids = Array.from({ length: 100_000 }, () => crypto.randomUUID());
    // The keys as the client makes them, twice over: equal strings, each hashed on first use.
    const keys = ids.map((id) => `alice@example.org:${id}`);
    const same = ids.map((id) => `alice@example.org:${id}`);
    const plain = new Set<string>();
    let started = performance.now();
    for (const key of same) if (!plain.has(key)) plain.add(key);
    const setMs = performance.now() - started;
    started = performance.now();
    for (const key of keys) window.seen(key);
    const windowMs = performance.now() - started;
    // 2-3x here; a walk from the start made it 8x (10,000) and 50x (100,000).
    assert.ok(
      windowMs < 6 * setMs + 50,
      `window ${size}: ${windowMs.toFixed(0)} ms for 100,000 keys, a Set ${setMs.toFixed(0)} ms`,
    );
    assert.equal(window.seen(keys.at(-1)!), true);
    assert.equal(window.seen(warm[0]), false, "the oldest keys were forgotten");
  }
});

const message = (id: string) => new Message("text/plain", "x", { id, to: "bob@example.org/a" });

/** The tracker's overflow as a list: re-tracking moves a message to the end. */
class TrackerModel {
  order: string[] = [];
  constructor(readonly limit: number) {}
  track(id: string): string | undefined {
    const at = this.order.indexOf(id);
    if (at >= 0) this.order.splice(at, 1);
    this.order.push(id);
    return this.order.length > this.limit ? this.order.shift() : undefined;
  }
  settle(id: string): void {
    const at = this.order.indexOf(id);
    if (at >= 0) this.order.splice(at, 1);
  }
}

Deno.test("ResendTracker dead-letters the least recently tracked message, as a list does", () => {
  for (const limit of [1, 3, 50]) {
    const next = mulberry32(limit + 7);
    const tracker = new ResendTracker({ limit, maxResends: 1_000 });
    const model = new TrackerModel(limit);
    for (let i = 0; i < 20_000; i++) {
      const id = `m${Math.floor(next() * limit * 3)}`;
      if (next() < 0.3) {
        tracker.settle(new Notification("received", { id }));
        model.settle(id);
        continue;
      }
      const dead = tracker.track(message(id), i);
      const expected = model.track(id);
      assert.equal(dead?.message.id, expected, `limit ${limit}, step ${i}, id ${id}`);
      if (dead) assert.equal(dead.reason, "overflow");
      assert.equal(tracker.size, model.order.length);
    }
    // What is still tracked comes out in tracking order after a reconnection.
    assert.deepEqual(tracker.due(1e9, true).resend.map((m) => m.id), model.order);
  }
});

Deno.test("DedupeWindow stays bounded for a size that is not a whole number", () => {
  for (const size of [2.5, -1]) {
    const window = new DedupeWindow(size);
    for (let i = 0; i < 10_000; i++) window.seen(`k${i}`);
    let remembered = 0;
    for (let i = 0; i < 10_000; i++) if (window.seen(`k${i}`)) remembered++;
    assert.ok(remembered <= 3, `size ${size}: ${remembered} keys remembered`);
  }
});
