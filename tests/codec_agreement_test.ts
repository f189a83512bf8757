/**
 * The codec trusts the generated fast checks and runs the generated explainer only to explain a
 * failure; the zod validators are generated from the same spec for users. All three must accept
 * exactly the same values, and the explainer's one issue must be one that zod reports too. These
 * tests sweep envelope fields and every document property of the spec through a pool of wire
 * values and compare them. (The valid and invalid samples of codec_vectors_test.ts and
 * codec_invalid_test.ts are compared in those files.)
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { EXPLAINERS } from "../src/generated/explain.generated.ts";
import { DOCUMENT_TYPES, ENVELOPE_KINDS } from "../src/generated/registry.generated.ts";
import { DOCUMENT_SCHEMAS, ENVELOPE_SCHEMAS } from "../src/generated/validators.generated.ts";
import type {
  Check,
  DocumentEntry,
  EnvelopeKindEntry,
  Explain,
  SchemaValidator,
} from "../src/document_types.ts";
import core from "../spec/documents/core.json" with { type: "json" };
import contents from "../spec/documents/contents.json" with { type: "json" };
import resources from "../spec/documents/resources.json" with { type: "json" };
import enums from "../spec/enums.json" with { type: "json" };

type Json = Record<string, unknown>;

/** Values seen on the wire, valid or not somewhere. All are exact JSON values. */
const POOL: unknown[] = [
  null,
  true,
  false,
  0,
  1,
  -1,
  1.5,
  -0.25,
  2147483648,
  Number.MAX_SAFE_INTEGER,
  "",
  " ",
  "x",
  "@",
  "a b@c",
  "a@b",
  "a@b/c",
  "name/instance",
  "/ping",
  "lime://a@b/presence",
  "http://a@b/presence",
  "text/plain",
  "application/json",
  "application/x+json",
  "a/b/c",
  "2020-01-01T00:00:00Z",
  "2020-13-45",
  "success",
  "pending",
  "get",
  "received",
  "new",
  "tls",
  "gzip",
  "plain",
  "guest",
  "composing",
  "available",
  [],
  ["x"],
  [1],
  [null],
  ["none", "tls"],
  ["guest", "plain"],
  [{}],
  [{ type: "text/plain", value: "x" }],
  {},
  { code: 1 },
  { code: "1" },
  { password: "x" },
  { scheme: "key", key: "k" },
  { a: "b" },
  { a: null },
  { a: 1 },
  { type: "text/plain", value: "x" },
  { type: "text/plain", value: 1 },
  { type: "application/json", value: { a: 1 } },
  { itemType: "text/plain", items: ["a"] },
  { itemType: "text/plain", items: [1] },
  { id: "1", event: "received" },
  { id: "1", type: "text/plain", content: "x" },
];

/** Numbers JSON.parse produces that are not safe integers or not finite. */
const EDGE_NUMBERS: unknown[] = [
  JSON.parse("1e400"), // Infinity
  JSON.parse("-1e400"), // -Infinity
  JSON.parse("9007199254740993"), // 2^53, not a safe integer
  JSON.parse("1e20"),
];

/** Media types the document sweeps put next to a document-valued property. */
const TYPES = [
  "text/plain",
  "application/json",
  "application/x-thing+json",
  "text/x-unknown",
  "application/vnd.lime.location+json",
  "application/vnd.lime.container+json",
  "application/vnd.lime.collection+json",
  "application/vnd.lime.identity",
  "Application/VND.Lime.Chatstate+JSON; charset=utf-8",
];

// ------------------------------------------------------------------------------------------------

type Mismatch = { where: string; value: unknown; problem: string };

/** JSON text of a value, with non-finite numbers spelled out (JSON.stringify writes null). */
function describe(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => typeof v === "number" && !Number.isFinite(v) ? `<${v}>` : v,
  );
}

/** A registry entry (check and explainer) with the zod schema of the same spec name. */
type Judges = { check: Check; explain: Explain; schema: SchemaValidator };

