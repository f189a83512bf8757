import assert from "node:assert/strict";
import { checkFields, fieldTable, isString } from "../src/document_check.ts";
import { checkContact, checkSession } from "../src/generated/checks.generated.ts";
import { isNodeString } from "../src/formats.ts";

const table = fieldTable({ name: isString, from: isNodeString }, fieldTable({ id: isString }));

Deno.test("checkFields checks the fields of its table and ignores other keys", () => {
  assert.equal(checkFields({ id: "1", name: "n", from: "a@b/c", other: 5 }, table), true);
  assert.equal(checkFields({}, table), true);
  assert.equal(checkFields({ id: 1 }, table), false);
  assert.equal(checkFields({ name: false }, table), false);
  assert.equal(checkFields({ from: "@" }, table), false);
  assert.equal(checkFields({ from: 5 }, table), false);
});

Deno.test("checkFields counts null and undefined as absent", () => {
  assert.equal(checkFields({ id: null, name: undefined, from: null }, table), true);
});

Deno.test("checkFields refuses what is not a JSON object", () => {
  for (const value of [null, undefined, 1, "x", true, [], [{ id: "1" }]]) {
    assert.equal(checkFields(value, table), false, JSON.stringify(value));
  }
});

Deno.test("checkFields reads the object's own keys as JSON.parse makes them", () => {
  assert.equal(checkFields(JSON.parse('{"__proto__": {"id": 1}, "id": "1"}'), table), true);
  assert.equal(checkFields(JSON.parse('{"constructor": 1, "toString": 2}'), table), true);
});

Deno.test("checkSession (a field table) keeps its required and conditional fields", () => {
  assert.equal(checkSession({ state: "new" }), true);
  assert.equal(checkSession({}), false);
  assert.equal(checkSession({ state: null }), false);
  assert.equal(checkSession({ state: "failed" }), false);
  assert.equal(checkSession({ state: "failed", reason: { code: 1 } }), true);
  assert.equal(checkSession({ state: "failed", reason: { code: "1" } }), false);
  assert.equal(checkSession({ state: "new", from: "@" }), false);
  assert.equal(checkSession({ state: "new", unknown: { deep: [1] } }), true);
});

Deno.test("checkContact (a table built on ContactDocument's) checks inherited and own fields", () => {
  assert.equal(checkContact({ identity: "a@b", name: "A", isPending: false }), true);
  assert.equal(checkContact({ identity: "a b@c" }), false);
  assert.equal(checkContact({ birthDate: "2024-13-01" }), false);
  assert.equal(checkContact({ isPending: "no" }), false);
  assert.equal(checkContact({ subscriptionStatus: "maybe" }), false);
  assert.equal(checkContact({ extras: { a: 1 } }), false);
  assert.equal(checkContact({ extras: { a: "1" }, email: null }), true);
});
