/**
 * Generic pieces of the generated explainer (`explain.generated.ts`), the counterpart of
 * `document_check.ts`: each function says why a value fails the matching fast check, stopping at
 * the first problem, and returns `undefined` exactly when that check accepts the value. Loops stop
 * where the checks stop (at the first bad item, at a map's entry cap), so explaining a failure
 * never costs more than the check that found it.
 * @module
 */
import type { ExplainedIssue } from "./document_types.ts";
import { isPlainObject, lookupAuthentication, lookupDocumentType } from "./document_check.ts";
import { isJsonMediaType } from "./media_type.ts";
import { describeNodeProblem, quoteForError } from "./formats.ts";
// An import cycle (the generated explainers call the helpers here); the table is read at call time.
import { EXPLAINERS } from "./generated/explain.generated.ts";

type Issue = ExplainedIssue;
type Found = Issue | undefined;
type Item = (value: unknown) => Found;

/** An issue at the explained value itself. */
export function issue(message: string): Issue {
  return { path: [], message };
}

/** Prefixes `key` to the path of an issue found inside the value at `key`; returns the issue. */
export function at(key: string | number, found: Issue): Issue {
  found.path.unshift(key);
  return found;
}

/** What a value is, for the "got …" part of a message (`number`, `array`, `nothing`). */
export function got(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/** `expected <what>, got <kind of value>`. */
export function expected(what: string, value: unknown): Issue {
  return issue(`expected ${what}, got ${got(value)}`);
}

/** A required value that is missing or null; `when` says when it is required, if not always. */
export function missing(what: string, value: unknown, when: string = ""): Issue {
  return issue(`required${when && ` ${when}`}: expected ${what}, got ${got(value)}`);
}

function tooLong(what: string, length: number, max: number): Issue {
  return issue(`expected ${what} of at most ${max} characters, got ${length}`);
}

/** A string, of at most `maxLength` characters. */
export function explainString(value: unknown, maxLength: number = Infinity): Found {
  if (typeof value !== "string") return expected("a string", value);
  if (value.length > maxLength) return tooLong("a string", value.length, maxLength);
  return undefined;
}

/**
 * A string of a format (`test`), of at most `maxLength` characters; `what` names the format and
 * `describe`, when given, says what is wrong with a string that fails it.
 */
export function explainFormat(
  value: unknown,
  test: (v: string) => boolean,
  what: string,
  describe?: (v: string) => string,
  maxLength: number = Infinity,
): Found {
  if (typeof value !== "string") return expected(what, value);
  if (value.length > maxLength) return tooLong(what, value.length, maxLength);
  if (test(value)) return undefined;
  const why = describe ? `: ${describe(value)}` : "";
  return issue(`expected ${what}, got ${quoteForError(value)}${why}`);
}

/** Says why a string is not an identity (for {@link explainFormat}). */
export function describeIdentityProblem(value: string): string {
  return describeNodeProblem(value, "identity");
}

/** A safe integer, at least `minimum`. */
export function explainInteger(value: unknown, minimum: number = -Infinity): Found {
  if (typeof value !== "number") return expected("an integer", value);
  if (!Number.isInteger(value)) return issue(`expected an integer, got ${value}`);
  if (!Number.isSafeInteger(value)) {
    return issue(`expected an integer of at most 2^53 - 1 in magnitude, got ${value}`);
  }
  if (value < minimum) return issue(`expected an integer >= ${minimum}, got ${value}`);
  return undefined;
}

/** A finite number. */
export function explainNumber(value: unknown): Found {
  if (typeof value !== "number") return expected("a number", value);
  return Number.isFinite(value) ? undefined : issue(`expected a finite number, got ${value}`);
}

/** A boolean. */
export function explainBoolean(value: unknown): Found {
  return typeof value === "boolean" ? undefined : expected("a boolean", value);
}

/** One of `values` (an enumeration). */
export function explainOneOf(value: unknown, values: readonly string[]): Found {
  if (values.includes(value as string)) return undefined;
  const list = values.map((v) => JSON.stringify(v)).join(", ");
  const what = typeof value === "string" ? quoteForError(value) : got(value);
  return issue(`expected one of ${list}, got ${what}`);
}

/** A JSON object (not null, not an array). */
export function explainObject(value: unknown): Found {
  return isPlainObject(value) ? undefined : expected("an object", value);
}

/** An array of at most `maxItems` items, each passing `item` when given; stops at the first. */
export function explainArray(
  value: unknown,
  item: Item | undefined,
  maxItems: number = Infinity,
): Found {
  if (!Array.isArray(value)) return expected("an array", value);
  if (value.length > maxItems) {
    return issue(`expected at most ${maxItems} items, got ${value.length}`);
  }
  if (item === undefined) return undefined;
  for (let i = 0; i < value.length; i++) {
    const found = item(value[i]);
    if (found) return at(i, found);
  }
  return undefined;
}

function tooManyEntries(maxEntries: number): Issue {
  return issue(`expected at most ${maxEntries} entries, got more`);
}

function longKey(key: string, maxKeyLength: number): Issue {
  return at(key, issue(`expected a key of at most ${maxKeyLength} characters, got ${key.length}`));
}

/**
 * A map whose values are null or pass `item`, with at most `maxEntries` entries and keys of at
 * most `maxKeyLength` characters (the loop of `isMapOf`).
 */
export function explainMapOf(
  value: unknown,
  item: Item,
  maxEntries: number = Infinity,
  maxKeyLength: number = Infinity,
): Found {
  if (!isPlainObject(value)) return expected("an object", value);
  let entries = 0;
  for (const key in value) {
    if (++entries > maxEntries) return tooManyEntries(maxEntries);
    if (key.length > maxKeyLength) return longKey(key, maxKeyLength);
    const v = value[key];
    if (v === null) continue;
    const found = item(v);
    if (found) return at(key, found);
  }
  return undefined;
}

/** A map of null or string values, with caps (the loop of `isStringMap`: metadata, extras). */
export function explainStringMap(
  value: unknown,
  maxEntries: number = Infinity,
  maxKeyLength: number = Infinity,
  maxValueLength: number = Infinity,
): Found {
  if (!isPlainObject(value)) return expected("an object", value);
  let entries = 0;
  for (const key in value) {
    if (++entries > maxEntries) return tooManyEntries(maxEntries);
    if (key.length > maxKeyLength) return longKey(key, maxKeyLength);
    const v = value[key];
    if (v === null) continue;
    const found = explainString(v, maxValueLength);
    if (found) return at(key, found);
  }
  return undefined;
}

/**
 * Why `value` is not a valid document of media type `type` (the rule of `checkDocument`):
 * registered types by their explainer, other JSON types need an object, other types a string.
 */
export function explainDocument(type: unknown, value: unknown): ExplainedIssue | undefined {
  if (typeof type !== "string") return expected("a media type", type);
  const entry = lookupDocumentType(type);
  if (entry) return EXPLAINERS[entry.name](value);
  if (isJsonMediaType(type)) {
    if (isPlainObject(value)) return undefined;
    return expected(`a JSON object (the media type ${quoteForError(type)} is JSON)`, value);
  }
  if (typeof value === "string") return undefined;
  return expected(`a string (the media type ${quoteForError(type)} is not JSON)`, value);
}

function typeOf(o: Record<string, unknown>, key: string, typeKey: string): Found {
  const type = o[typeKey];
  if (typeof type === "string") return undefined;
  return at(
    typeKey,
    type == null ? missing("a media type", type, `with ${key}`) : expected("a media type", type),
  );
}

/** `o[key]`, a document whose media type is `o[typeKey]` (a message's content, a container's value). */
export function explainDocumentField(
  o: Record<string, unknown>,
  key: string,
  typeKey: string,
  required: boolean,
): Found {
  const value = o[key];
  if (value == null) return required ? at(key, missing("a document", value)) : undefined;
  const wrongType = typeOf(o, key, typeKey);
  if (wrongType) return wrongType;
  const found = explainDocument(o[typeKey], value);
  return found && at(key, found);
}

/** The items of `o[key]`, each a document of media type `o[typeKey]`; stops at the first bad one. */
export function explainDocumentsField(
  o: Record<string, unknown>,
  key: string,
  typeKey: string,
): Found {
  const items = o[key];
  if (!Array.isArray(items)) return undefined; // the array itself is explained with the fields
  const wrongType = typeOf(o, key, typeKey);
  if (wrongType) return wrongType;
  const type = o[typeKey] as string;
  for (let i = 0; i < items.length; i++) {
    const found = explainDocument(type, items[i]);
    if (found) return at(key, at(i, found));
  }
  return undefined;
}

/**
 * `o[key]`, an authentication object shaped by the scheme `o[schemeKey]` or, lime-js style, by
 * the scheme inside the object (the rule of `checkAuthentication`).
 */
export function explainAuthenticationField(
  o: Record<string, unknown>,
  key: string,
  schemeKey: string,
): Found {
  const value = o[key];
  if (value == null) return undefined;
  if (!isPlainObject(value)) return at(key, expected("an object", value));
  if (o[schemeKey] == null && value.scheme == null) {
    return at(
      schemeKey,
      missing(`a scheme (here or in ${key}.scheme)`, o[schemeKey], `with ${key}`),
    );
  }
  const entry = lookupAuthentication(o[schemeKey], value);
  const found = entry && EXPLAINERS[entry.name](value);
  return found && at(key, found);
}

/** `o[key]` (`what`), required unless `o[other]` is present. */
export function explainRequiredUnless(
  o: Record<string, unknown>,
  key: string,
  other: string,
  what: string,
): Found {
  if (o[key] != null || o[other] != null) return undefined;
  return at(key, missing(what, o[key], `when ${other} is absent`));
}

/** `o[key]` (`what`), required when `o[other]` is `value`. */
export function explainRequiredWhen(
  o: Record<string, unknown>,
  key: string,
  other: string,
  value: string,
  what: string,
): Found {
  if (o[key] != null || o[other] !== value) return undefined;
  return at(key, missing(what, o[key], `when ${other} is ${JSON.stringify(value)}`));
}
