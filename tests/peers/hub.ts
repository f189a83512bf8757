/**
 * The scripted server's node registry: who is connected as which node in which session, and
 * where an address goes (a node to that session, an identity to its first session).
 * @module
 */
import type { Wire } from "./wire.ts";

/** A registered session. */
export interface Registered {
  /** The session's node. */
  node: string;
  /** The session id. */
  id: string;
  /** Its connection. */
  wire: Wire;
}

const identityOf = (address: string) => address.split("/")[0].toLowerCase();

/** Connected sessions by node. */
export class Hub {
  readonly #nodes = new Map<string, Registered>();

  /** Whether `node` is registered. */
  taken(node: string): boolean {
    return this.#nodes.has(node.toLowerCase());
  }

  /** Registers a session. */
  add(session: Registered): void {
    this.#nodes.set(session.node.toLowerCase(), session);
  }

  /** Unregisters a session (only if its node is still this session's). */
  remove(session: Registered): void {
    const key = session.node.toLowerCase();
    if (this.#nodes.get(key) === session) this.#nodes.delete(key);
  }

  /** Every registered session. */
  sessions(): Registered[] {
    return [...this.#nodes.values()];
  }

  /** Where `to` goes: the node's connection, or for an identity the first of its sessions'. */
  find(to: string): Wire | undefined {
    const exact = this.#nodes.get(to.toLowerCase());
    if (exact || to.includes("/")) return exact?.wire;
    for (const [node, session] of this.#nodes) {
      if (identityOf(node) === identityOf(to)) return session.wire;
    }
    return undefined;
  }
}
