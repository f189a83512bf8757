/**
 * Loads `spec/` into one model: every named schema (definitions, documents, enums, envelopes,
 * authentication objects) in one namespace, with `allOf` flattened and references checked.
 * @module
 */

/** A schema in the spec's JSON Schema dialect (see spec/README.md). */
export interface Schema {
  type?: "object" | "string" | "integer" | "number" | "boolean" | "array";
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  enum?: string[];
  minimum?: number;
  /** Strings: the most UTF-16 code units (`.length`) a value may have. */
  maxLength?: number;
  /** Arrays: the most items. */
  maxItems?: number;
  /** Maps (objects without `properties`): the most entries. */
  maxProperties?: number;
  /** Maps: a cap on the keys' length. */
  propertyNames?: { maxLength?: number };
  format?: "node" | "identity" | "lime-uri" | "media-type" | "date-time";
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
  "x-lime-document"?: string;
  "x-lime-documents"?: string;
  "x-lime-authentication"?: string;
  "x-lime-required-unless"?: string;
  "x-lime-required-when"?: Record<string, string>;
  "x-lime-reason"?: number;
  "x-lime-reason-empty"?: number;
}

/** One value of an enumeration. */
export interface EnumValue {
  value: string;
  description: string;
  obsolete?: boolean;
}

/** One enumeration. */
export interface EnumSpec {
  description: string;
  values: EnumValue[];
}

/** One reason code. */
export interface ReasonSpec {
  code: number;
  name: string;
  description: string;
}

/** One registered document type. */
export interface DocumentSpec {
  name: string;
  mediaType: string;
  description: string;
  json: boolean;
  file: string;
}

/** One envelope kind and the key that tells it apart. */
export interface KindSpec {
  kind: string;
  key: string;
  definition: string;
}

/** The session state machine. */
export interface SessionSpec {
  description: string;
  initial: string;
  states: Record<string, { sentBy: string[]; final: boolean; description: string }>;
  moves: { from: string; to: string; by: string; optIn?: string; description: string }[];
  envelopes: Record<string, { send: string[]; receive: string[] }>;
  failures: Record<string, { code: number; description: string }>;
}

/** One pattern of `formats.json`, with its fragments expanded. */
export interface PatternSpec {
  description: string;
  source: string;
  expanded: string;
  valid: string[];
  invalid: string[];
}

/** The value formats: patterns and which pattern checks each schema `format`. */
export interface FormatsSpec {
  patterns: Record<string, PatternSpec>;
  formats: Record<string, string>;
}

/** The whole spec, resolved. */
export interface SpecModel {
  dir: string;
  enums: Record<string, EnumSpec>;
  reasons: ReasonSpec[];
  kinds: KindSpec[];
  schemes: Record<string, string>;
  session: SessionSpec;
  formats: FormatsSpec;
  documents: DocumentSpec[];
  /** Every named object/array/string schema, flattened, in dependency order. */
  schemas: Map<string, Schema>;
  /** Which spec file declared each name (for headers and errors). */
  origin: Map<string, string>;
}

const REF_PREFIX = "#/definitions/";

/** The name a `$ref` points to. */
export function refName(ref: string): string {
  if (!ref.startsWith(REF_PREFIX)) throw new Error(`Unsupported $ref "${ref}"`);
  return ref.slice(REF_PREFIX.length);
}

/** Whether a media type travels as JSON: suffix `json` or subtype `json` (lime-protocol §2.5). */
export function isJsonMediaType(mediaType: string): boolean {
  const [, sub = ""] = mediaType.toLowerCase().split(";")[0].split("/");
  const [subtype, suffix] = sub.split("+");
  return subtype === "json" || suffix === "json";
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (error) {
    throw new Error(`Cannot read spec file ${path}: ${(error as Error).message}`);
  }
}

