/**
 * `ReceiveQueue` (a transport's receiving half): callbacks that behave as a set and may remove
 * themselves while called, the queue as its own single iterator, and backpressure.
 */
import assert from "node:assert/strict";
import { ReceiveQueue } from "../src/transport/receive_queue.ts";
import type { Envelope } from "../src/envelope.ts";

const envelope = (id: string) => ({ id, type: "text/plain", content: id }) as unknown as Envelope;

Deno.test("ReceiveQueue: a callback added twice is called once; one that removes itself gets no more", () => {
  const queue = new ReceiveQueue(4, () => {});
  const seen: string[] = [];
  const callback = (e: Envelope) => void seen.push(`a:${e.id}`);
  queue.onEnvelope(callback);
  const remove = queue.onEnvelope(callback);
  let removeSelf = () => {};
  removeSelf = queue.onEnvelope((e) => {
    seen.push(`b:${e.id}`);
    removeSelf();
  });
  queue.deliver(envelope("1"));
  queue.deliver(envelope("2"));
  assert.deepEqual(seen, ["a:1", "b:1", "a:2"]);
  remove();
  queue.deliver(envelope("3")); // nobody listens: it waits for the next consumer
  assert.deepEqual(seen, ["a:1", "b:1", "a:2"]);
  queue.onEnvelope((e) => void seen.push(`c:${e.id}`));
  assert.deepEqual(seen, ["a:1", "b:1", "a:2", "c:3"]);
});

Deno.test("ReceiveQueue: one iterator at a time, fed in order, ended by finish; backpressure", async () => {
  const calls: string[] = [];
  const queue = new ReceiveQueue(2, (full) => calls.push(full ? "pause" : "resume"));
  const iterator = queue.iterator();
  assert.throws(() => queue.iterator(), /already has an iterator/);
  const waiting = iterator.next();
  queue.deliver(envelope("1"));
  assert.equal((await waiting).value?.id, "1");
  queue.deliver(envelope("2"));
  queue.deliver(envelope("3"));
  assert.deepEqual(calls, ["pause"]);
  assert.equal((await iterator.next()).value?.id, "2");
  assert.deepEqual(calls, ["pause", "resume"]);
  queue.finish({ by: "remote" });
  assert.equal((await iterator.next()).value?.id, "3");
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  // Ended: a new iterator may start (and ends at once).
  assert.deepEqual(await queue.iterator().next(), { value: undefined, done: true });
  await iterator.return?.();
});

Deno.test("ReceiveQueue: a callback removed by another during a delivery is not called by it", () => {
  const queue = new ReceiveQueue(4, () => {});
  const seen: string[] = [];
  let removeB = () => {};
  queue.onEnvelope((e) => {
    seen.push(`a:${e.id}`);
    removeB();
  });
  removeB = queue.onEnvelope((e) => void seen.push(`b:${e.id}`));
  queue.deliver(envelope("1"));
  assert.deepEqual(seen, ["a:1"]);
});

Deno.test("ReceiveQueue: a parked reader is woken once by what arrives, and by the end", async () => {
  const queue = new ReceiveQueue(4, () => {});
  const iterator = queue.iterator();
  let wakes = 0;
  assert.equal(queue.park(() => wakes++), true); // nothing queued: parked
  queue.deliver(envelope("1"));
  assert.equal(wakes, 1);
  assert.equal(queue.park(() => wakes++), false); // something queued: read it
  assert.equal((await iterator.next()).value?.id, "1");
  assert.equal(queue.park(() => wakes++), true);
  queue.finish({ by: "remote" });
  assert.equal(wakes, 2);
  assert.equal(queue.park(() => wakes++), false); // finished: next() says so
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });
});

Deno.test("ReceiveQueue: next() waits for what arrives, or for the end with its error", async () => {
  const queue = new ReceiveQueue(4, () => {});
  const iterator = queue.iterator();
  const first = iterator.next();
  queue.deliver(envelope("1"));
  assert.equal((await first).value?.id, "1");
  const second = iterator.next();
  const failure = new Error("gone");
  queue.finish({ by: "error", error: failure } as never);
  await assert.rejects(second, (error) => error === failure);
});

Deno.test("ReceiveQueue: a next() waiting when return() is called still settles with what arrives", async () => {
  const queue = new ReceiveQueue(4, () => {});
  const iterator = queue.iterator();
  const waiting = iterator.next();
  await iterator.return!();
  queue.deliver(envelope("1"));
  assert.equal((await waiting).value?.id, "1");
});