function judgesOfKind(kind: EnvelopeKindEntry): Judges {
  return { check: kind.check, explain: EXPLAINERS[kind.name], schema: ENVELOPE_SCHEMAS[kind.kind] };
}

function judgesOfDocument(entry: DocumentEntry): Judges {
  const schema = DOCUMENT_SCHEMAS.get(entry.mediaType.toLowerCase())!;
  return { check: entry.check, explain: EXPLAINERS[entry.name], schema };
}

/**
 * Compares the fast check, the explainer and zod on one value: the explainer finds an issue
 * exactly when the check fails, zod agrees on validity, and the explainer's issue path is one of
 * the paths zod reports.
 */
function compare(entry: Judges, where: string, value: unknown, mismatches: Mismatch[]): void {
  const check = entry.check(value);
  const explained = entry.explain(value);
  const zod = entry.schema.safeParse(value);
  const problems: string[] = [];
  if (check !== zod.success) problems.push(`check=${check} zod=${zod.success}`);
  if (check !== (explained === undefined)) {
    problems.push(`check=${check} explain=${JSON.stringify(explained)}`);
  }
  if (explained && !zod.success) {
    const paths = zod.error.issues.map((i) => i.path);
    if (!paths.some((p) => isDeepStrictEqual(p, explained.path))) {
      problems.push(
        `explain path ${JSON.stringify(explained.path)} not among zod's ${JSON.stringify(paths)}`,
      );
    }
  }
  if (problems.length) mismatches.push({ where, value, problem: problems.join("; ") });
}

function assertNoMismatch(mismatches: Mismatch[], compared: number): void {
  assert.ok(compared > 0);
  assert.deepEqual(
    mismatches.map((m) => `${m.where}: ${describe(m.value)} ${m.problem}`),
    [],
  );
}

// ------------------------------------------------------------------------------------------------
// Envelopes

const BASES: [string, Json][] = [
  ["message", { id: "1", to: "a@b", type: "text/plain", content: "x" }],
  ["notification", { id: "1", to: "a@b", event: "failed", reason: { code: 1 } }],
  ["command request", { id: "1", method: "set", uri: "/r", type: "text/plain", resource: "x" }],
  ["command response", { id: "1", method: "get", status: "success" }],
  ["session", {
    id: "s",
    state: "authenticating",
    scheme: "plain",
    authentication: { password: "x" },
  }],
];

const ENVELOPE_FIELDS = [
  "id",
  "from",
  "to",
  "pp",
  "metadata",
  "type",
  "content",
  "event",
  "reason",
  "method",
  "uri",
  "resource",
  "status",
  "state",
  "encryptionOptions",
  "encryption",
  "compressionOptions",
  "compression",
  "schemeOptions",
  "scheme",
  "authentication",
  "unknownKey",
];

function kindOf(value: Json): EnvelopeKindEntry | undefined {
  return ENVELOPE_KINDS.find((k) => k.key in value);
}

function sweepEnvelopes(pool: unknown[]): { mismatches: Mismatch[]; compared: number } {
  const mismatches: Mismatch[] = [];
  let compared = 0;
  const run = (where: string, value: Json) => {
    const kind = kindOf(value);
    if (!kind) return;
    compare(judgesOfKind(kind), where, value, mismatches);
    compared++;
  };
  for (const [name, base] of BASES) {
    for (const field of ENVELOPE_FIELDS) {
      for (const v of pool) run(`${name}.${field}`, { ...base, [field]: v });
      run(
        `${name} without ${field}`,
        Object.fromEntries(Object.entries(base).filter(([k]) => k !== field)),
      );
      run(`${name}.metadata.${field}`, {
        ...base,
        metadata: { [field]: pool[compared % pool.length] },
      });
    }
    for (const v of pool) {
      run(`${name}.reason.code`, { ...base, reason: { code: v } });
      run(`${name}.reason.description`, { ...base, reason: { code: 1, description: v } });
    }
    for (const type of [...TYPES, "text", "application/vnd.lime.presence+json"]) {
      for (const v of pool) {
        if (name === "message") run(`message ${type} content`, { ...base, type, content: v });
        if (name.startsWith("command")) {
          run(`${name} ${type} resource`, { ...base, type, resource: v });
        }
      }
    }
  }
  for (const scheme of [undefined, "guest", "plain", "key", "transport", "external", "oauth"]) {
    for (const v of pool) {
      run(`session ${scheme} authentication`, {
        state: "authenticating",
        scheme,
        authentication: v,
      });
      run(`session ${scheme} inner scheme`, {
        state: "authenticating",
        authentication: { scheme, password: v, key: v, token: v, issuer: v },
      });
    }
  }
  return { mismatches, compared };
}