/** Reads and resolves the spec folder. Throws with a clear message on any inconsistency. */
export async function loadSpec(dir: string): Promise<SpecModel> {
  const enums = await readJson<Record<string, EnumSpec>>(`${dir}/enums.json`);
  const reasons = (await readJson<{ reasons: ReasonSpec[] }>(`${dir}/reasons.json`)).reasons;
  const envelopes = await readJson<{ kinds: KindSpec[]; definitions: Record<string, Schema> }>(
    `${dir}/envelopes.json`,
  );
  const auth = await readJson<
    { schemes: Record<string, string>; definitions: Record<string, Schema> }
  >(
    `${dir}/authentication.json`,
  );
  const session = await readJson<SessionSpec>(`${dir}/session.json`);
  const formats = loadFormats(
    await readJson<
      {
        fragments: Record<string, string>;
        patterns: Record<string, PatternSpec>;
        formats: Record<string, string>;
      }
    >(
      `${dir}/formats.json`,
    ),
  );

  const raw = new Map<string, Schema>();
  const origin = new Map<string, string>();
  const add = (name: string, schema: Schema, file: string) => {
    if (raw.has(name)) {
      throw new Error(`Duplicate spec name "${name}" in ${file} (first in ${origin.get(name)})`);
    }
    raw.set(name, schema);
    origin.set(name, file);
  };
  for (const [name, e] of Object.entries(enums)) {
    add(
      name,
      { type: "string", enum: e.values.map((v) => v.value), description: e.description },
      "enums.json",
    );
  }
  for (const [name, s] of Object.entries(envelopes.definitions)) add(name, s, "envelopes.json");
  for (const [name, s] of Object.entries(auth.definitions)) add(name, s, "authentication.json");

  const documents: DocumentSpec[] = [];
  const docFiles = [];
  for await (const entry of Deno.readDir(`${dir}/documents`)) {
    if (entry.isFile && entry.name.endsWith(".json")) docFiles.push(entry.name);
  }
  docFiles.sort();
  for (const file of docFiles) {
    const content = await readJson<{
      definitions?: Record<string, Schema>;
      documents: { name: string; mediaType: string; description: string; schema: Schema }[];
    }>(`${dir}/documents/${file}`);
    for (const [name, s] of Object.entries(content.definitions ?? {})) {
      add(name, s, `documents/${file}`);
    }
    for (const doc of content.documents) {
      add(
        doc.name,
        { ...doc.schema, description: doc.schema.description ?? doc.description },
        `documents/${file}`,
      );
      documents.push({
        name: doc.name,
        mediaType: doc.mediaType,
        description: doc.description,
        json: isJsonMediaType(doc.mediaType),
        file: `documents/${file}`,
      });
    }
  }
  documents.sort((a, b) => a.mediaType.localeCompare(b.mediaType));
  const seenTypes = new Set<string>();
  for (const doc of documents) {
    const key = doc.mediaType.toLowerCase();
    if (seenTypes.has(key)) throw new Error(`Media type ${doc.mediaType} is registered twice`);
    seenTypes.add(key);
  }

  const flat = new Map<string, Schema>();
  for (const [name, schema] of raw) flat.set(name, flatten(schema, raw, name));
  for (const doc of documents) {
    const shape = resolveShape(flat.get(doc.name)!, flat);
    if (doc.json && shape.type !== "object") {
      throw new Error(
        `Document ${doc.name} (${doc.mediaType}) is JSON, so its schema must be an object`,
      );
    }
    if (!doc.json && shape.type !== "string") {
      throw new Error(
        `Document ${doc.name} (${doc.mediaType}) is not JSON, so its schema must be a string`,
      );
    }
  }
  for (const [scheme, def] of Object.entries(auth.schemes)) {
    if (!flat.has(def)) throw new Error(`Scheme ${scheme} names unknown definition ${def}`);
  }
  for (const kind of envelopes.kinds) {
    if (!flat.has(kind.definition)) {
      throw new Error(`Kind ${kind.kind} names unknown ${kind.definition}`);
    }
  }
  checkSession(session);

  return {
    dir,
    enums,
    reasons,
    kinds: envelopes.kinds,
    schemes: auth.schemes,
    session,
    formats,
    documents,
    schemas: dependencyOrder(flat),
    origin,
  };
}

