import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { formatPath, parseEnvelope, validateEnvelope } from "../src/codec.ts";
import { type JsonPath, LimeError, ValidationError } from "../src/errors.ts";
import { ReasonCode } from "../src/generated/reasons.generated.ts";
import { EXPLAINERS } from "../src/generated/explain.generated.ts";
import { ENVELOPE_KINDS } from "../src/generated/registry.generated.ts";
import { ENVELOPE_SCHEMAS } from "../src/generated/validators.generated.ts";

type Case = [name: string, input: string | Uint8Array, code: number, path: JsonPath];

const utf8 = (text: string) => new TextEncoder().encode(text);
const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...utf8(p)] : p));

const V = ReasonCode.VALIDATION_ERROR; // 21
const EMPTY = ReasonCode.VALIDATION_EMPTY_DOCUMENT; // 22
const RESOURCE = ReasonCode.VALIDATION_INVALID_RESOURCE; // 23
const STATUS = ReasonCode.VALIDATION_INVALID_STATUS; // 24
const RECIPIENTS = ReasonCode.VALIDATION_INVALID_RECIPIENTS; // 26
const METHOD = ReasonCode.VALIDATION_INVALID_METHOD; // 27
const URI = ReasonCode.VALIDATION_INVALID_URI; // 27

const INVALID: Case[] = [
  // Not an envelope at all
  ["not JSON", "hello", V, []],
  ["truncated JSON", `{"state":"new"`, V, []],
  ["truncated inside a string", `{"state":"ne`, V, []],
  ["empty string", "", V, []],
  ["whitespace only", " \n\t ", V, []],
  ["trailing garbage", `{"state":"new"} x`, V, []],
  ["two objects in one text", `{"state":"new"}{"state":"new"}`, V, []],
  ["single-quoted JSON5", `{'state':'new'}`, V, []],
  ["trailing comma", `{"state":"new",}`, V, []],
  ["a JSON array", `[{"state":"new"}]`, V, []],
  ["a JSON string", `"state"`, V, []],
  ["a JSON number", "42", V, []],
  ["JSON null", "null", V, []],
  ["JSON true", "true", V, []],
  ["an object with no kind key", `{"id":"1","from":"a@b","to":"c@d"}`, V, []],
  ["an empty object", "{}", V, []],
  ["a kind key nested one level down", `{"envelope":{"state":"new"}}`, V, []],
  ["invalid UTF-8 bytes", bytes(`{"state":"new","id":"`, [0xff, 0xfe], `"}`), V, []],
  ["a truncated UTF-8 sequence", bytes(`{"type":"text/plain","content":"caf`, [0xc3], `"}`), V, []],
  ["an encoded UTF-16 surrogate", bytes(`{"state":"new","id":"`, [0xed, 0xa0, 0x80], `"}`), V, []],
  ["an overlong UTF-8 encoding", bytes(`{"state":"new","id":"`, [0xc0, 0xaf], `"}`), V, []],

  // Base fields
  ["message id a number", `{"id":1,"type":"text/plain","content":"x"}`, V, ["id"]],
  ["session id an object", `{"id":{},"state":"new"}`, V, ["id"]],
  ["command id an array", `{"id":["1"],"method":"get","uri":"/ping"}`, V, ["id"]],
  ["message from '@'", `{"from":"@","type":"text/plain","content":"x"}`, RECIPIENTS, ["from"]],
  ["message to 'a b@c'", `{"to":"a b@c","type":"text/plain","content":"x"}`, RECIPIENTS, ["to"]],
  ["message pp '@'", `{"pp":"@","type":"text/plain","content":"x"}`, RECIPIENTS, ["pp"]],
  ["message from empty", `{"from":"","type":"text/plain","content":"x"}`, RECIPIENTS, ["from"]],
  ["message to a number", `{"to":5,"type":"text/plain","content":"x"}`, RECIPIENTS, ["to"]],
  ["message to '@/instance'", `{"to":"@/home","type":"text/plain","content":"x"}`, RECIPIENTS, [
    "to",
  ]],
  ["notification from 'a b@c'", `{"id":"1","from":"a b@c","event":"received"}`, RECIPIENTS, [
    "from",
  ]],
  ["notification to with a newline", `{"id":"1","to":"a@b\\n","event":"received"}`, RECIPIENTS, [
    "to",
  ]],
  ["command to '@'", `{"id":"1","to":"@","method":"get","uri":"/ping"}`, RECIPIENTS, ["to"]],
  ["command pp 'a b@c'", `{"id":"1","pp":"a b@c","method":"get","uri":"/ping"}`, RECIPIENTS, [
    "pp",
  ]],
  ["session from '@'", `{"state":"authenticating","from":"@"}`, RECIPIENTS, ["from"]],
  ["session to 'a@b@c'", `{"state":"established","to":"a@b@c"}`, RECIPIENTS, ["to"]],
  ["metadata value a number", `{"state":"new","metadata":{"a":1}}`, V, ["metadata", "a"]],
  ["metadata value an object", `{"id":"1","event":"received","metadata":{"#x":{}}}`, V, [
    "metadata",
    "#x",
  ]],
  ["metadata an array", `{"type":"text/plain","content":"x","metadata":["a"]}`, V, ["metadata"]],
  ["metadata a string", `{"id":"1","method":"get","uri":"/ping","metadata":"a=b"}`, V, [
    "metadata",
  ]],

  // Message
  ["message without type", `{"content":"x"}`, RESOURCE, ["type"]],
  ["message type null", `{"type":null,"content":"x"}`, RESOURCE, ["type"]],
  ["message type 'text'", `{"type":"text","content":"x"}`, RESOURCE, ["type"]],
  ["message type 'a/b/c'", `{"type":"a/b/c","content":"x"}`, RESOURCE, ["type"]],
  ["message type '/plain'", `{"type":"/plain","content":"x"}`, RESOURCE, ["type"]],
  ["message type with a space", `{"type":"text/ plain","content":"x"}`, RESOURCE, ["type"]],
  ["message type a number", `{"type":1,"content":"x"}`, RESOURCE, ["type"]],
  ["message content null", `{"type":"text/plain","content":null}`, EMPTY, ["content"]],
  ["JSON content with text/plain", `{"type":"text/plain","content":{"text":"x"}}`, RESOURCE, [
    "content",
  ]],
  ["number content with text/plain", `{"type":"text/plain","content":1}`, RESOURCE, ["content"]],
  ["string content with application/json", `{"type":"application/json","content":"{}"}`, RESOURCE, [
    "content",
  ]],
  ["array content with application/json", `{"type":"application/json","content":[1]}`, RESOURCE, [
    "content",
  ]],
  [
    "string content with an unknown +json type",
    `{"type":"application/x+json","content":"x"}`,
    RESOURCE,
    ["content"],
  ],
  [
    "string content with a registered JSON type",
    `{"type":"application/vnd.lime.chatstate+json","content":"composing"}`,
    RESOURCE,
    ["content"],
  ],
  [
    "object content with application/vnd.lime.identity",
    `{"type":"application/vnd.lime.identity","content":{"name":"a"}}`,
    RESOURCE,
    ["content"],
  ],
  [
    "invalid identity document",
    `{"type":"application/vnd.lime.identity","content":"@"}`,
    RESOURCE,
    ["content"],
  ],
  [
    "select option missing text",
    `{"type":"application/vnd.lime.select+json","content":{"text":"Choose","options":[{"text":"a"},{"order":2}]}}`,
    RESOURCE,
    ["content", "options", 1, "text"],
  ],
  [
    "select scope unknown",
    `{"type":"application/vnd.lime.select+json","content":{"scope":"forever","text":"Choose"}}`,
    RESOURCE,
    ["content", "scope"],
  ],
  [
    "select option value not matching its type",
    `{"type":"application/vnd.lime.select+json","content":{"options":[{"text":"a","type":"text/plain","value":{"k":1}}]}}`,
    RESOURCE,
    ["content", "options", 0, "value"],
  ],
  [
    "chatstate unknown state",
    `{"type":"application/vnd.lime.chatstate+json","content":{"state":"typing"}}`,
    RESOURCE,
    ["content", "state"],
  ],
  [
    "chatstate negative interval",
    `{"type":"application/vnd.lime.chatstate+json","content":{"state":"paused","interval":-1}}`,
    RESOURCE,
    ["content", "interval"],
  ],
  [
    "location latitude a string",
    `{"type":"application/vnd.lime.location+json","content":{"latitude":"-22.1","longitude":-45.1}}`,
    RESOURCE,
    ["content", "latitude"],
  ],
  [
    "location course not an integer",
    `{"type":"application/vnd.lime.location+json","content":{"course":1.5}}`,
    RESOURCE,
    ["content", "course"],
  ],
  [
    "media-link size a string",
    `{"type":"application/vnd.lime.media-link+json","content":{"uri":"http://x/y.jpg","size":"12"}}`,
    RESOURCE,
    ["content", "size"],
  ],
  [
    "media-link bad media type",
    `{"type":"application/vnd.lime.media-link+json","content":{"uri":"http://x/y.jpg","type":"jpeg"}}`,
    RESOURCE,
    ["content", "type"],
  ],
  [
    "web-link unknown target",
    `{"type":"application/vnd.lime.web-link+json","content":{"uri":"http://x","target":"popup"}}`,
    RESOURCE,
    ["content", "target"],
  ],
  [
    "input validation without rule",
    `{"type":"application/vnd.lime.input+json","content":{"label":{"type":"text/plain","value":"Name?"},"validation":{"error":"x"}}}`,
    RESOURCE,
    ["content", "validation", "rule"],
  ],
  [
    "reaction emoji value negative",
    `{"type":"application/vnd.lime.reaction+json","content":{"emoji":{"values":[128077,-1]}}}`,
    RESOURCE,
    ["content", "emoji", "values", 1],
  ],
  [
    "reply unknown direction",
    `{"type":"application/vnd.lime.reply+json","content":{"replied":{"type":"text/plain","value":"ok"},"inReplyTo":{"id":"1","type":"text/plain","value":"q","direction":"up"}}}`,
    RESOURCE,
    ["content", "inReplyTo", "direction"],
  ],
  [
    "invoice bad date",
    `{"type":"application/vnd.lime.invoice+json","content":{"created":"yesterday"}}`,
    RESOURCE,
    ["content", "created"],
  ],
  [
    "contact extras value a number",
    `{"type":"application/vnd.lime.contact+json","content":{"identity":"a@b","extras":{"age":3}}}`,
    RESOURCE,
    ["content", "extras", "age"],
  ],
  [
    "list item not a container",
    `{"type":"application/vnd.lime.list+json","content":{"items":[{"type":"text/plain","value":"a"},"b"]}}`,
    RESOURCE,
    ["content", "items", 1],
  ],
  [
    "collection item of the wrong type",
    `{"type":"application/vnd.lime.collection+json","content":{"itemType":"text/plain","items":["a","b",3]}}`,
    RESOURCE,
    ["content", "items", 2],
  ],
  [
    "collection item with an invalid field",
    `{"type":"application/vnd.lime.collection+json","content":{"itemType":"application/vnd.lime.contact+json","items":[{"identity":"a@b"},{"identity":5}]}}`,
    RESOURCE,
    ["content", "items", 1, "identity"],
  ],
  [
    "collection without itemType",
    `{"type":"application/vnd.lime.collection+json","content":{"items":["a"]}}`,
    RESOURCE,
    ["content", "itemType"],
  ],
  [
    "collection items not an array",
    `{"type":"application/vnd.lime.collection+json","content":{"itemType":"text/plain","items":"a"}}`,
    RESOURCE,
    ["content", "items"],
  ],
  [
    "collection negative total",
    `{"type":"application/vnd.lime.collection+json","content":{"itemType":"text/plain","total":-1}}`,
    RESOURCE,
    ["content", "total"],
  ],
  [
    "container value of the wrong type",
    `{"type":"application/vnd.lime.container+json","content":{"type":"text/plain","value":{"text":"x"}}}`,
    RESOURCE,
    ["content", "value"],
  ],
  [
    "container value with an invalid field",
    `{"type":"application/vnd.lime.container+json","content":{"type":"application/vnd.lime.location+json","value":{"latitude":"x"}}}`,
    RESOURCE,
    ["content", "value", "latitude"],
  ],
  [
    "container without value",
    `{"type":"application/vnd.lime.container+json","content":{"type":"text/plain"}}`,
    RESOURCE,
    ["content", "value"],
  ],
  [
    "container with a bad type",
    `{"type":"application/vnd.lime.container+json","content":{"type":"plain","value":"x"}}`,
    RESOURCE,
    ["content", "type"],
  ],
  [
    "collection of containers with a bad item",
    `{"type":"application/vnd.lime.collection+json","content":{"itemType":"application/vnd.lime.container+json","items":[{"type":"text/plain","value":"a"},{"type":"application/vnd.lime.chatstate+json","value":{"state":"x"}}]}}`,
    RESOURCE,
    ["content", "items", 1, "value", "state"],
  ],
  [
    "message document with an invalid inner envelope",
    `{"type":"application/vnd.lime.message+json","content":{"type":"text/plain","content":null}}`,
    RESOURCE,
    ["content", "content"],
  ],

  // Notification
  ["notification without id", `{"event":"received"}`, V, ["id"]],
  ["notification id null", `{"id":null,"event":"received"}`, V, ["id"]],
  ["notification unknown event", `{"id":"1","event":"read"}`, V, ["event"]],
  ["notification event in capitals", `{"id":"1","event":"RECEIVED"}`, V, ["event"]],
  ["notification event null", `{"id":"1","event":null}`, V, ["event"]],
  [
    "failed notification reason code a string",
    `{"id":"1","event":"failed","reason":{"code":"42"}}`,
    V,
    ["reason", "code"],
  ],
  [
    "failed notification reason without code",
    `{"id":"1","event":"failed","reason":{"description":"x"}}`,
    V,
    ["reason", "code"],
  ],
  [
    "failed notification reason code not an integer",
    `{"id":"1","event":"failed","reason":{"code":4.2}}`,
    V,
    ["reason", "code"],
  ],
  ["failed notification reason a string", `{"id":"1","event":"failed","reason":"not found"}`, V, [
    "reason",
  ]],
  [
    "reason description a number",
    `{"id":"1","event":"failed","reason":{"code":42,"description":42}}`,
    V,
    ["reason", "description"],
  ],

  // Command
  ["command unknown method", `{"id":"1","method":"post","uri":"/presence"}`, METHOD, ["method"]],
  ["command method null", `{"id":"1","method":null,"uri":"/presence"}`, METHOD, ["method"]],
  ["command method a number", `{"id":"1","method":0,"uri":"/presence"}`, METHOD, ["method"]],
  ["request without uri", `{"id":"1","method":"get"}`, URI, ["uri"]],
  ["request with a null uri", `{"id":"1","method":"get","uri":null}`, URI, ["uri"]],
  ["status 'pending'", `{"id":"1","method":"get","uri":"/ping","status":"pending"}`, STATUS, [
    "status",
  ]],
  ["status 'ok'", `{"id":"1","method":"get","status":"ok"}`, STATUS, ["status"]],
  ["status a boolean", `{"id":"1","method":"get","status":true}`, STATUS, ["status"]],
  ["uri with an invalid scheme", `{"id":"1","method":"get","uri":"http://x@y/presence"}`, URI, [
    "uri",
  ]],
  ["uri with a space", `{"id":"1","method":"get","uri":"/contacts/john doe"}`, URI, ["uri"]],
  ["uri empty", `{"id":"1","method":"get","uri":""}`, URI, ["uri"]],
  ["uri a number", `{"id":"1","method":"get","uri":42}`, URI, ["uri"]],
  [
    "command type invalid",
    `{"id":"1","method":"set","uri":"/x","type":"json","resource":{}}`,
    RESOURCE,
    ["type"],
  ],
  [
    "resource not matching its type",
    `{"id":"1","method":"set","uri":"/presence","type":"application/vnd.lime.presence+json","resource":{"status":"online"}}`,
    RESOURCE,
    ["resource", "status"],
  ],
  [
    "resource without type",
    `{"id":"1","method":"set","uri":"/presence","resource":{"status":"available"}}`,
    RESOURCE,
    ["type"],
  ],
  [
    "resource a string for a JSON type",
    `{"id":"1","method":"set","uri":"/receipt","type":"application/vnd.lime.receipt+json","resource":"failed"}`,
    RESOURCE,
    ["resource"],
  ],
  [
    "receipt with an unknown event",
    `{"id":"1","method":"set","uri":"/receipt","type":"application/vnd.lime.receipt+json","resource":{"events":["failed","read"]}}`,
    RESOURCE,
    ["resource", "events", 1],
  ],
  [
    "delegation with an unknown method",
    `{"id":"1","method":"set","uri":"/delegations","type":"application/vnd.lime.delegation+json","resource":{"target":"a@b","commands":[{"method":"post"}]}}`,
    RESOURCE,
    ["resource", "commands", 0, "method"],
  ],
  [
    "failure response reason without code",
    `{"id":"1","method":"get","status":"failure","reason":{}}`,
    V,
    ["reason", "code"],
  ],

  // Session
  ["session unknown state", `{"state":"open"}`, V, ["state"]],
  ["session state null", `{"state":null}`, V, ["state"]],
  ["session state a number", `{"state":0}`, V, ["state"]],
  [
    "session unknown encryption option",
    `{"id":"s","state":"negotiating","encryptionOptions":["none","ssl"]}`,
    V,
    ["encryptionOptions", 1],
  ],
  [
    "session encryptionOptions not an array",
    `{"id":"s","state":"negotiating","encryptionOptions":"tls"}`,
    V,
    ["encryptionOptions"],
  ],
  ["session unknown encryption", `{"id":"s","state":"negotiating","encryption":"ssl"}`, V, [
    "encryption",
  ]],
  [
    "session unknown compression option",
    `{"id":"s","state":"negotiating","compressionOptions":["deflate"]}`,
    V,
    ["compressionOptions", 0],
  ],
  ["session unknown compression", `{"id":"s","state":"negotiating","compression":"zip"}`, V, [
    "compression",
  ]],
  [
    "session unknown scheme option",
    `{"id":"s","state":"authenticating","schemeOptions":["guest","oauth"]}`,
    V,
    ["schemeOptions", 1],
  ],
  [
    "session unknown scheme",
    `{"id":"s","state":"authenticating","scheme":"oauth","authentication":{}}`,
    V,
    ["scheme"],
  ],
  [
    "plain authentication without password",
    `{"id":"s","state":"authenticating","scheme":"plain","authentication":{}}`,
    V,
    ["authentication", "password"],
  ],
  [
    "plain authentication password a number",
    `{"id":"s","state":"authenticating","scheme":"plain","authentication":{"password":123}}`,
    V,
    ["authentication", "password"],
  ],
  [
    "key authentication without key",
    `{"id":"s","state":"authenticating","scheme":"key","authentication":{"password":"x"}}`,
    V,
    ["authentication", "key"],
  ],
  [
    "external authentication without issuer",
    `{"id":"s","state":"authenticating","scheme":"external","authentication":{"token":"t"}}`,
    V,
    ["authentication", "issuer"],
  ],
  [
    "inner scheme authentication without password",
    `{"id":"s","state":"authenticating","authentication":{"scheme":"plain"}}`,
    V,
    ["authentication", "password"],
  ],
  [
    "authentication a string",
    `{"id":"s","state":"authenticating","scheme":"plain","authentication":"aWxvdmV1d3c="}`,
    V,
    ["authentication"],
  ],
  [
    "authentication an array",
    `{"id":"s","state":"authenticating","scheme":"guest","authentication":[]}`,
    V,
    ["authentication"],
  ],
  [
    "failed session reason without code",
    `{"id":"s","state":"failed","reason":{"description":"bye"}}`,
    V,
    ["reason", "code"],
  ],
  ["failed session reason code a string", `{"id":"s","state":"failed","reason":{"code":"13"}}`, V, [
    "reason",
    "code",
  ]],

  // Size caps of spec/envelopes.json (Metadata) and spec/documents/resources.json (extras)
  ["metadata with 1,001 entries", session({ metadata: entries(1_001) }), V, ["metadata"]],
  [
    "metadata with 1,001 entries, the last one bad",
    session({ metadata: { ...entries(1_000), last: 1 } }),
    V,
    ["metadata"],
  ],
  [
    "metadata value of 32,769 characters",
    session({ metadata: { a: "x".repeat(32_769) } }),
    V,
    ["metadata", "a"],
  ],
  [
    "message metadata with 1,001 entries",
    JSON.stringify({ type: "text/plain", content: "x", metadata: entries(1_001) }),
    V,
    ["metadata"],
  ],
  [
    "contact extras with 1,001 entries",
    JSON.stringify({
      type: "application/vnd.lime.contact+json",
      content: { identity: "a@b", extras: entries(1_001) },
    }),
    RESOURCE,
    ["content", "extras"],
  ],
  [
    "contact extras value of 32,769 characters",
    JSON.stringify({
      type: "application/vnd.lime.contact+json",
      content: { identity: "a@b", extras: { a: "x".repeat(32_769) } },
    }),
    RESOURCE,
    ["content", "extras", "a"],
  ],
];

