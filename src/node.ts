/**
 * The LIME node `name@domain/instance`: an element of the network, the value of an envelope's
 * `from`, `to` and `pp`.
 *
 * @module
 */
import {
  checkComponent,
  describeNodeProblem,
  INSTANCE_PATTERN,
  NODE_PART_PATTERN,
  NODE_PATTERN,
  quoteForError,
  typeName,
} from "./formats.ts";
import { Identity } from "./identity.ts";

const PART_RULE = '"@", "/", whitespace and control characters are not allowed';
const INSTANCE_RULE = "whitespace and control characters are not allowed";

/**
 * A LIME node: an identity plus the instance the node connected with.
 *
 * Accepted strings: `name@domain/instance`, `name@domain`, `@domain`, `name`, and (like lime-go)
 * `name/instance` with no domain. The instance is everything after the first `/`, so `a@b/c/d`
 * has instance `c/d`, and `name@domain/` has the empty instance `""` (kept when formatting).
 *
 * Immutable. Equality ignores case, the instance included, as in lime-csharp.
 *
 * @example
 * ```ts
 * const node = Node.parse("golang@limeprotocol.org/default");
 * node.identity.toString(); // "golang@limeprotocol.org"
 * node.isComplete; // true
 * ```
 */
export class Node {
  /** Unique name of the node in its domain; `undefined` for a domain-only node. */
  readonly name?: string;
  /** Network domain of the node; `undefined` when only a name is known. */
  readonly domain?: string;
  /** Instance of the node (may be `""`); `undefined` when there is none. */
  readonly instance?: string;
  #string?: string;

  /**
   * Creates a node from its parts. An empty name or domain counts as absent; an empty instance
   * is kept (it formats as a trailing `/`).
   *
   * @throws {TypeError} when a part is not a string.
   * @throws {RangeError} when the name or domain contains `@`, `/`, whitespace or a control
   * character, the instance contains whitespace or a control character, or both name and domain
   * are absent.
   */
  constructor(name?: string, domain?: string, instance?: string) {
    this.name = checkComponent(name, NODE_PART_PATTERN, "node name", PART_RULE);
    this.domain = checkComponent(domain, NODE_PART_PATTERN, "node domain", PART_RULE);
    this.instance = checkComponent(instance, INSTANCE_PATTERN, "node instance", INSTANCE_RULE);
    if (this.name === undefined && this.domain === undefined) {
      throw new RangeError("Invalid node: a node needs a name or a domain");
    }
    Object.freeze(this);
  }

  /**
   * Parses a node string.
   *
   * @throws {TypeError} when `value` is not a string.
   * @throws {SyntaxError} when `value` is not a valid node: `""`, `"@"`, `"/x"`, `"a@"`,
   * `"a@b@c"`, or a string with whitespace or control characters.
   */
  static parse(value: string): Node {
    if (typeof value !== "string") {
      throw new TypeError(`Cannot parse a node from ${typeName(value)}: expected a string`);
    }
    const match = NODE_PATTERN.exec(value);
    if (match === null) {
      throw new SyntaxError(`Invalid node ${quoteForError(value)}: ${describeNodeProblem(value)}`);
    }
    return new Node(match[1], match[2], match[3]);
  }

  /** Like {@linkcode Node.parse} but returns `undefined` instead of throwing. */
  static tryParse(value: unknown): Node | undefined {
    if (typeof value !== "string") return undefined;
    const match = NODE_PATTERN.exec(value);
    return match === null ? undefined : new Node(match[1], match[2], match[3]);
  }

  /**
   * Returns `value` itself when it is a node, else parses it.
   *
   * @throws {TypeError} when `value` is neither a node nor a string.
   * @throws {SyntaxError} when the string is not a valid node.
   */
  static from(value: Node | string): Node {
    return value instanceof Node ? value : Node.parse(value);
  }

  /** The identity of this node (the instance dropped). */
  get identity(): Identity {
    return new Identity(this.name, this.domain);
  }

  /** The identity of this node (the instance dropped); same as {@linkcode Node.identity}. */
  toIdentity(): Identity {
    return new Identity(this.name, this.domain);
  }

  /** Whether name, domain and instance are all present and non-empty. */
  get isComplete(): boolean {
    return !!this.name && !!this.domain && !!this.instance;
  }

  /** The identity string, plus `/instance` when there is an instance (`""` gives a trailing `/`). */
  toString(): string {
    if (this.#string !== undefined) return this.#string;
    const identity = this.domain === undefined
      ? this.name as string
      : `${this.name ?? ""}@${this.domain}`;
    return this.#string = this.instance === undefined ? identity : `${identity}/${this.instance}`;
  }

  /** The string form, so that `JSON.stringify` writes a node as a JSON string. */
  toJSON(): string {
    return this.toString();
  }

  /**
   * Whether `other` is the same node, ignoring case in name, domain and instance. An absent
   * instance equals only an absent instance. A string is parsed first; an unparsable string,
   * `null` and `undefined` are never equal.
   */
  equals(other: Node | string | null | undefined): boolean {
    if (other === this) return true;
    if (typeof other === "string") {
      const parsed = Node.tryParse(other);
      return parsed !== undefined && this.equals(parsed);
    }
    if (!(other instanceof Node)) return false;
    return sameIgnoringCase(this.name, other.name) &&
      sameIgnoringCase(this.domain, other.domain) &&
      sameIgnoringCase(this.instance, other.instance);
  }
}

function sameIgnoringCase(a: string | undefined, b: string | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase());
}
