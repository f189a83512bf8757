/**
 * The established sessions by node and by identity. A node that connects again with the same
 * instance replaces the older session (the older one is told `failed` with reason 11 and
 * closed): a client that lost its connection without `finishing` (blip-sdk reconnects by itself)
 * would otherwise be locked out until the server noticed the dead socket.
 * @module
 */
import { NO_HANDLERS, withHandler, withoutHandler } from "../handler_list.ts";
import type { ServerSession } from "./server_session.ts";

/** Sessions by node and identity. */
export class SessionRegistry {
  readonly #byNode = new Map<string, ServerSession>();
  // Exactly-sized arrays, replaced on change (`handler_list.ts`: never changed in place, so a
  // caller may iterate one while sessions come and go): one session's array costs a quarter of a
  // one-entry `Set`, and most identities have one session.
  readonly #byIdentity = new Map<string, readonly ServerSession[]>();

  /** Established sessions. */
  get size(): number {
    return this.#byNode.size;
  }

  /** Every session. */
  values(): IterableIterator<ServerSession> {
    return this.#byNode.values();
  }

  /** Registers a session; returns the one it replaces (same node), if any. */
  add(session: ServerSession): ServerSession | undefined {
    const replaced = this.#byNode.get(session.nodeKey);
    if (replaced) this.remove(replaced);
    this.#byNode.set(session.nodeKey, session);
    const sessions = this.#byIdentity.get(session.identityKey) ?? NO_HANDLERS;
    this.#byIdentity.set(session.identityKey, withHandler(sessions, session));
    return replaced;
  }

  /** Unregisters a session (no-op when it was replaced already). */
  remove(session: ServerSession): void {
    if (this.#byNode.get(session.nodeKey) !== session) return;
    this.#byNode.delete(session.nodeKey);
    const sessions = this.#byIdentity.get(session.identityKey) ?? NO_HANDLERS;
    const kept = withoutHandler(sessions, session);
    if (kept.length > 0) this.#byIdentity.set(session.identityKey, kept);
    else this.#byIdentity.delete(session.identityKey);
  }

  /** The session of a node (`name@domain/instance`, any case). */
  byNode(node: string): ServerSession | undefined {
    return this.byNodeKey(node.toLowerCase());
  }

  /** The session of a node already in lower case (the router's hot path). */
  byNodeKey(key: string): ServerSession | undefined {
    return this.#byNode.get(key);
  }

  /**
   * The sessions of an identity (`name@domain`, any case), oldest first. The array is not changed
   * afterwards: sessions that come or go later are in the next call's.
   */
  byIdentity(identity: string): readonly ServerSession[] {
    return this.byIdentityKey(identity.toLowerCase());
  }

  /** The sessions of an identity already in lower case. */
  byIdentityKey(key: string): readonly ServerSession[] {
    return this.#byIdentity.get(key) ?? NO_HANDLERS;
  }
}
