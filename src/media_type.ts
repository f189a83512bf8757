/**
 * The MIME media type of a LIME document (`type/subtype[+suffix]`).
 *
 * @module
 */
import {
  checkComponent,
  describeMediaTypeProblem,
  JSON_MEDIA_TYPE_PATTERN,
  MEDIA_TYPE_PART_PATTERN,
  MEDIA_TYPE_PATTERN,
  MEDIA_TYPE_SUFFIX_PATTERN,
  quoteForError,
  typeName,
} from "./formats.ts";

const PART_RULE = '"/", "+", ";", whitespace and control characters are not allowed';
const SUFFIX_RULE = '"/", ";", whitespace and control characters are not allowed';

/**
 * A media type such as `text/plain` or `application/vnd.lime.collection+json`.
 *
 * Parsing follows lime-csharp: parameters after `;` are dropped, there must be exactly one `/`,
 * and the suffix is what follows the first `+` of the subtype. Case is kept as written; equality
 * ignores it. Immutable.
 *
 * @example
 * ```ts
 * const type = MediaType.parse("application/vnd.lime.collection+json; charset=utf-8");
 * type.toString(); // "application/vnd.lime.collection+json"
 * type.isJson; // true
 * ```
 */
export class MediaType {
  /** `text/plain`. */
  static readonly TEXT_PLAIN: MediaType = new MediaType("text", "plain");
  /** `application/json`. */
  static readonly APPLICATION_JSON: MediaType = new MediaType("application", "json");

  /** Top-level type, such as `application` or `text`. */
  readonly type: string;
  /** Subtype, without the suffix, such as `vnd.lime.collection` or `plain`. */
  readonly subtype: string;
  /** Structured syntax suffix such as `json`; `undefined` when there is none. */
  readonly suffix?: string;
  #string?: string;

  /**
   * Creates a media type from its parts. An empty suffix counts as absent.
   *
   * @throws {TypeError} when a part is not a string.
   * @throws {RangeError} when the type or subtype is empty or contains `/`, `+`, `;`, whitespace
   * or a control character, or the suffix contains `/`, `;`, whitespace or a control character.
   */
  constructor(type: string, subtype: string, suffix?: string) {
    const checkedType = checkComponent(type, MEDIA_TYPE_PART_PATTERN, "media type type", PART_RULE);
    const checkedSubtype = checkComponent(
      subtype,
      MEDIA_TYPE_PART_PATTERN,
      "media type subtype",
      PART_RULE,
    );
    if (checkedType === undefined || checkedSubtype === undefined) {
      throw new RangeError("Invalid media type: the type and the subtype are required");
    }
    this.type = checkedType;
    this.subtype = checkedSubtype;
    this.suffix = checkComponent(
      suffix,
      MEDIA_TYPE_SUFFIX_PATTERN,
      "media type suffix",
      SUFFIX_RULE,
    );
    Object.freeze(this);
  }

  /**
   * Parses a media type; parameters such as `; charset=utf-8` are accepted and dropped.
   *
   * @throws {TypeError} when `value` is not a string.
   * @throws {SyntaxError} when `value` is not a valid media type (`""`, `"text"`, `"a/b/c"`,
   * `"text/"`, `"a/b+"`, whitespace or control characters in `type/subtype`).
   */
  static parse(value: string): MediaType {
    if (typeof value !== "string") {
      throw new TypeError(`Cannot parse a media type from ${typeName(value)}: expected a string`);
    }
    const match = MEDIA_TYPE_PATTERN.exec(value);
    if (match === null) {
      throw new SyntaxError(
        `Invalid media type ${quoteForError(value)}: ${describeMediaTypeProblem(value)}`,
      );
    }
    return new MediaType(match[1], match[2], match[3]);
  }

  /** Like {@linkcode MediaType.parse} but returns `undefined` instead of throwing. */
  static tryParse(value: unknown): MediaType | undefined {
    if (typeof value !== "string") return undefined;
    const match = MEDIA_TYPE_PATTERN.exec(value);
    return match === null ? undefined : new MediaType(match[1], match[2], match[3]);
  }

  /**
   * Whether documents of this type travel as JSON: the suffix or the subtype is `json`, ignoring
   * case (`application/json`, `application/vnd.lime.presence+json`; not `text/plain` nor
   * `application/vnd.lime.identity`).
   */
  get isJson(): boolean {
    return isJsonWord(this.suffix) || isJsonWord(this.subtype);
  }

  /** `type/subtype` or `type/subtype+suffix`, as written (parameters are not kept). */
  toString(): string {
    return this.#string ??= this.suffix === undefined
      ? `${this.type}/${this.subtype}`
      : `${this.type}/${this.subtype}+${this.suffix}`;
  }

  /** The string form, so that `JSON.stringify` writes a media type as a JSON string. */
  toJSON(): string {
    return this.toString();
  }

  /**
   * Whether `other` is the same media type, ignoring case. A string is parsed first (parameters
   * ignored); an unparsable string, `null` and `undefined` are never equal. An absent suffix
   * equals only an absent suffix.
   */
  equals(other: MediaType | string | null | undefined): boolean {
    if (other === this) return true;
    if (typeof other === "string") {
      const parsed = MediaType.tryParse(other);
      return parsed !== undefined && this.equals(parsed);
    }
    if (!(other instanceof MediaType)) return false;
    return sameIgnoringCase(this.type, other.type) &&
      sameIgnoringCase(this.subtype, other.subtype) &&
      sameIgnoringCase(this.suffix, other.suffix);
  }
}

/**
 * Whether the string `value` is a valid media type whose suffix or subtype is `json` (ignoring
 * case): the same answer as `MediaType.tryParse(value)?.isJson ?? false`, with one precompiled
 * regular expression test and no allocation.
 *
 * @example
 * ```ts
 * isJsonMediaType("application/vnd.lime.presence+json"); // true
 * isJsonMediaType("text/plain"); // false
 * ```
 */
export function isJsonMediaType(value: string): boolean {
  return typeof value === "string" && JSON_MEDIA_TYPE_PATTERN.test(value);
}

function isJsonWord(value: string | undefined): boolean {
  return value !== undefined && value.length === 4 && value.toLowerCase() === "json";
}

function sameIgnoringCase(a: string | undefined, b: string | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase());
}
