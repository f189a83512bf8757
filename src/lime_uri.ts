/**
 * The LIME URI of a command resource: absolute `lime://name@domain/path?query` or relative
 * `/path?query`.
 *
 * @module
 */
import {
  describeLimeUriProblem,
  LIME_URI_PATTERN,
  PING_URI_PATTERN,
  quoteForError,
  typeName,
} from "./formats.ts";
import { Identity } from "./identity.ts";

/**
 * A LIME URI. The absolute form `lime://name@domain/path?query` names the owner of the resource
 * in its authority (`name` is the user-info, `domain` the host); the relative form is a path
 * (`/presence`, `/contacts?take=3`) whose owner is the identity in the command's `from`.
 *
 * As in lime-csharp, the stored value is the original string with trailing `/` removed, and
 * equality compares it ignoring case. Percent escapes are kept as written. Immutable.
 *
 * @example
 * ```ts
 * const uri = LimeUri.parse("/contacts?take=3");
 * uri.path; // "/contacts"
 * uri.query; // "take=3"
 * uri.toAbsolute("jesse@breakingbad.com").toString(); // "lime://jesse@breakingbad.com/contacts?take=3"
 * ```
 */
export class LimeUri {
  /** Whether this is a relative URI (a path, with no `lime://` authority). */
  readonly isRelative: boolean;
  readonly #value: string;
  readonly #path: string;
  readonly #query: string | undefined;
  readonly #owner: Identity | undefined;

  private constructor(value: string, match: RegExpExecArray) {
    this.#value = value;
    this.isRelative = match[2] === undefined;
    this.#path = this.isRelative ? match[4] ?? "" : match[3] ?? "/";
    this.#query = match[5];
    this.#owner = this.isRelative ? undefined : new Identity(match[1], match[2]);
    Object.freeze(this);
  }

  /**
   * Parses a LIME URI. An absolute URI must use the scheme `lime` and an authority `[name@]domain`;
   * a relative one must be a well-formed relative reference that does not start with `//`.
   * Characters that URIs never allow raw (whitespace, controls, `"`, `<`, `>`, `\`, `^`, the
   * backtick, `{`, `|`, `}`, and a `%` not starting a `%XX` escape) are refused; `[` and `]` only
   * in the query and fragment. Non-ASCII letters are accepted (IRI).
   *
   * @throws {TypeError} when `value` is not a string.
   * @throws {SyntaxError} when `value` is not a valid LIME URI, for example
   * `http://server@limeprotocol.org/presence` (scheme) or `\x` (backslash).
   */
  static parse(value: string): LimeUri {
    if (typeof value !== "string") {
      throw new TypeError(`Cannot parse a LIME URI from ${typeName(value)}: expected a string`);
    }
    const uri = LimeUri.tryParse(value);
    if (uri === undefined) {
      throw new SyntaxError(
        `Invalid URI ${quoteForError(value)}: ${describeLimeUriProblem(value)}`,
      );
    }
    return uri;
  }

  /** Like {@linkcode LimeUri.parse} but returns `undefined` instead of throwing. */
  static tryParse(value: unknown): LimeUri | undefined {
    if (typeof value !== "string" || !LIME_URI_PATTERN.test(value)) return undefined;
    let end = value.length;
    while (end > 1 && value.charCodeAt(end - 1) === 0x2f) end--;
    const trimmed = end === value.length ? value : value.slice(0, end);
    // Trimming `/` keeps a URI valid, so this match always succeeds.
    const match = LIME_URI_PATTERN.exec(trimmed) as RegExpExecArray;
    return new LimeUri(trimmed, match);
  }

  /**
   * The path without query and fragment: `/presence` for `/presence?x=1`, `/` for
   * `lime://a@b`, `""` for a relative URI made only of a query (`?x=1`).
   */
  get path(): string {
    return this.#path;
  }

  /** The query without the leading `?` (`take=3`); `undefined` when there is no `?`. */
  get query(): string | undefined {
    return this.#query;
  }

  /**
   * The identity in the authority of an absolute URI (`lime://name@domain/…` gives
   * `name@domain`, `lime://domain/…` gives `@domain`); `undefined` for a relative URI.
   */
  get owner(): Identity | undefined {
    return this.#owner;
  }

  /** The original string with trailing `/` removed (a lone `/` is kept). */
  toString(): string {
    return this.#value;
  }

  /** The string form, so that `JSON.stringify` writes a URI as a JSON string. */
  toJSON(): string {
    return this.#value;
  }

  /**
   * Whether `other` is the same URI: the strings compared ignoring case (so percent escapes are
   * not decoded, and a relative URI never equals an absolute one). A string is parsed first; an
   * unparsable string, `null` and `undefined` are never equal.
   */
  equals(other: LimeUri | string | null | undefined): boolean {
    if (other === this) return true;
    if (typeof other === "string") {
      const parsed = LimeUri.tryParse(other);
      return parsed !== undefined && this.equals(parsed);
    }
    if (!(other instanceof LimeUri)) return false;
    return this.#value === other.#value ||
      this.#value.toLowerCase() === other.#value.toLowerCase();
  }

  /**
   * The absolute form of a relative URI, with `owner` as authority
   * (`/presence` with `jesse@breakingbad.com` gives `lime://jesse@breakingbad.com/presence`).
   * An absolute URI is returned unchanged. Dot segments are not resolved.
   *
   * @throws {TypeError} when `owner` is neither an identity nor a string.
   * @throws {SyntaxError} when `owner` is a string that is not a valid identity.
   * @throws {RangeError} when the owner has no domain, or its name or domain holds characters a
   * URI authority cannot (such as `:` or `"`).
   */
  toAbsolute(owner: Identity | string): LimeUri {
    if (!this.isRelative) return this;
    let identity: Identity;
    if (owner instanceof Identity) identity = owner;
    else if (typeof owner === "string") identity = Identity.parse(owner);
    else throw new TypeError(`Invalid URI owner: expected an identity, got ${typeName(owner)}`);
    if (identity.domain === undefined) {
      throw new RangeError(`Invalid URI owner "${identity}": the owner needs a domain`);
    }
    const authority = identity.name === undefined
      ? identity.domain
      : `${identity.name}@${identity.domain}`;
    const value = this.#value;
    const absolute = LimeUri.tryParse(
      value.charCodeAt(0) === 0x2f ? `lime://${authority}${value}` : `lime://${authority}/${value}`,
    );
    if (absolute === undefined) {
      throw new RangeError(
        `Invalid URI owner ${quoteForError(authority)}: not a valid URI authority`,
      );
    }
    return absolute;
  }
}

/**
 * Whether `uri` is a valid LIME URI whose path is `/ping` (ignoring case and trailing `/`;
 * the query is ignored), relative or absolute: the resource of a ping request. Same answer as
 * `LimeUri.tryParse(uri)?.path.toLowerCase() === "/ping"`, without allocating.
 */
export function isPingUri(uri: string): boolean {
  return typeof uri === "string" && PING_URI_PATTERN.test(uri) && LIME_URI_PATTERN.test(uri);
}