Deno.test("ENVELOPE_KINDS check, explainer and schema agree on every envelope field of the value pool", () => {
  const { mismatches, compared } = sweepEnvelopes(POOL);
  assert.ok(compared > 5000, `compared ${compared}`);
  assertNoMismatch(mismatches, compared);
});

// ------------------------------------------------------------------------------------------------
// Documents, driven by the spec's own schemas

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
  enum?: string[];
  format?: string;
  additionalProperties?: Schema | boolean;
  "x-lime-document"?: string;
  "x-lime-documents"?: string;
};

const DEFINITIONS: Record<string, Schema> = {
  ...core.definitions,
  ...contents.definitions,
  ...resources.definitions,
} as Record<string, Schema>;
const DOCUMENTS: { name: string; mediaType: string; schema: Schema }[] = [
  ...core.documents,
  ...contents.documents,
  ...resources.documents,
] as { name: string; mediaType: string; schema: Schema }[];
for (const doc of DOCUMENTS) DEFINITIONS[doc.name] ??= doc.schema;
for (const [name, e] of Object.entries(enums)) {
  DEFINITIONS[name] = { type: "string", enum: e.values.map((v) => v.value) };
}

/** Resolves `$ref` and flattens `allOf`; `undefined` for a definition outside the documents. */
function resolve(schema: Schema | undefined): Schema | undefined {
  if (schema === undefined) return undefined;
  if (schema.$ref) {
    const target = DEFINITIONS[schema.$ref.replace("#/definitions/", "")];
    return target ? resolve(target) : undefined;
  }
  if (schema.allOf) {
    const parts = schema.allOf.map(resolve);
    if (parts.some((p) => p === undefined)) return undefined;
    return {
      type: "object",
      properties: Object.assign({}, ...parts.map((p) => p!.properties ?? {})),
      required: parts.flatMap((p) => p!.required ?? []),
    };
  }
  return schema;
}

/** A minimal valid value of a schema. */
function minimal(schema: Schema | undefined): unknown {
  const s = resolve(schema);
  if (s === undefined) return {};
  if (s.type === "object" || s.properties) {
    const o: Json = {};
    for (const key of s.required ?? []) {
      const property = s.properties?.[key];
      const sibling = property?.["x-lime-document"];
      if (sibling) {
        o[sibling] = "text/plain";
        o[key] = "x";
      } else if (!(key in o)) {
        o[key] = minimal(property);
      }
    }
    return o;
  }
  if (s.type === "string") {
    if (s.enum) return s.enum[0];
    switch (s.format) {
      case "media-type":
        return "text/plain";
      case "node":
      case "identity":
        return "a@b";
      case "lime-uri":
        return "/x";
      case "date-time":
        return "2020-01-01T00:00:00Z";
      default:
        return "x";
    }
  }
  if (s.type === "integer" || s.type === "number") return 1;
  if (s.type === "boolean") return true;
  if (s.type === "array") return [];
  return "x";
}

type Slot = [where: string, build: (v: unknown) => unknown];

