import assert from "node:assert/strict";
import { BoundedQueue } from "../src/channel/bounded_queue.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { countedSignal } from "./channel_test_helpers.ts";

const isCode = (code: string) => (e: unknown) => e instanceof ChannelError && e.code === code;

Deno.test("BoundedQueue keeps FIFO order and makes a producer wait while full", async () => {
  const queue = new BoundedQueue<number>(2);
  let accepted = 0;
  const puts = [1, 2, 3, 4].map((n) => queue.put(n).then(() => accepted++));
  await Promise.resolve();
  assert.equal(accepted, 2);
  assert.equal(queue.size, 2);
  assert.equal(await queue.take(), 1);
  await Promise.resolve();
  assert.equal(accepted, 3);
  assert.deepEqual([await queue.take(), await queue.take(), await queue.take()], [2, 3, 4]);
  await Promise.all(puts);
  assert.equal(queue.size, 0);
});

Deno.test("BoundedQueue hands an item straight to a waiting consumer", async () => {
  const queue = new BoundedQueue<string>(1);
  const taking = queue.take();
  await queue.put("a");
  assert.equal(await taking, "a");
  assert.equal(queue.size, 0);
});

Deno.test("BoundedQueue close rejects waiting producers and lets consumers drain, then ends", async () => {
  const queue = new BoundedQueue<number>(1);
  await queue.put(1);
  const blocked = queue.put(2);
  queue.close();
  await assert.rejects(blocked, isCode("closed"));
  await assert.rejects(queue.put(3), isCode("closed"));
  const seen: number[] = [];
  for await (const n of queue) seen.push(n);
  assert.deepEqual(seen, [1]);
});

Deno.test("BoundedQueue close with an error makes consumers throw it after the drain", async () => {
  const queue = new BoundedQueue<number>(4);
  await queue.put(7);
  const failure = new Error("transport failed");
  queue.close(failure);
  assert.equal(await queue.take(), 7);
  await assert.rejects(queue.take(), (e) => e === failure);
  await assert.rejects(async () => {
    for await (const _ of queue) { /* nothing left */ }
  }, (e) => e === failure);
});

Deno.test("BoundedQueue put and take abort through their signals and leave no waiter", async () => {
  const queue = new BoundedQueue<number>(1);
  await queue.put(1);
  const controller = new AbortController();
  const put = queue.put(2, controller.signal);
  controller.abort();
  await assert.rejects(put, isCode("aborted"));
  assert.equal(await queue.take(), 1);
  const take = queue.take(controller.signal);
  await assert.rejects(take, isCode("aborted"));
  const other = new AbortController();
  const waiting = queue.take(other.signal);
  other.abort();
  await assert.rejects(waiting, isCode("aborted"));
  // The aborted waiters are gone: a new item goes to a new taker.
  await queue.put(5);
  assert.equal(await queue.take(), 5);
});

Deno.test("BoundedQueue refuses a capacity below 1", () => {
  assert.throws(() => new BoundedQueue(0), RangeError);
});

Deno.test("BoundedQueue leaves no abort listener on a long-lived signal once a wait is over", async () => {
  // One signal for a consumer's whole life (`for await (… of channel.messages({ signal }))`):
  // a listener left per wait grew memory and made each wait slower than the last (Deno's
  // addEventListener scans the signal's listeners: 40,000 takes took 12.8 s instead of 0.1 s).
  const { signal, live } = countedSignal();
  const queue = new BoundedQueue<number>(1);
  for (let i = 0; i < 1000; i++) {
    const taking = queue.take(signal); // waits: the queue is empty
    queue.tryPut(i);
    assert.equal(await taking, i);
  }
  assert.equal(live(), 0, "a take that got its item still listens");
  await queue.put(0);
  for (let i = 1; i <= 1000; i++) {
    const putting = queue.put(i, signal); // waits: the queue is full
    assert.equal(await queue.take(), i - 1);
    await putting;
  }
  assert.equal(live(), 0, "a put that found room still listens");
  queue.drain();
  const taking = queue.take(signal);
  queue.close();
  await assert.rejects(taking, isCode("closed"));
  assert.equal(live(), 0, "a take ended by close still listens");
  const full = new BoundedQueue<number>(1);
  await full.put(0);
  const putting = full.put(1, signal);
  full.drain();
  await putting;
  await full.put(2); // full again
  const blocked = full.put(3, signal);
  full.close();
  await assert.rejects(blocked, isCode("closed"));
  assert.equal(live(), 0, "a put ended by drain or close still listens");
});

Deno.test("BoundedQueue: many waits on one signal stay cheap, and an abort still ends the wait", async () => {
  const { signal, controller, live } = countedSignal();
  const queue = new BoundedQueue<number>(4);
  const started = performance.now();
  for (let i = 0; i < 40_000; i++) {
    const taking = queue.take(signal);
    queue.tryPut(i);
    await taking;
  }
  const elapsed = performance.now() - started;
  // Linear: 66 ms here. With a listener left per wait, 40,000 waits took 4.1 s.
  assert.ok(elapsed < 2000, `40,000 waits on one signal took ${elapsed.toFixed(0)} ms`);
  const taking = queue.take(signal);
  controller.abort();
  await assert.rejects(taking, isCode("aborted"));
  assert.equal(live(), 0);
});