/** A `new` session envelope with extra fields, as JSON text. */
function session(fields: Record<string, unknown>): string {
  return JSON.stringify({ id: "1", state: "new", ...fields });
}

/** A map of `count` string entries (`k0`: "v", ...). */
function entries(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, "v"]));
}

function assertRejects(input: string | Uint8Array, code: number, path: JsonPath): ValidationError {
  let caught: unknown;
  assert.throws(
    () => parseEnvelope(input),
    (e) => {
      caught = e;
      return e instanceof ValidationError && e.code === code && isDeepStrictEqual(e.path, path);
    },
  );
  const error = caught as ValidationError;
  assert.ok(error instanceof LimeError);
  assert.equal(error.name, "ValidationError");
  assert.equal(error.reason.code, code);
  assert.ok(error.message.length > 0);
  assert.ok((error.reason.description ?? "").length > 0);
  if (path.length > 0) {
    assert.ok(
      error.message.includes(formatPath(path)),
      `message ${JSON.stringify(error.message)} names ${formatPath(path)}`,
    );
    assert.ok(error.issues.length > 0);
    assert.deepStrictEqual(error.issues[0].path, path);
  }
  return error;
}

for (const [name, input, code, path] of INVALID) {
  Deno.test(`parseEnvelope refuses ${name} with code ${code} at [${path.join(", ")}]`, () => {
    assertRejects(input, code, path);
  });
}

