/**
 * Fast predicates for the string grammar of the LIME value types (node, identity, media type,
 * LIME URI, date-time), whose regular expressions are declared in `spec/formats.json`.
 *
 * The predicates run on the codec's hot path (generated validation code calls them for every
 * `format` of the spec), so each is a single test of a precompiled regular expression with no
 * allocation. The value classes ({@linkcode Node}, {@linkcode Identity}, {@linkcode MediaType},
 * {@linkcode LimeUri}) parse with the very same expressions, so a predicate returns `true` exactly
 * when the matching `tryParse` returns a value.
 *
 * @module
 */
// deno-lint-ignore-file no-control-regex -- rejecting control characters is the point here.

// The patterns are declared in spec/formats.json and generated; they are re-exported here for the
// value classes, which parse with the very same expressions.
import {
  DATE_TIME_PATTERN,
  LIME_URI_PATTERN,
  MEDIA_TYPE_PATTERN,
  NODE_PATTERN,
} from "./generated/formats.generated.ts";
export {
  INSTANCE_PATTERN,
  JSON_MEDIA_TYPE_PATTERN,
  LIME_URI_PATTERN,
  MEDIA_TYPE_PART_PATTERN,
  MEDIA_TYPE_PATTERN,
  MEDIA_TYPE_SUFFIX_PATTERN,
  NODE_PART_PATTERN,
  NODE_PATTERN,
  PING_URI_PATTERN,
} from "./generated/formats.generated.ts";

// Addresses repeat (a peer's own node, its correspondents, postmasters): the node strings found
// valid last are kept in a direct-mapped table of 1,024 slots, so a repeated address costs a
// string comparison instead of a regular expression. Only valid strings of at most 128
// characters are stored (about 260 KiB at worst).
const validNodes: string[] = new Array(1024).fill("");

/**
 * Whether `v` is a valid node string (`name@domain/instance`, `name@domain`, `@domain`, `name`,
 * `name/instance`): exactly when `Node.tryParse(v)` returns a node.
 *
 * @example
 * ```ts
 * isNodeString("golang@limeprotocol.org/default"); // true
 * isNodeString("@"); // false
 * ```
 */
export function isNodeString(v: string): boolean {
  if (typeof v !== "string") return false;
  const n = v.length;
  if (n === 0 || n > 128) return NODE_PATTERN.test(v);
  // The length and five characters pick a slot; a string equal to the one stored there was valid.
  let slot = n;
  for (let i = 0; i < 5; i++) slot = (slot * 31 + v.charCodeAt((i * (n - 1)) >> 2)) | 0;
  slot &= 1023;
  if (validNodes[slot] === v) return true;
  if (!NODE_PATTERN.test(v)) return false;
  validNodes[slot] = v;
  return true;
}

/**
 * Whether `v` is a valid identity string: exactly when `Identity.tryParse(v)` returns an
 * identity. Identities accept the node syntax and ignore the instance (lime-csharp rule), so this
 * is the same test as {@linkcode isNodeString}.
 */
export function isIdentityString(v: string): boolean {
  return isNodeString(v);
}

/**
 * Whether `v` is a valid media type (`type/subtype[+suffix]`, parameters after `;` allowed):
 * exactly when `MediaType.tryParse(v)` returns a media type.
 */
export function isMediaTypeString(v: string): boolean {
  return typeof v === "string" && MEDIA_TYPE_PATTERN.test(v);
}

/**
 * Whether `v` is a valid LIME URI (absolute with scheme `lime`, or relative): exactly when
 * `LimeUri.tryParse(v)` returns a URI.
 */
export function isLimeUriString(v: string): boolean {
  return typeof v === "string" && LIME_URI_PATTERN.test(v);
}

/**
 * Whether `v` is an ISO-8601 date or date-time (`2014-12-26`, `2014-12-26T12:00:00.0000000-03:00`,
 * `…Z`, `…+0300`, space instead of `T`) that `Date.parse` understands. Lenient about the number of
 * fraction digits and the offset form; refuses the free-form strings `Date.parse` also accepts.
 */
export function isDateTimeString(v: string): boolean {
  return typeof v === "string" &&
    (PLAIN_ISO_DATE_TIME.test(v) || (DATE_TIME_PATTERN.test(v) && !Number.isNaN(Date.parse(v))));
}

// The strict ISO form `YYYY-MM-DD[THH:mm[:ss[.f…]][Z|±HH:mm]]` with a day up to 28, an hour up to
// 23 and minutes and seconds up to 59: `Date.parse` (about 200 ns a call) always understands it.
const PLAIN_ISO_DATE_TIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?)?$/;

// ------------------------------------------------------------------------------------------------
// Error descriptions: only run when a parse fails, so they favour clarity over speed.

/**
 * Quotes a value for an error message: JSON string syntax (control characters escaped), cut to
 * 64 characters. Internal.
 */
