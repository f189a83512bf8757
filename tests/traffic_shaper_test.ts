/**
 * The token buckets behind the server's rate limits (`traffic_shaper.ts`), on a manual clock:
 * a session's charge is the longest wait of its own, its identity's and its address's buckets;
 * answers cost bytes only; a refund gives back what a charge took; an identity's buckets are
 * shared by its sessions and go with the last of them.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../src/clock.ts";
import { TrafficShaping } from "../src/server/guard/traffic_shaper.ts";

const limits = {
  envelopesPerSecond: 10,
  bytesPerSecond: 1000,
  perIdentity: { envelopesPerSecond: 15, bytesPerSecond: 100_000 },
  perAddress: { envelopesPerSecond: 1000, bytesPerSecond: 1_000_000 },
};

Deno.test("shaper: an envelope over the session's rate waits for its debt, refilled with time", () => {
  const clock = new ManualClock();
  const shaper = new TrafficShaping(clock, limits).forSession("a@x", "127.0.0.1");
  for (let i = 0; i < 10; i++) assert.equal(shaper.charge(10), 0);
  assert.equal(shaper.charge(10), 100); // one envelope in debt at 10/s
  clock.advance(100);
  assert.equal(shaper.charge(10), 100); // paid back, and one more in debt
  shaper.refund(10); // that one was refused after all
  assert.equal(shaper.charge(10), 100);
  shaper.release();
});

Deno.test("shaper: answers cost bytes only, and wait for the bytes' debt", () => {
  const clock = new ManualClock();
  const shaper = new TrafficShaping(clock, limits).forSession("a@x", "127.0.0.1");
  for (let i = 0; i < 11; i++) shaper.charge(0); // the envelope bucket is in debt (100 ms)
  assert.equal(shaper.chargeAnswer(500), 0); // but an answer is not charged to it
  assert.equal(shaper.chargeAnswer(1000), 500); // 500 bytes in debt at 1,000/s
  shaper.release();
});

Deno.test("shaper: an identity's sessions share its buckets, which go with the last session", () => {
  const clock = new ManualClock();
  const shaping = new TrafficShaping(clock, limits);
  const one = shaping.forSession("a@x", "127.0.0.1");
  const two = shaping.forSession("a@x", "127.0.0.2");
  for (let i = 0; i < 8; i++) assert.equal(one.charge(1), 0);
  for (let i = 0; i < 7; i++) assert.equal(two.charge(1), 0);
  // 15 envelopes: the identity's rate is spent, though neither session's is.
  assert.ok(Math.abs(two.charge(1) - 1000 / 15) < 1e-9);
  one.release();
  one.release(); // once only: the identity's buckets stay while `two` uses them
  assert.ok(two.charge(1) > 0);
  two.release();
  // A new session of the identity gets new, full buckets.
  const three = shaping.forSession("a@x", "127.0.0.3");
  for (let i = 0; i < 10; i++) assert.equal(three.charge(1), 0);
  three.release();
});

Deno.test("shaper: an address's shaper charges only its address's buckets, with a quarter-second burst", () => {
  const clock = new ManualClock();
  const shaping = new TrafficShaping(clock, limits);
  const http = shaping.forAddress("127.0.0.1");
  for (let i = 0; i < 250; i++) assert.equal(http.charge(1), 0);
  assert.equal(http.charge(1), 1); // 1 envelope in debt at 1,000/s
  // A session from the same address shares that debt.
  const session = shaping.forSession("b@x", "127.0.0.1");
  assert.equal(session.charge(1), 2);
  session.release();
  http.release();
});