Deno.test("INVALID table has unique names and covers every validation reason code", () => {
  assert.equal(new Set(INVALID.map(([name]) => name)).size, INVALID.length);
  const codes = new Set(INVALID.map(([, , code]) => code));
  for (const code of [21, 22, 23, 24, 26, 27]) assert.ok(codes.has(code), `code ${code}`);
});

Deno.test("validateEnvelope refuses the same values as parseEnvelope", () => {
  for (const [name, input, code, path] of INVALID) {
    let value: unknown;
    try {
      value = JSON.parse(
        typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input),
      );
    } catch {
      continue; // not JSON: only parseEnvelope sees it
    }
    assert.throws(
      () => validateEnvelope(value),
      (e) => e instanceof ValidationError && e.code === code && isDeepStrictEqual(e.path, path),
      name,
    );
  }
});

Deno.test("validateEnvelope refuses non-object values with code 21", () => {
  for (const value of [undefined, null, 0, "x", true, [], [{ state: "new" }]]) {
    assert.throws(
      () => validateEnvelope(value),
      (e) => e instanceof ValidationError && e.code === V && e.path.length === 0,
    );
  }
});

Deno.test("parseEnvelope names the kind and the problem in the message", () => {
  const error = assertRejects(`{"id":"1","method":"get","status":"ok"}`, STATUS, ["status"]);
  assert.match(error.message, /command/);
  assert.match(error.message, /\(Code 24\)$/);
  const notJson = assertRejects("{", V, []);
  assert.match(notJson.message, /JSON/);
  const noKind = assertRejects(`{"id":"1"}`, V, []);
  assert.match(noKind.message, /content/);
});