/** Follows `$ref`s at the top of a schema to the schema that has the shape. */
export function resolveShape(schema: Schema, schemas: Map<string, Schema>): Schema {
  let current = schema;
  for (let i = 0; current.$ref && i < 32; i++) current = schemas.get(refName(current.$ref))!;
  return current;
}

/**
 * A sentence stating the size caps of a schema (and of a map's values), for doc comments; empty
 * when there are none.
 */
export function capsNote(schema: Schema): string {
  const parts: string[] = [];
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  if (schema.maxItems !== undefined) parts.push(`at most ${schema.maxItems} items`);
  if (schema.maxProperties !== undefined) parts.push(`at most ${schema.maxProperties} entries`);
  if (schema.propertyNames?.maxLength !== undefined) {
    parts.push(`keys of at most ${schema.propertyNames.maxLength} characters`);
  }
  const values = schema.additionalProperties?.maxLength;
  if (values !== undefined) parts.push(`values of at most ${values} characters`);
  return parts.length ? `Limits: ${parts.join(", ")}.` : "";
}

/** Rejects a size cap on a schema it cannot apply to, or a cap that is not a whole number. */
function checkCaps(schema: Schema, where: string): void {
  const caps: [string, number | undefined, boolean][] = [
    ["maxLength", schema.maxLength, schema.type === "string"],
    ["maxItems", schema.maxItems, schema.type === "array"],
    ["maxProperties", schema.maxProperties, schema.type === "object" && !schema.properties],
    [
      "propertyNames.maxLength",
      schema.propertyNames?.maxLength,
      schema.type === "object" && !schema.properties,
    ],
  ];
  for (const [keyword, value, applies] of caps) {
    if (value === undefined) continue;
    if (!applies) {
      throw new Error(
        `${where}: ${keyword} applies only to ${
          keyword === "maxLength"
            ? "strings"
            : keyword === "maxItems"
            ? "arrays"
            : "maps (objects without properties)"
        }`,
      );
    }
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`${where}: ${keyword} must be a whole number, got ${value}`);
    }
  }
  const names = Object.keys(schema.propertyNames ?? {}).filter((k) => k !== "maxLength");
  if (names.length) throw new Error(`${where}: propertyNames supports only maxLength`);
}

function flatten(schema: Schema, raw: Map<string, Schema>, where: string): Schema {
  checkCaps(schema, where);
  const out: Schema = { ...schema };
  if (schema.$ref && !raw.has(refName(schema.$ref))) {
    throw new Error(`${where}: $ref to unknown name "${schema.$ref}"`);
  }
  if (schema.allOf) {
    delete out.allOf;
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const part of schema.allOf) {
      const resolved = part.$ref
        ? flatten(raw.get(refName(part.$ref))!, raw, where)
        : flatten({ ...part, required: undefined }, raw, where);
      if (resolved.type !== "object") throw new Error(`${where}: allOf parts must be objects`);
      Object.assign(properties, resolved.properties ?? {});
      required.push(...(resolved.required ?? []), ...(part.$ref ? [] : part.required ?? []));
    }
    out.type = "object";
    out.properties = properties;
    if (required.length) out.required = [...new Set(required)];
    for (const r of out.required ?? []) {
      if (!(r in properties)) throw new Error(`${where}: required "${r}" is not a property`);
    }
    return out;
  }
  if (out.required === undefined) delete out.required;
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([k, v]) => [k, flatten(v, raw, `${where}.${k}`)]),
    );
    for (const r of out.required ?? []) {
      if (!(r in out.properties)) throw new Error(`${where}: required "${r}" is not a property`);
    }
  }
  if (out.items) out.items = flatten(out.items, raw, `${where}[]`);
  if (out.additionalProperties) {
    out.additionalProperties = flatten(out.additionalProperties, raw, where);
  }
  return out;
}

