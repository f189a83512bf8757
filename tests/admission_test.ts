/**
 * `Admission` (the session and establishment caps, global and per source address) and its
 * tickets: counts taken and given back once, whatever the order and however often called.
 */
import assert from "node:assert/strict";
import { Admission } from "../src/server/guard/admission.ts";

const limits = {
  maxSessions: 3,
  maxEstablishing: 2,
  maxSessionsPerAddress: 2,
  maxEstablishingPerAddress: 1,
};

Deno.test("Admission counts tickets, refuses past each cap and takes each count back once", () => {
  const admission = new Admission(limits);
  const a = admission.admit("10.0.0.1");
  assert.ok("release" in a);
  assert.deepEqual(admission.countsOf("10.0.0.1"), { connections: 1, establishing: 1 });
  const refused = admission.admit("10.0.0.1");
  assert.ok(!("release" in refused));
  assert.match(refused.description!, /from your address are establishing/);
  a.established();
  a.established(); // idempotent
  assert.equal(admission.establishing, 0);
  const b = admission.admit("10.0.0.1");
  assert.ok("release" in b);
  assert.match(
    (admission.admit("10.0.0.1") as { description: string }).description,
    /Too many sessions from your address/,
  );
  const c = admission.admit(undefined); // not counted per address
  assert.ok("release" in c);
  assert.equal(c.source, undefined);
  assert.match(
    (admission.admit("10.0.0.2") as { description: string }).description,
    /maximum number of sessions/,
  );
  b.release(); // establishing and connected: both counts go back
  b.release();
  assert.equal(admission.connections, 2);
  assert.equal(admission.establishing, 1);
  a.release();
  assert.deepEqual(admission.countsOf("10.0.0.1"), { connections: 0, establishing: 0 });
  c.release();
  assert.equal(admission.connections, 0);
  assert.equal(admission.establishing, 0);
});
