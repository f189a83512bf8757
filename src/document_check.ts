/**
 * Generic document checks called by the generated fast checks: a value typed by a sibling media
 * type is checked against the registry, or by the generic rule for unregistered media types
 * (JSON media type ⇒ a JSON object, anything else ⇒ a string; lime-protocol §2.6).
 * @module
 */
import { AUTHENTICATION_TYPES, DOCUMENT_TYPES } from "./generated/registry.generated.ts";
import type { AuthenticationEntry, DocumentEntry } from "./document_types.ts";
import { isJsonMediaType } from "./media_type.ts";
import { isMediaTypeString } from "./formats.ts";

/** Whether an optional field is absent (or null) or a string. */
export const optString = (x: unknown): boolean => x == null || typeof x === "string";
/**
 * Whether an optional field is absent (or null) or passes `check`, which refuses values not of its
 * type (`check…` functions and the format predicates, typed for strings, test `typeof` first).
 */
export const optional = (x: unknown, check: (x: never) => boolean): boolean =>
  x == null || check(x as never);
/** Whether a required field is present (not null) and passes `check` (typed as for `optional`). */
export const required = (x: unknown, check: (x: never) => boolean): boolean =>
  x != null && check(x as never);
/** Whether an optional field is absent (or null) or a boolean. */
export const optBoolean = (x: unknown): boolean => x == null || typeof x === "boolean";
/** Whether an optional field is absent (or null) or a finite number. */
export const optNumber = (x: unknown): boolean => x == null || Number.isFinite(x);
/** Whether an optional field is absent (or null) or a safe integer. */
export const optInteger = (x: unknown): boolean => x == null || Number.isSafeInteger(x);

// The field checks below are function declarations, not arrow constants: the generated field
// tables are built while the modules load, inside an import cycle (registry → checks → here).

/** Whether a present field is a string (a field check of {@link checkFields}). */
export function isString(x: unknown): boolean {
  return typeof x === "string";
}
/** Whether a present field is a boolean (a field check of {@link checkFields}). */
export function isBoolean(x: unknown): boolean {
  return typeof x === "boolean";
}
/** Whether a present field is a finite number (a field check of {@link checkFields}). */
export function isFiniteNumber(x: unknown): boolean {
  return Number.isFinite(x);
}
/** Whether a present field is a safe integer (a field check of {@link checkFields}). */
export function isSafeInteger(x: unknown): boolean {
  return Number.isSafeInteger(x);
}

/**
 * Checks one present field (not null): its value and the object that holds it. The value may be
 * of any type: a check typed for strings (a format predicate) tests `typeof` first.
 */
export type FieldCheck = (x: never, o: Record<string, unknown>) => boolean;
/** The field checks of an object schema, by property name. */
export type FieldTable = ReadonlyMap<string, FieldCheck>;

/**
 * A field table (the generated checks build one per large object schema): `checks`, added to
 * the entries of `base` when given.
 */
export function fieldTable(checks: Record<string, FieldCheck>, base?: FieldTable): FieldTable {
  return new Map([...base ?? [], ...Object.entries(checks)]);
}

/**
 * Whether `v` is a JSON object whose fields named in `fields` pass their checks; null counts as
 * absent, other keys are ignored. One pass over the keys the object has (its enumerable ones, as
 * JSON.parse makes them); required fields are checked by the caller.
 */
export function checkFields(v: unknown, fields: FieldTable): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  for (const key in o) {
    const x = o[key];
    if (x == null) continue;
    const check = fields.get(key);
    if (check !== undefined && !check(x as never, o)) return false;
  }
  return true;
}

/** Whether a value is a JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Whether a value is an object whose values are null or pass `check`, with at most `maxEntries`
 * entries and keys of at most `maxKeyLength` characters (counted in the same loop: a huge map is
 * refused at entry `maxEntries + 1`).
 */
