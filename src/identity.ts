/**
 * The LIME identity `name@domain`: a member of a domain, without the instance of a node.
 *
 * @module
 */
import {
  checkComponent,
  describeNodeProblem,
  NODE_PART_PATTERN,
  NODE_PATTERN,
  quoteForError,
  typeName,
} from "./formats.ts";
import { Node } from "./node.ts";

const PART_RULE = '"@", "/", whitespace and control characters are not allowed';

/**
 * A LIME identity: `name@domain`, `name` alone (no domain; the server assumes the sender's) or
 * `@domain` (no name, for example a server).
 *
 * Immutable. Equality ignores case, as in lime-csharp.
 *
 * @example
 * ```ts
 * const id = Identity.parse("Jesse@BreakingBad.com");
 * id.equals("jesse@breakingbad.com"); // true
 * id.toNode("home").toString(); // "Jesse@BreakingBad.com/home"
 * ```
 */
export class Identity {
  /** Unique name of the identity in its domain; `undefined` for a domain-only identity. */
  readonly name?: string;
  /** Network domain of the identity; `undefined` when only a name is known. */
  readonly domain?: string;
  #string?: string;

  /**
   * Creates an identity from its parts. An empty string counts as absent.
   *
   * @throws {TypeError} when a part is not a string.
   * @throws {RangeError} when a part contains `@`, `/`, whitespace or a control character, or
   * when both parts are absent.
   */
  constructor(name?: string, domain?: string) {
    this.name = checkComponent(name, NODE_PART_PATTERN, "identity name", PART_RULE);
    this.domain = checkComponent(domain, NODE_PART_PATTERN, "identity domain", PART_RULE);
    if (this.name === undefined && this.domain === undefined) {
      throw new RangeError("Invalid identity: an identity needs a name or a domain");
    }
    Object.freeze(this);
  }

  /**
   * Parses `name@domain`, `name` or `@domain`. Like lime-csharp, a node string is accepted and
   * its instance (everything from the first `/`) is ignored: `a@b/c` gives `a@b`.
   *
   * @throws {TypeError} when `value` is not a string.
   * @throws {SyntaxError} when `value` is not a valid identity, for example `""`, `"@"`, `"a@"`,
   * `"a@b@c"` or a string with whitespace.
   */
  static parse(value: string): Identity {
    if (typeof value !== "string") {
      throw new TypeError(`Cannot parse an identity from ${typeName(value)}: expected a string`);
    }
    const match = NODE_PATTERN.exec(value);
    if (match === null) {
      throw new SyntaxError(
        `Invalid identity ${quoteForError(value)}: ${describeNodeProblem(value, "identity")}`,
      );
    }
    return new Identity(match[1], match[2]);
  }

  /** Like {@linkcode Identity.parse} but returns `undefined` instead of throwing. */
  static tryParse(value: unknown): Identity | undefined {
    if (typeof value !== "string") return undefined;
    const match = NODE_PATTERN.exec(value);
    return match === null ? undefined : new Identity(match[1], match[2]);
  }

  /** `name@domain`, `name` when there is no domain, `@domain` when there is no name. */
  toString(): string {
    return this.#string ??= this.domain === undefined
      ? this.name as string
      : `${this.name ?? ""}@${this.domain}`;
  }

  /** The string form, so that `JSON.stringify` writes an identity as a JSON string. */
  toJSON(): string {
    return this.toString();
  }

  /**
   * Whether `other` is the same identity, ignoring case. A string is parsed first (an instance
   * in it is ignored); an unparsable string, `null` and `undefined` are never equal.
   */
  equals(other: Identity | string | null | undefined): boolean {
    if (other === this) return true;
    if (typeof other === "string") {
      const parsed = Identity.tryParse(other);
      return parsed !== undefined && this.equals(parsed);
    }
    if (!(other instanceof Identity)) return false;
    return sameIgnoringCase(this.name, other.name) && sameIgnoringCase(this.domain, other.domain);
  }

  /** The node of this identity with the given instance (none when `instance` is omitted). */
  toNode(instance?: string): Node {
    return new Node(this.name, this.domain, instance);
  }
}

function sameIgnoringCase(a: string | undefined, b: string | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase());
}