Deno.test("parseEnvelope refuses a UTF-8 byte order mark (RFC 8259 §8.1: senders must not add one)", () => {
  assertRejects(bytes([0xef, 0xbb, 0xbf], `{"state":"new"}`), V, []);
});

// ------------------------------------------------------------------------------------------------
// Known codec bugs (reported to the lead); kept here unweakened and ignored until fixed.

Deno.test({
  name: "parseEnvelope refuses a number that overflows to Infinity (1e400) in a number field",

  fn() {
    // JSON.parse gives Infinity; the fast check (`typeof x === "number"`) accepts it, the zod
    // validator does not, and serializeEnvelope writes it back as null.
    assertRejects(
      `{"type":"application/vnd.lime.location+json","content":{"latitude":1e400,"longitude":0}}`,
      RESOURCE,
      ["content", "latitude"],
    );
  },
});

Deno.test({
  name: "parseEnvelope refuses deeply nested containers with a ValidationError, not a RangeError",

  fn() {
    for (const depth of [3_000, 200_000]) {
      for (const inner of [`"x"`, "1"]) {
        let value = `{"type":"text/plain","value":${inner}}`;
        for (let i = 0; i < depth; i++) {
          value = `{"type":"application/vnd.lime.container+json","value":${value}}`;
        }
        const text = `{"type":"application/vnd.lime.container+json","content":${value}}`;
        try {
          parseEnvelope(text);
        } catch (e) {
          assert.ok(e instanceof ValidationError, `depth ${depth}, inner ${inner}: ${e}`);
        }
      }
    }
  },
});

