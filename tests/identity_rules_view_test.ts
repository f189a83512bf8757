/**
 * `IdentityRules` judges against any `SessionView`: the registry gives an identity's sessions as
 * an array, and a view written for the `Set` it gave before keeps every limit.
 */
import assert from "node:assert/strict";
import { IdentityRules, type LiveSession, type SessionView } from "../src/server/identity_rules.ts";

const session = (node: string, guest: boolean): LiveSession =>
  ({ node, guest, scheme: guest ? "guest" : "plain" }) as unknown as LiveSession;

for (const shape of ["array", "Set"] as const) {
  Deno.test(`IdentityRules with a view giving a ${shape}: the per-identity limit holds and guests are displaced`, () => {
    const sessions = [session("a@x/1", true), session("a@x/2", true)];
    const view: SessionView = {
      byNodeKey: () => undefined,
      byIdentityKey: () => shape === "Set" ? new Set(sessions) : sessions,
    };
    const rules = new IdentityRules("x");
    assert.equal(rules.registrationProblem("a@x/3", "guest", view, 2)?.code, 12);
    assert.equal(rules.registrationProblem("a@x/3", "guest", view, 3), undefined);
    assert.deepEqual(rules.displacedGuests("a@x", "plain", view), sessions);
  });
}
