/**
 * Registration of established sessions, with the server's engine: a session asks the engine
 * whether it may register (the identity rules, cluster-wide with a cluster engine), then enters
 * the registry, replacing a same-node session authenticated at most as strongly (told `failed`
 * 11) and displacing the guests of its identity when it is not a guest (`failed` 13). A session
 * that ends leaves the registry and the engine; a guest identity's data goes with its last guest.
 * @module
 */
import type { ServerChannel } from "../channel/server_channel.ts";
import type { ClusterEngine } from "../cluster/engine.ts";
import type { Reason } from "../errors.ts";
import type { AuthenticationScheme, DomainRole } from "../generated/enums.generated.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { IDENTITY_REASONS, type IdentityRules } from "./identity_rules.ts";
import type { GuestContacts } from "./resources/guest_contacts.ts";
import { ServerSession } from "./server_session.ts";
import type { SessionRegistry } from "./session_registry.ts";

/** Why a session that another one replaced ends. */
export const REPLACED_REASON: Reason = {
  code: ReasonCode.SESSION_ERROR,
  description: "The session was replaced by a new session of the same node",
};

/** The server's registrations. */
export class SessionRegistration {
  readonly #registry: SessionRegistry;
  readonly #rules: IdentityRules;
  readonly #engine: ClusterEngine;
  readonly #guestContacts: GuestContacts;

  /** Registrations into `registry`, judged by `rules` through `engine`. */
  constructor(
    registry: SessionRegistry,
    rules: IdentityRules,
    engine: ClusterEngine,
    guestContacts: GuestContacts,
  ) {
    this.#registry = registry;
    this.#rules = rules;
    this.#engine = engine;
    this.#guestContacts = guestContacts;
  }

  /**
   * Registers an authenticated node: the session, or the refusal. Synchronous when the engine
   * answers at once (one process).
   */
  register(
    channel: ServerChannel,
    node: string,
    domainRole: DomainRole,
    scheme: AuthenticationScheme,
    source: string | undefined,
    maxPerIdentity: number,
  ): ServerSession | Reason | Promise<ServerSession | Reason> {
    const session = new ServerSession(channel, node, domainRole, scheme, source);
    const problem = this.#engine.claim(session, maxPerIdentity);
    if (problem instanceof Promise) {
      return problem.then((reason) => reason ?? this.#enter(session));
    }
    return problem ?? this.#enter(session);
  }

  /** Enters an admitted session: it replaces a weaker-or-equal one, displaces guests. */
  #enter(session: ServerSession): ServerSession | Reason {
    const replaced = this.#registry.add(session);
    replaced?.channel.sendFailedSession(REPLACED_REASON).catch(() => {});
    if (session.guest) return session;
    for (
      const guest of this.#rules.displacedGuests(
        session.identityKey,
        session.scheme,
        this.#registry,
      )
    ) {
      this.evict(guest, IDENTITY_REASONS.nowOwned(guest.identity));
    }
    this.#guestContacts.discard(session.identityKey);
    return session;
  }

  /** Unregisters a session that ended; a guest identity's data goes with its last guest. */
  unregister(session: ServerSession): void {
    const current = this.#registry.byNodeKey(session.nodeKey) === session;
    this.#registry.remove(session);
    session.markGone();
    if (current) this.#engine.release(session);
    if (!session.guest) return;
    for (const other of this.#registry.byIdentityKey(session.identityKey)) {
      if (other.guest) return;
    }
    this.#guestContacts.discard(session.identityKey);
  }

  /** Ends a session at once with `reason`; it stops receiving routed traffic now. */
  evict(session: ServerSession, reason: Reason): void {
    this.unregister(session);
    session.channel.sendFailedSession(reason).catch(() => {});
  }

  /** An identity got an account: its guest sessions here end and guest data goes. */
  ownerArrived(identityKey: string): void {
    for (const session of this.#registry.byIdentityKey(identityKey)) {
      if (session.guest) this.evict(session, IDENTITY_REASONS.nowOwned(session.identity));
    }
    this.#guestContacts.discard(identityKey);
  }
}
