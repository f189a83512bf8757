/**
 * The session gate's holds (src/server/session_gate.ts) on a manual clock, with a router whose
 * routing charges an answer at once: a hold started by the answer is not cut short by the
 * envelope's own, shorter hold, and one timer holds the session at a time.
 * @module
 */
import assert from "node:assert/strict";
import { ManualClock } from "../src/clock.ts";
import type { Envelope } from "../src/envelope.ts";
import type { ValidationError } from "../src/errors.ts";
import { TrafficShaping } from "../src/server/guard/traffic_shaper.ts";
import type { Router } from "../src/server/router.ts";
import type { AnswerCharges, ServerSession } from "../src/server/server_session.ts";
import { openSessionGate } from "../src/server/session_gate.ts";

/** 1,000 bytes per second for the session, nothing else limited. */
const bytesOnly = (clock: ManualClock) =>
  new TrafficShaping(clock, {
    envelopesPerSecond: 0,
    bytesPerSecond: 1_000,
    perIdentity: {},
    perAddress: {},
  });

Deno.test("session gate: an answer's hold started while releasing is not cut short by the envelope's own", () => {
  const clock = new ManualClock();
  const shaping = bytesOnly(clock);
  let received = 0;
  let paused = false;
  const transport = {
    get receivedBytes() {
      return received;
    },
    pauseReceiving: () => (paused = true),
    resumeReceiving: () => void (paused = false),
    remoteEndpoint: "127.0.0.1:1",
  };
  const session = {
    channel: { transport, closed: new Promise(() => {}) },
    identityKey: "alice@localhost",
    source: undefined,
    node: "alice@localhost/one",
    shapedMs: 0,
    answerCharges: undefined as AnswerCharges | undefined,
    // As ServerSession does: the gate it opens is what answers are charged to.
    chargeAnswer(this: { answerCharges?: AnswerCharges }, bytes: number) {
      this.answerCharges?.chargeAnswer(bytes);
    },
  } as unknown as ServerSession;
  const routed: string[] = [];
  const answerBytes: Record<string, number> = { e1: 2_000, e2: 2_000, e3: 0 };
  const router = {
    route: (_session: ServerSession, envelope: Envelope) => {
      routed.push(envelope.id!);
      // The server answers at once, and the answer is charged to the session.
      session.chargeAnswer(answerBytes[envelope.id!]);
    },
  } as unknown as Router;
  const gate = openSessionGate(session, shaping, router, clock);
  const pass = gate.route;
  const send = (id: string) => {
    received += 100;
    pass({ id, type: "text/plain", content: id } as Envelope);
  };

  send("e1"); // 100 B, then a 2,000 B answer: 1,100 B of debt, held 1.1 s
  assert.deepEqual(routed, ["e1"]);
  assert.ok(paused);
  send("e2"); // read before the pause took effect: waits its turn
  send("e3");
  assert.deepEqual(routed, ["e1"]);
  assert.equal(clock.pending, 1);

  clock.advance(1_100); // e2 is let in (100 B: 0.1 s of debt) and its answer adds 2 s
  assert.deepEqual(routed, ["e1", "e2"]);
  assert.equal(clock.pending, 1, "one hold at a time");
  clock.advance(100); // e2's own 0.1 s is over, the answer's 2 s are not
  assert.deepEqual(routed, ["e1", "e2"], "e3 waits for the answer's debt");
  clock.advance(2_000);
  assert.deepEqual(routed, ["e1", "e2", "e3"]);
  assert.ok(paused, "e3's 100 B are 0.1 s of debt");
  clock.advance(100);
  assert.equal(paused, false);
  assert.equal(clock.pending, 0);
  assert.ok(session.shapedMs >= 3_200, `shaped ${session.shapedMs} ms`);
  // Its owner closes it when the channel ends: what is held is dropped, no timer is left.
  send("e4");
  assert.equal(clock.pending, 1);
  const routedBeforeClose = [...routed];
  gate.close();
  assert.equal(clock.pending, 0);
  clock.advance(10_000);
  assert.deepEqual(routed, routedBeforeClose);
});

Deno.test("session gate: invalid input read while held is answered in turn, and an envelope it is repaired into is routed", () => {
  const clock = new ManualClock();
  const shaping = bytesOnly(clock);
  let received = 0;
  const repaired = { id: "n1", event: "failed", reason: { code: 101 } } as unknown as Envelope;
  const answered: string[] = [];
  const transport = {
    get receivedBytes() {
      return received;
    },
    pauseReceiving: () => true,
    resumeReceiving: () => {},
    remoteEndpoint: "127.0.0.1:1",
    close: () => Promise.resolve(),
    // The owner's policy, set after the channel was made (the gate wraps it).
    invalidEnvelopePolicy: (error: ValidationError) => {
      answered.push(error.message);
      return repaired;
    },
  };
  const session = {
    channel: { transport, gatesInvalidInput: false },
    identityKey: "alice@localhost",
    source: undefined,
    node: "alice@localhost/one",
    shapedMs: 0,
    chargeAnswer: () => {},
  } as unknown as ServerSession;
  const routed: Envelope[] = [];
  const router = { route: (_: ServerSession, envelope: Envelope) => routed.push(envelope) };
  const gate = openSessionGate(session, shaping, router as unknown as Router, clock);
  received += 2_000; // one envelope of 2,000 B: a second of debt, the session is held
  gate.route({ id: "m1", type: "text/plain", content: "x" } as Envelope);
  assert.equal(clock.pending, 1);
  received += 100;
  const policy = transport.invalidEnvelopePolicy;
  assert.equal(policy({ message: "bad" } as ValidationError), "skip"); // waits its turn
  assert.deepEqual(answered, []);
  clock.advance(1_000);
  assert.deepEqual(answered, ["bad"]);
  assert.deepEqual(routed.map((e) => e.id), ["m1", "n1"]);
  gate.close();
});