/** Places to put a pool value in a document: each property, one level of nesting and arrays. */
function slots(doc: { mediaType: string; schema: Schema }): Slot[] {
  const s = resolve(doc.schema);
  if (s === undefined) return [];
  if (s.type === "string") return [[doc.mediaType, (v) => v]];
  const base = minimal(s) as Json;
  const out: Slot[] = [[`${doc.mediaType} (whole)`, (v) => v]];
  for (const [key, raw] of Object.entries(s.properties ?? {})) {
    const where = `${doc.mediaType}.${key}`;
    out.push([where, (v) => ({ ...base, [key]: v })]);
    const sibling = raw["x-lime-document"] ?? raw["x-lime-documents"];
    if (sibling) {
      for (const type of TYPES) {
        out.push([
          `${where} (${sibling} ${type})`,
          (v) => ({ ...base, [sibling]: type, [key]: v }),
        ]);
        if (raw["x-lime-documents"]) {
          out.push([
            `${where}[0] (${sibling} ${type})`,
            (v) => ({ ...base, [sibling]: type, [key]: [v] }),
          ]);
        }
      }
    }
    const property = resolve(raw);
    if (property === undefined) continue;
    if (property.properties) {
      const inner = minimal(property) as Json;
      for (const q of Object.keys(property.properties)) {
        out.push([`${where}.${q}`, (v) => ({ ...base, [key]: { ...inner, [q]: v } })]);
      }
    }
    if (property.type === "object" && property.additionalProperties) {
      out.push([`${where}.*`, (v) => ({ ...base, [key]: { k: v } })]);
    }
    if (property.type === "array") {
      const items = resolve(property.items);
      out.push([`${where}[0]`, (v) => ({ ...base, [key]: [v] })]);
      if (items?.properties) {
        const inner = minimal(items) as Json;
        for (const q of Object.keys(items.properties)) {
          out.push([
            `${where}[0].${q}`,
            (v) => ({ ...base, [key]: [inner, { ...inner, [q]: v }] }),
          ]);
        }
      }
    }
  }
  return out;
}

function sweepDocuments(pool: unknown[]): { mismatches: Mismatch[]; compared: number } {
  const mismatches: Mismatch[] = [];
  let compared = 0;
  for (const doc of DOCUMENTS) {
    const entry = judgesOfDocument(DOCUMENT_TYPES.get(doc.mediaType) as DocumentEntry);
    for (const [where, build] of slots(doc)) {
      for (const v of pool) {
        compare(entry, where, build(v), mismatches);
        compared++;
      }
    }
  }
  return { mismatches, compared };
}

Deno.test("DOCUMENT_TYPES covers every document of spec/documents", () => {
  assert.deepEqual(
    DOCUMENTS.map((d) => d.mediaType).filter((t) => !DOCUMENT_TYPES.has(t)),
    [],
  );
  assert.equal(DOCUMENTS.length, DOCUMENT_TYPES.size);
});

Deno.test("DOCUMENT_TYPES minimal samples built from the spec are valid", () => {
  for (const doc of DOCUMENTS) {
    const entry = DOCUMENT_TYPES.get(doc.mediaType) as DocumentEntry;
    const s = resolve(doc.schema);
    if (s === undefined) continue; // envelope documents: covered by the envelope sweep
    const value = minimal(s);
    assert.ok(entry.check(value), `check ${doc.mediaType}: ${JSON.stringify(value)}`);
    assert.equal(EXPLAINERS[entry.name](value), undefined, `explain ${doc.mediaType}`);
    assert.ok(
      DOCUMENT_SCHEMAS.get(doc.mediaType)!.safeParse(value).success,
      `zod ${doc.mediaType}: ${JSON.stringify(value)}`,
    );
  }
});

Deno.test("DOCUMENT_TYPES check, explainer and schema agree on every document property of the value pool", () => {
  const { mismatches, compared } = sweepDocuments(POOL);
  assert.ok(compared > 20000, `compared ${compared}`);
  assertNoMismatch(mismatches, compared);
});

