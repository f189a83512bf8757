/**
 * Who may be whom: the one place where the server decides which node a session gets and whether
 * it may have it (README, "Security model").
 *
 * - The node is built before authentication ({@link IdentityRules.assign}), and authentication
 *   decides about exactly its identity.
 * - Reserved names (`postmaster@<domain>`, the server's own identity, and any configured name) are
 *   nobody's: every scheme is refused for them, they cannot be registered, and the registry never
 *   holds them.
 * - A guest gets a name only when nobody owns it: never one that has an account or a live session
 *   authenticated by something stronger, and it never replaces a live session (not even another
 *   guest's: it cannot prove it is the same client). A guest that proposes no name gets
 *   `<uuid>@<domain>`.
 * - A session is replaced (same node) only by one authenticated at least as strongly; every
 *   scheme other than guest proves the identity and counts the same.
 * @module
 */
import { assignNode } from "../channel/server_establishment.ts";
import type { Reason } from "../errors.ts";
import type { AuthenticationScheme } from "../generated/enums.generated.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";

/** What the rules need to know of a live session. */
export interface LiveSession {
  /** The scheme it authenticated with. */
  readonly scheme: AuthenticationScheme;
  /** Whether that scheme is guest. */
  readonly guest: boolean;
}

/**
 * The live sessions the rules judge against: a server's registry (one process), or the
 * cluster-wide directory (an engine's view of one identity's sessions on every server).
 */
export interface SessionView<T extends LiveSession = LiveSession> {
  /** The session of a node (lower case), if any. */
  byNodeKey(key: string): T | undefined;
  /**
   * The sessions of an identity (lower case): any iterable (the registry gives an array; a view
   * written for the `Set` it gave before still works).
   */
  byIdentityKey(key: string): Iterable<T>;
}

/**
 * Longest identity (`name@domain`) in UTF-8 bytes the server gives a session or keeps as a
 * contact: store keys are small (Deno KV: 2 KiB for a whole key, which holds an owner and a
 * contact), and a longer one would fail in the store instead of being refused.
 */
export const MAX_IDENTITY_BYTES = 512;

const encoder = new TextEncoder();

/** Whether an identity is longer than {@link MAX_IDENTITY_BYTES}. */
export function identityTooLong(identity: string): boolean {
  return identity.length > MAX_IDENTITY_BYTES / 3 &&
    encoder.encode(identity).length > MAX_IDENTITY_BYTES;
}

/** Names every server reserves in its domain. */
export const DEFAULT_RESERVED_NAMES: readonly string[] = Object.freeze(["postmaster"]);

/** How strongly a scheme proves an identity: guest proves nothing, the others prove it. */
export function schemeStrength(scheme: AuthenticationScheme): number {
  return scheme === "guest" ? 0 : 1;
}

/** The lower-cased `name@domain` of a node string. */
export function identityKeyOf(node: string): string {
  const lower = node.toLowerCase();
  const slash = lower.indexOf("/");
  return slash < 0 ? lower : lower.slice(0, slash);
}

/** Refusal reasons of the rules. */
export const IDENTITY_REASONS = {
  reserved: (identity: string): Reason => ({
    code: ReasonCode.SESSION_AUTHENTICATION_FAILED,
    description: `The identity "${identity}" is reserved`,
  }),
  owned: (identity: string): Reason => ({
    code: ReasonCode.SESSION_AUTHENTICATION_FAILED,
    description: `A guest cannot use "${identity}": the identity is owned`,
  }),
  taken: (node: string): Reason => ({
    code: ReasonCode.SESSION_REGISTRATION_ERROR,
    description: `The node "${node}" is in use by a session this one cannot replace`,
  }),
  perIdentity: (identity: string, max: number): Reason => ({
    code: ReasonCode.SESSION_REGISTRATION_ERROR,
    description: `"${identity}" already has ${max} sessions, the most allowed`,
  }),
  nowOwned: (identity: string): Reason => ({
    code: ReasonCode.SESSION_AUTHENTICATION_FAILED,
    description: `"${identity}" now belongs to an account: sign in with its credentials`,
  }),
} as const;

/** The identity rules of one served domain. */
export class IdentityRules {
  readonly #domain: string;
  readonly #reserved: ReadonlySet<string>;

  /**
   * Rules for `domain` (lower case). `reservedNames` are names in the domain nobody may use
   * (default `postmaster`); the server's own identity is always among them.
   */
  constructor(domain: string, reservedNames: readonly string[] = DEFAULT_RESERVED_NAMES) {
    this.#domain = domain.toLowerCase();
    this.#reserved = new Set(
      [...reservedNames, "postmaster"].map((name) => `${name.toLowerCase()}@${this.#domain}`),
    );
  }

  /** Whether an identity (`name@domain`, any case) is reserved. */
  isReserved(identity: string): boolean {
    return this.#reserved.has(identityKeyOf(identity));
  }

  /**
   * The node a session will have: the candidate completed with the served domain and instance
   * `default` (a guest without a name gets a UUID). Undefined when it cannot be assigned (also
   * when its identity is longer than {@link MAX_IDENTITY_BYTES}).
   */
  assign(candidate: string | undefined, scheme: AuthenticationScheme): string | undefined {
    const node = assignNode(candidate, this.#domain, scheme);
    return node === undefined || identityTooLong(identityKeyOf(node)) ? undefined : node;
  }

  /**
   * Whether a session authenticated with `scheme` may register `node` now, given the live
   * sessions: undefined when it may, else the refusal. (Whether a guest's identity has an account
   * is read from the store once the guest is registered: `guestRefusal` in server_authenticator.ts.)
   */
  registrationProblem(
    node: string,
    scheme: AuthenticationScheme,
    registry: SessionView,
    maxPerIdentity: number,
  ): Reason | undefined {
    const identity = identityKeyOf(node);
    if (this.isReserved(identity)) return IDENTITY_REASONS.reserved(identity);
    const strength = schemeStrength(scheme);
    const sessions = [...registry.byIdentityKey(identity)];
    if (strength === 0) {
      for (const session of sessions) {
        if (!session.guest) return IDENTITY_REASONS.owned(identity);
      }
    }
    const current = registry.byNodeKey(node.toLowerCase());
    if (current && schemeStrength(current.scheme) > strength) return IDENTITY_REASONS.taken(node);
    if (current && strength === 0) return IDENTITY_REASONS.taken(node);
    if (!current && maxPerIdentity > 0 && sessions.length >= maxPerIdentity) {
      // An owner's session displaces the identity's guests: only sessions that stay count, or
      // guests could fill the identity's slots while its owner is away and lock it out.
      const staying = strength > 0
        ? sessions.filter((session) => !session.guest).length
        : sessions.length;
      if (staying >= maxPerIdentity) return IDENTITY_REASONS.perIdentity(identity, maxPerIdentity);
    }
    return undefined;
  }

  /**
   * The guest sessions a newly registered session of `identity` displaces: all of them when it is
   * not a guest (an owner arrived), none otherwise.
   */
  displacedGuests<T extends LiveSession>(
    identityKey: string,
    scheme: AuthenticationScheme,
    registry: SessionView<T>,
  ): T[] {
    if (schemeStrength(scheme) === 0) return [];
    return [...registry.byIdentityKey(identityKey)].filter((session) => session.guest);
  }
}