export function isMapOf(
  value: unknown,
  check: (item: unknown) => boolean,
  maxEntries: number = Infinity,
  maxKeyLength: number = Infinity,
): boolean {
  if (!isPlainObject(value)) return false;
  let entries = 0;
  for (const key in value) {
    if (++entries > maxEntries || key.length > maxKeyLength) return false;
    const item = value[key];
    if (item !== null && !check(item)) return false;
  }
  return true;
}

/**
 * Whether a value is an object whose values are null or strings (metadata, extras), with at most
 * `maxEntries` entries, keys of at most `maxKeyLength` characters and values of at most
 * `maxValueLength` characters.
 */
export function isStringMap(
  value: unknown,
  maxEntries: number = Infinity,
  maxKeyLength: number = Infinity,
  maxValueLength: number = Infinity,
): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const object = value as Record<string, unknown>;
  let entries = 0;
  for (const key in object) {
    if (++entries > maxEntries || key.length > maxKeyLength) return false;
    const item = object[key];
    if (item !== null && (typeof item !== "string" || item.length > maxValueLength)) return false;
  }
  return true;
}

// The registered media types bucketed by length: `===` against a few constants is cheaper than
// hashing a fresh string from JSON.parse for a Map lookup. Built on first use (import cycle).
let byLength: (readonly [string, DocumentEntry])[][] | undefined;

function exactDocumentType(mediaType: string): DocumentEntry | undefined {
  if (byLength === undefined) {
    byLength = [];
    for (const [key, entry] of DOCUMENT_TYPES) (byLength[key.length] ??= []).push([key, entry]);
  }
  const bucket = byLength[mediaType.length];
  if (bucket !== undefined) {
    for (let i = 0; i < bucket.length; i++) {
      if (bucket[i][0] === mediaType) return bucket[i][1];
    }
  }
  return undefined;
}

/** Whether `v` is a media type; a registered one, spelled as registered, needs no regex. */
export function isMediaTypeFast(v: string): boolean {
  return typeof v === "string" && (exactDocumentType(v) !== undefined || isMediaTypeString(v));
}

/** The registered document type of a media type (case-insensitive, parameters ignored). */
export function lookupDocumentType(mediaType: string): DocumentEntry | undefined {
  const exact = exactDocumentType(mediaType);
  if (exact) return exact;
  const semicolon = mediaType.indexOf(";");
  const bare = (semicolon >= 0 ? mediaType.slice(0, semicolon) : mediaType).trim().toLowerCase();
  return DOCUMENT_TYPES.get(bare);
}

/** Whether `value` is a valid document of media type `type`. */
export function checkDocument(type: unknown, value: unknown): boolean {
  if (typeof type !== "string") return false;
  const entry = lookupDocumentType(type);
  if (entry) return entry.check(value);
  return isJsonMediaType(type) ? isPlainObject(value) : typeof value === "string";
}

/** Whether every item is a valid document of media type `type` (looked up once for all). */
export function checkDocuments(type: unknown, items: unknown[]): boolean {
  if (typeof type !== "string") return false;
  const entry = lookupDocumentType(type);
  const check = entry ? entry.check : isJsonMediaType(type) ? isPlainObject : isString;
  for (let i = 0; i < items.length; i++) {
    if (!check(items[i])) return false;
  }
  return true;
}

/**
 * The authentication entry for a session's scheme; without an outer scheme, the scheme repeated
 * inside the object (as lime-js sends it) is used.
 */
export function lookupAuthentication(
  scheme: unknown,
  value: unknown,
): AuthenticationEntry | undefined {
  if (typeof scheme === "string") return AUTHENTICATION_TYPES.get(scheme);
  const inner = isPlainObject(value) ? value.scheme : undefined;
  return typeof inner === "string" ? AUTHENTICATION_TYPES.get(inner) : undefined;
}

/**
 * Whether `value` is a valid authentication object for `scheme`. A scheme is required, outside
 * the object or (lime-js style) inside it.
 */
export function checkAuthentication(scheme: unknown, value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  if (scheme == null && value.scheme == null) return false;
  const entry = lookupAuthentication(scheme, value);
  // An unknown scheme is reported by the scheme field itself.
  return entry ? entry.check(value) : true;
}