// ------------------------------------------------------------------------------------------------
// The fast check, the explainer and the zod validator agree on every invalid sample of this file.

Deno.test("ENVELOPE_KINDS check, explainer and schema agree on every invalid sample", () => {
  let compared = 0;
  for (const [name, input] of INVALID) {
    let value: unknown;
    try {
      value = JSON.parse(
        typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input),
      );
    } catch {
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const kind = ENVELOPE_KINDS.find((k) => k.key in value);
    if (!kind) continue;
    assert.equal(kind.check(value), false, `check: ${name}`);
    assert.ok(EXPLAINERS[kind.name](value), `explain: ${name}`);
    assert.equal(ENVELOPE_SCHEMAS[kind.kind].safeParse(value).success, false, `schema: ${name}`);
    compared++;
  }
  assert.ok(compared >= 100, `compared ${compared}`);
});

Deno.test("parseEnvelope refuses a failed session without a reason", () => {
  assert.throws(
    () => parseEnvelope('{"id":"s1","state":"failed"}'),
    (e) => e instanceof ValidationError && e.code === 21 && e.path.join(".") === "reason",
  );
});

Deno.test("parseEnvelope refuses authentication with no scheme inside or outside", () => {
  assert.throws(
    () =>
      parseEnvelope(
        '{"id":"s1","from":"a@b/c","state":"authenticating","authentication":{"password":"eA=="}}',
      ),
    (e) => e instanceof ValidationError && e.code === 21 && e.path.join(".") === "scheme",
  );
  // The scheme inside the object (lime-js) is enough.
  parseEnvelope(
    '{"id":"s1","from":"a@b/c","state":"authenticating","authentication":{"scheme":"plain","password":"eA=="}}',
  );
});