export function quoteForError(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

const FORBIDDEN_CHAR = /[\s\x00-\x1f\x7f-\x9f]/;

function forbiddenCharProblem(value: string): string | undefined {
  const found = FORBIDDEN_CHAR.exec(value);
  if (found === null) return undefined;
  const code = found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
  return `whitespace and control characters are not allowed (U+${code} at index ${found.index})`;
}

/**
 * Names the type of a non-string argument for a `TypeError` message. Internal.
 */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Checks one component passed to a value type constructor. `undefined` and `null` mean absent;
 * so does `""` unless the pattern accepts the empty string (a node instance). Throws `TypeError`
 * for a non-string and `RangeError` when `pattern` refuses the value. Internal.
 */
export function checkComponent(
  value: unknown,
  pattern: RegExp,
  label: string,
  rule: string,
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new TypeError(`Invalid ${label}: expected a string, got ${typeName(value)}`);
  }
  if (pattern.test(value)) return value;
  if (value === "") return undefined;
  throw new RangeError(`Invalid ${label} ${quoteForError(value)}: ${rule}`);
}

/**
 * Says why `value` is not a node string (or, with `noun` "identity", an identity string).
 * Internal: used in parse errors.
 */
export function describeNodeProblem(value: string, noun: "node" | "identity" = "node"): string {
  if (value === "") return "the string is empty";
  const forbidden = forbiddenCharProblem(value);
  if (forbidden !== undefined) return forbidden;
  const slash = value.indexOf("/");
  const identity = slash < 0 ? value : value.slice(0, slash);
  const at = identity.indexOf("@");
  const name = at < 0 ? identity : identity.slice(0, at);
  const domain = at < 0 ? undefined : identity.slice(at + 1);
  if (name === "" && !domain) {
    return `${noun === "node" ? "a node" : "an identity"} needs a name or a domain`;
  }
  if (domain === "") return 'a domain must follow "@"';
  if (domain !== undefined && domain.includes("@")) return 'the domain must not contain "@"';
  return `not a valid ${noun}`;
}

/** Says why `value` is not a media type string. Internal: used in parse errors. */
export function describeMediaTypeProblem(value: string): string {
  if (value === "") return "the string is empty";
  const semicolon = value.indexOf(";");
  const head = (semicolon < 0 ? value : value.slice(0, semicolon)).replace(/ +$/, "");
  const forbidden = forbiddenCharProblem(semicolon < 0 ? value : head);
  if (forbidden !== undefined) return forbidden;
  if (semicolon >= 0 && /[\x00-\x1f\x7f-\x9f]/.test(value.slice(semicolon))) {
    return "control characters are not allowed in parameters";
  }
  const parts = head.split("/");
  if (parts.length !== 2) return 'expected exactly one "/" between type and subtype';
  const [type, rest] = parts;
  if (type === "") return "the type is empty";
  if (type.includes("+")) return 'the type must not contain "+"';
  const plus = rest.indexOf("+");
  if (rest === "" || plus === 0) return "the subtype is empty";
  if (plus === rest.length - 1) return 'a suffix must follow "+"';
  return "not a valid media type";
}

/** Says why `value` is not a LIME URI string. Internal: used in parse errors. */
export function describeLimeUriProblem(value: string): string {
  if (value === "") return "the string is empty";
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
  if (scheme !== null && scheme[1].toLowerCase() !== "lime") {
    return `invalid URI scheme "${scheme[1]}", expected "lime"`;
  }
  const bad = /[\s\x00-\x1f\x7f-\x9f"<>\\^`{|}]/.exec(value);
  if (bad !== null) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    return `character U+${code} at index ${bad.index} must be percent-encoded`;
  }
  const percent = /%(?![0-9A-Fa-f]{2})/.exec(value);
  if (percent !== null) return `"%" at index ${percent.index} does not start a %XX escape`;
  let rest = value;
  if (scheme !== null) {
    const authority = /^lime:\/\/([^/?#]*)/i.exec(value);
    if (authority === null || authority[1] === "") {
      return 'expected "lime://" followed by an authority';
    }
    if (!/^(?:[^@:[\]]+@)?[^@:[\]]+$/.test(authority[1])) {
      return "the authority must be [name@]domain (no port, no IP literal)";
    }
    rest = value.slice(authority[0].length);
  } else {
    if (value.startsWith("//")) return 'a relative URI must not start with "//"';
    if (/^[^/?#]*:/.test(value)) return 'the first path segment must not contain ":"';
  }
  const query = rest.search(/[?#]/);
  if (/[[\]]/.test(query < 0 ? rest : rest.slice(0, query))) {
    return '"[" and "]" must be percent-encoded in a path';
  }
  if (value.indexOf("#") !== value.lastIndexOf("#")) {
    return '"#" must be percent-encoded inside a fragment';
  }
  return "not a well-formed URI";
}
