/**
 * zod refinements used by the generated validators to explain why a document, a collection's
 * items or an authentication object is invalid, with the JSON path of the offending value.
 * @module
 */
import type { z } from "npm:zod@4.6.7";
import type { SchemaValidator } from "./document_types.ts";
import {
  checkDocument,
  isPlainObject,
  lookupAuthentication,
  lookupDocumentType,
} from "./document_check.ts";
import { isJsonMediaType } from "./media_type.ts";
// A cycle (the validators import this module); the tables are read only when a refinement runs.
import { AUTHENTICATION_SCHEMAS, DOCUMENT_SCHEMAS } from "./generated/validators.generated.ts";

type Ctx = z.RefinementCtx;
type Path = (string | number)[];

function issue(ctx: Ctx, path: Path, message: string): void {
  ctx.addIssue({ code: "custom", path, message });
}

function explainSchema(schema: SchemaValidator, value: unknown, ctx: Ctx, path: Path): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  for (const i of result.error.issues) issue(ctx, [...path, ...(i.path as Path)], i.message);
}

function explainDocument(type: string, value: unknown, ctx: Ctx, path: Path): void {
  const entry = lookupDocumentType(type);
  if (entry) {
    return explainSchema(DOCUMENT_SCHEMAS.get(entry.mediaType.toLowerCase())!, value, ctx, path);
  }
  if (isJsonMediaType(type)) {
    if (!isPlainObject(value)) {
      issue(ctx, path, `Expected a JSON object for the JSON media type "${type}"`);
    }
  } else if (typeof value !== "string") {
    issue(ctx, path, `Expected a string for the non-JSON media type "${type}"`);
  }
}

/** Refines `o[key]`, a document whose media type is `o[typeKey]`. */
export function refineDocument(
  o: Record<string, unknown>,
  ctx: Ctx,
  key: string,
  typeKey: string,
  required: boolean,
): void {
  const value = o[key];
  if (value == null) {
    if (required) issue(ctx, [key], `Required: ${key} is missing or null`);
    return;
  }
  const type = o[typeKey];
  if (typeof type !== "string") {
    return issue(ctx, [typeKey], `Required: ${typeKey} (the media type of ${key})`);
  }
  explainDocument(type, value, ctx, [key]);
}

/** Refines `o[key]`, an array of documents whose media type is `o[typeKey]`. */
export function refineDocuments(
  o: Record<string, unknown>,
  ctx: Ctx,
  key: string,
  typeKey: string,
): void {
  const items = o[key];
  if (!Array.isArray(items)) return;
  const type = o[typeKey];
  if (typeof type !== "string") {
    return issue(ctx, [typeKey], `Required: ${typeKey} (the media type of ${key})`);
  }
  // Explain only the first bad item: a huge collection of bad items must not cost a zod run each.
  const bad = items.findIndex((item) => !checkDocument(type, item));
  if (bad >= 0) explainDocument(type, items[bad], ctx, [key, bad]);
}

/** Refines `o[key]`, an authentication object shaped by the scheme `o[schemeKey]`. */
export function refineAuthentication(
  o: Record<string, unknown>,
  ctx: Ctx,
  key: string,
  schemeKey: string,
): void {
  const value = o[key];
  if (value == null) return;
  if (!isPlainObject(value)) return issue(ctx, [key], "Expected an object");
  const scheme = o[schemeKey] ?? value.scheme;
  if (scheme == null) {
    return issue(ctx, [schemeKey], `Required: ${schemeKey} (the scheme of ${key})`);
  }
  const entry = lookupAuthentication(o[schemeKey], value);
  if (entry) explainSchema(AUTHENTICATION_SCHEMAS.get(entry.scheme)!, value, ctx, [key]);
}

/** Refines `o[key]`, required unless `o[other]` is present. */
export function refineRequiredUnless(
  o: Record<string, unknown>,
  ctx: Ctx,
  key: string,
  other: string,
): void {
  if (o[key] == null && o[other] == null) {
    issue(ctx, [key], `Required: ${key} (when ${other} is absent)`);
  }
}

/** Refines `o[key]`, required when `o[other]` equals `value`. */
export function refineRequiredWhen(
  o: Record<string, unknown>,
  ctx: Ctx,
  key: string,
  other: string,
  value: string,
): void {
  if (o[key] == null && o[other] === value) {
    issue(ctx, [key], `Required: ${key} (when ${other} is "${value}")`);
  }
}

/** Whether an object has at most `max` own enumerable keys (stops counting past `max`). */
export function hasAtMostEntries(object: object, max: number): boolean {
  let entries = 0;
  for (const _ in object) {
    if (++entries > max) return false;
  }
  return true;
}

/**
 * `when` of a map's size refinement: run it whenever the value is an object, even if some entries
 * failed, so that zod reports the size like the fast check (which stops at the cap) does.
 */
export function whenObject(payload: { readonly value: unknown }): boolean {
  return isPlainObject(payload.value);
}