Deno.test("parseEnvelope rejects a huge collection of bad items quickly, naming the first", () => {
  const items = Array.from({ length: 100_000 }, () => 1);
  const text = JSON.stringify({
    type: "application/vnd.lime.collection+json",
    content: { itemType: "text/plain", items },
  });
  const started = performance.now();
  assert.throws(
    () => parseEnvelope(text),
    (e) => e instanceof ValidationError && e.code === 23 && e.path.join(".") === "content.items.0",
  );
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});

Deno.test("parseEnvelope refuses a metadata key of 257 characters, naming it cut short", () => {
  const key = "k".repeat(257);
  assert.throws(
    () => parseEnvelope(session({ metadata: { [key]: "v" } })),
    (e) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.code, V);
      assert.deepStrictEqual(e.path, ["metadata", key]);
      assert.deepStrictEqual(e.issues.map((i) => i.path), [["metadata", key]]);
      assert.match(
        e.message,
        /metadata\.k{64}…: expected a key of at most 256 characters, got 257/,
      );
      return true;
    },
  );
});

Deno.test("parseEnvelope keeps the message short for a huge bad key", () => {
  const key = "k".repeat(1_000_000);
  assert.throws(
    () => parseEnvelope(session({ metadata: { [key]: 1 } })),
    (e) => e instanceof ValidationError && e.path[1] === key && e.message.length < 300,
  );
});

Deno.test("parseEnvelope accepts metadata and extras exactly at their caps", () => {
  const atCaps = { ...entries(999), ["k".repeat(256)]: "x".repeat(32_768) };
  assert.equal(Object.keys(atCaps).length, 1_000);
  const decoded = parseEnvelope(session({ metadata: atCaps }));
  assert.deepStrictEqual(decoded.metadata, atCaps);
  const contact = parseEnvelope(JSON.stringify({
    type: "application/vnd.lime.contact+json",
    content: { identity: "a@b", extras: atCaps },
  }));
  assert.deepStrictEqual((contact as { content: { extras: unknown } }).content.extras, atCaps);
});

Deno.test("parseEnvelope reports one issue however many entries are bad", () => {
  const bad = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i]));
  assert.throws(
    () => parseEnvelope(session({ metadata: bad })),
    (e) =>
      e instanceof ValidationError && e.issues.length === 1 &&
      isDeepStrictEqual(e.path, ["metadata", "k0"]) && /got number/.test(e.message),
  );
});