function refsOf(schema: Schema, into: Set<string>): Set<string> {
  if (schema.$ref) into.add(refName(schema.$ref));
  for (const p of Object.values(schema.properties ?? {})) refsOf(p, into);
  if (schema.items) refsOf(schema.items, into);
  if (schema.additionalProperties) refsOf(schema.additionalProperties, into);
  return into;
}

/** Sorts names so that every schema comes after the ones it references; rejects cycles. */
function dependencyOrder(flat: Map<string, Schema>): Map<string, Schema> {
  const out = new Map<string, Schema>();
  const visiting = new Set<string>();
  const visit = (name: string, path: string[]) => {
    if (out.has(name)) return;
    if (visiting.has(name)) throw new Error(`Reference cycle: ${[...path, name].join(" → ")}`);
    visiting.add(name);
    for (const dep of [...refsOf(flat.get(name)!, new Set())].sort()) visit(dep, [...path, name]);
    visiting.delete(name);
    out.set(name, flat.get(name)!);
  };
  for (const name of [...flat.keys()].sort()) visit(name, []);
  return out;
}

function checkSession(session: SessionSpec): void {
  const states = new Set(Object.keys(session.states));
  if (!states.has(session.initial)) {
    throw new Error(`session.json: unknown initial ${session.initial}`);
  }
  for (const m of session.moves) {
    if (!states.has(m.from) || !states.has(m.to)) {
      throw new Error(`session.json: move ${m.from} → ${m.to} names an unknown state`);
    }
    if (!session.states[m.to].sentBy.includes(m.by)) {
      throw new Error(
        `session.json: ${m.by} never sends ${m.to}, so it cannot make ${m.from} → ${m.to}`,
      );
    }
  }
  for (const [kind, p] of Object.entries(session.envelopes)) {
    for (const s of [...p.send, ...p.receive]) {
      if (!states.has(s)) throw new Error(`session.json: ${kind} names unknown state ${s}`);
    }
  }
}

/**
 * Expands `{{NAME}}` fragments, compiles every pattern and checks it against its own examples, so
 * a grammar change that breaks a documented example fails at codegen time.
 */
function loadFormats(raw: {
  fragments: Record<string, string>;
  patterns: Record<string, PatternSpec>;
  formats: Record<string, string>;
}): FormatsSpec {
  const expand = (source: string, depth = 0): string => {
    if (depth > 8) throw new Error(`formats.json: fragments nest too deeply in ${source}`);
    return source.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      if (!(name in raw.fragments)) throw new Error(`formats.json: unknown fragment {{${name}}}`);
      return expand(raw.fragments[name], depth + 1);
    });
  };
  const patterns: Record<string, PatternSpec> = {};
  for (const [name, p] of Object.entries(raw.patterns)) {
    const expanded = expand(p.source);
    let regex: RegExp;
    try {
      regex = new RegExp(expanded);
    } catch (error) {
      throw new Error(`formats.json: ${name} does not compile: ${(error as Error).message}`);
    }
    for (const v of p.valid) {
      if (!regex.test(v)) {
        throw new Error(`formats.json: ${name} rejects its valid example ${JSON.stringify(v)}`);
      }
    }
    for (const v of p.invalid) {
      if (regex.test(v)) {
        throw new Error(`formats.json: ${name} accepts its invalid example ${JSON.stringify(v)}`);
      }
    }
    patterns[name] = { ...p, expanded };
  }
  for (const [format, name] of Object.entries(raw.formats)) {
    if (!(name in patterns)) {
      throw new Error(`formats.json: format ${format} names unknown pattern ${name}`);
    }
  }
  return { patterns, formats: raw.formats };
}
