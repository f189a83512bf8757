/**
 * CPU budget of a rejected envelope (issue "Adversary-proof server": CPU on the event loop from
 * one envelope). A `new` session with 600,000 numeric metadata entries once blocked the event
 * loop for about 3 s: the fast check failed at once, then zod explained the failure by walking
 * every entry and building 600,000 issues. Now the generated explainer stops at the first problem
 * and the fast check stops at the metadata cap, so rejecting such an envelope, explanation
 * included, must cost about what a plain `JSON.parse` of the same text costs.
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { parseEnvelope } from "../../src/codec.ts";
import { ValidationError } from "../../src/errors.ts";
import type { JsonPath } from "../../src/errors.ts";
import { ReasonCode } from "../../src/generated/reasons.generated.ts";

const ENTRIES = 600_000;
const RUNS = 5;

/** Short distinct keys ("x0" … "xcuo0"), so that 600,000 entries come to about 5.7 MiB. */
const key = (i: number) => `x${i.toString(36)}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Times `JSON.parse(text)` and the rejection `parseEnvelope(text)` (decode, fast check and
 * explanation) alternately, `RUNS` times after one warm-up of each; returns the medians in ms.
 */
function measure(text: string, code: number, path: JsonPath): { parse: number; reject: number } {
  const parses: number[] = [];
  const rejects: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    let started = performance.now();
    JSON.parse(text);
    const parse = performance.now() - started;
    let caught: unknown;
    started = performance.now();
    try {
      parseEnvelope(text);
    } catch (error) {
      caught = error;
    }
    const reject = performance.now() - started;
    assert.ok(caught instanceof ValidationError, `expected a ValidationError, got ${caught}`);
    assert.equal(caught.code, code, caught.message);
    assert.ok(isDeepStrictEqual(caught.path, path), `path ${JSON.stringify(caught.path)}`);
    assert.equal(caught.issues.length, 1);
    if (run === 0) continue; // warm-up
    parses.push(parse);
    rejects.push(reject);
  }
  return { parse: median(parses), reject: median(rejects) };
}

/** The budget: at most 3× a plain JSON.parse of the same text, plus 20 ms of slack. */
function assertWithinBudget(name: string, bytes: number, t: { parse: number; reject: number }) {
  const budget = 3 * t.parse + 20;
  console.log(
    `${name}: ${(bytes / 2 ** 20).toFixed(1)} MiB; JSON.parse ${t.parse.toFixed(1)} ms, ` +
      `parseEnvelope rejection ${t.reject.toFixed(1)} ms (${(t.reject / t.parse).toFixed(2)}×), ` +
      `budget ${budget.toFixed(0)} ms`,
  );
  assert.ok(
    t.reject < budget,
    `${name}: rejecting took ${t.reject.toFixed(0)} ms, over 3 × JSON.parse (${
      t.parse.toFixed(0)
    } ms) + 20 ms`,
  );
}

Deno.test("parseEnvelope rejects a new session with 600,000 numeric metadata entries within ~JSON.parse time", () => {
  const metadata: Record<string, number> = {};
  for (let i = 0; i < ENTRIES; i++) metadata[key(i)] = 1;
  const text = JSON.stringify({ state: "new", metadata });
  assert.ok(text.length > 5 * 2 ** 20, `${text.length} bytes`);
  const t = measure(text, ReasonCode.VALIDATION_ERROR, ["metadata", key(0)]);
  assertWithinBudget("600,000 numeric metadata entries", text.length, t);
});

Deno.test("parseEnvelope rejects a new session with 600,000 string metadata entries (over the cap) within ~JSON.parse time", () => {
  const metadata: Record<string, string> = {};
  for (let i = 0; i < ENTRIES; i++) metadata[key(i)] = "v";
  const text = JSON.stringify({ state: "new", metadata });
  const t = measure(text, ReasonCode.VALIDATION_ERROR, ["metadata"]);
  assertWithinBudget("600,000 string metadata entries", text.length, t);
});

Deno.test("parseEnvelope rejects a collection of 600,000 bad items within ~JSON.parse time", () => {
  const text = JSON.stringify({
    id: "1",
    type: "application/vnd.lime.collection+json",
    content: {
      itemType: "application/vnd.lime.chatstate+json",
      items: Array.from({ length: ENTRIES }, () => ({ state: 0 })),
    },
  });
  const t = measure(text, ReasonCode.VALIDATION_INVALID_RESOURCE, [
    "content",
    "items",
    0,
    "state",
  ]);
  assertWithinBudget("collection of 600,000 bad items", text.length, t);
});

Deno.test("parseEnvelope rejects a session with 600,000 unknown keys before a bad field within ~JSON.parse time", () => {
  // Session is checked through a field table: one pass over the keys the object has.
  const session: Record<string, unknown> = { state: "new" };
  for (let i = 0; i < ENTRIES; i++) session[key(i)] = 1;
  session.from = "@";
  const text = JSON.stringify(session);
  const t = measure(text, ReasonCode.VALIDATION_INVALID_RECIPIENTS, ["from"]);
  assertWithinBudget("session with 600,000 unknown keys", text.length, t);
});