Deno.test("ENVELOPE_KINDS check, explainer and schema agree on documents nested in envelopes", () => {
  const mismatches: Mismatch[] = [];
  let compared = 0;
  const message = judgesOfKind(ENVELOPE_KINDS.find((k) => k.kind === "message")!);
  const command = judgesOfKind(ENVELOPE_KINDS.find((k) => k.kind === "command")!);
  for (const doc of DOCUMENTS) {
    for (const [where, build] of slots(doc)) {
      for (const v of POOL) {
        const value = build(v);
        compare(message, `message ${where}`, { type: doc.mediaType, content: value }, mismatches);
        compare(
          command,
          `command ${where}`,
          { id: "1", method: "set", uri: "/r", type: doc.mediaType, resource: value },
          mismatches,
        );
        compared += 2;
      }
    }
  }
  assertNoMismatch(mismatches, compared);
});

// ------------------------------------------------------------------------------------------------
// Known disagreement (reported to the lead): numbers that are not finite or not safe integers.
// The fast checks test `typeof x === "number"` / `Number.isInteger(x)`; zod's `z.number()` refuses
// Infinity and `z.int()` refuses integers beyond Number.MAX_SAFE_INTEGER. JSON.parse produces both
// (`1e400`, `9007199254740993`), so the codec accepts values its own validator calls invalid.

Deno.test({
  name: "ENVELOPE_KINDS check, explainer and schema agree on non-finite and unsafe-integer numbers",

  fn() {
    const { mismatches, compared } = sweepEnvelopes(EDGE_NUMBERS);
    assertNoMismatch(mismatches, compared);
  },
});

Deno.test({
  name: "DOCUMENT_TYPES check, explainer and schema agree on non-finite and unsafe-integer numbers",

  fn() {
    const { mismatches, compared } = sweepDocuments(EDGE_NUMBERS);
    assertNoMismatch(mismatches, compared);
  },
});

// ------------------------------------------------------------------------------------------------
// Size caps (Metadata, extras): the fast check and the explainer stop at the entry cap, and zod
// reports the size whatever the entries hold, so the explainer's issue is still one of zod's.

/** Maps at, over and around the caps of spec/envelopes.json Metadata (1,000 / 256 / 32,768). */
function cappedMaps(): [string, Json][] {
  const map = (count: number, value: unknown = "v") =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));
  return [
    ["1,000 entries", map(1_000)],
    ["1,001 entries", map(1_001)],
    ["1,001 entries, the last a number", { ...map(1_000), last: 1 }],
    ["1,001 entries, the first a number", { first: 1, ...map(1_000) }],
    ["1,001 null entries", map(1_001, null)],
    ["a 256-character key", { ["k".repeat(256)]: "v" }],
    ["a 257-character key", { ["k".repeat(257)]: "v" }],
    ["a 257-character key with a number", { ["k".repeat(257)]: 1 }],
    ["1,001 entries, the first key 257 characters", { ["k".repeat(257)]: "v", ...map(1_000) }],
    ["a 32,768-character value", { a: "x".repeat(32_768) }],
    ["a 32,769-character value", { a: "x".repeat(32_769) }],
  ];
}

Deno.test("ENVELOPE_KINDS check, explainer and schema agree on metadata at and over its caps", () => {
  const mismatches: Mismatch[] = [];
  let compared = 0;
  for (const [name, base] of BASES) {
    const kind = judgesOfKind(kindOf(base)!);
    for (const [what, metadata] of cappedMaps()) {
      compare(kind, `${name} metadata with ${what}`, { ...base, metadata }, mismatches);
      compared++;
    }
  }
  assertNoMismatch(mismatches, compared);
});

Deno.test("DOCUMENT_TYPES check, explainer and schema agree on extras at and over its caps", () => {
  const mismatches: Mismatch[] = [];
  let compared = 0;
  for (const type of ["application/vnd.lime.contact+json", "application/vnd.lime.account+json"]) {
    const entry = judgesOfDocument(DOCUMENT_TYPES.get(type)!);
    for (const [what, extras] of cappedMaps()) {
      compare(entry, `${type} extras with ${what}`, { identity: "a@b", extras }, mismatches);
      compared++;
    }
  }
  assertNoMismatch(mismatches, compared);
});
