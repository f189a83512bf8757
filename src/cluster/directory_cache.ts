/**
 * What a server remembers of the directory, so that routing between its own sessions never waits
 * for Redis:
 *
 * - **Identities with a session here**: a snapshot of the identity's hash, kept current by the
 *   snapshots every change sends to the servers holding the identity (newer versions replace
 *   older ones; versions only grow, so order does not matter). Such a snapshot is authoritative
 *   ("fresh"): a node of the identity that is not in it does not exist. Every snapshot turns
 *   stale when the connection to Redis is lost (changes may have been missed), until the
 *   server's sessions are registered again.
 * - **Nodes elsewhere**: the server of a node looked up recently, for a short time. A stale one
 *   costs a hop, not a message: the server that no longer has the node routes it on.
 * @module
 */
import { AgedMap } from "../aged_map.ts";
import type { DirectoryEntry, IdentitySnapshot } from "./directory_entry.ts";

interface CachedIdentity {
  snapshot: IdentitySnapshot;
  fresh: boolean;
}

interface CachedNode {
  entry: DirectoryEntry;
  until: number;
}

/** The directory cache of one server. */
export class DirectoryCache {
  readonly #identities = new Map<string, CachedIdentity>();
  readonly #nodes = new AgedMap<string, CachedNode>();
  readonly #nodeTtl: number;
  readonly #maxNodes: number;
  /** Whether snapshots may be trusted (false from a lost connection until re-registration). */
  trusting = true;

  /** A cache keeping remote nodes `nodeTtl` ms, at most `maxNodes` of them. */
  constructor(nodeTtl: number, maxNodes = 100_000) {
    this.#nodeTtl = nodeTtl;
    this.#maxNodes = maxNodes;
  }

  /**
   * Installs a snapshot unless an equal or newer one is there; `authoritative` when this server
   * holds sessions of the identity (so it hears of every later change).
   */
  install(snapshot: IdentitySnapshot, authoritative: boolean): void {
    const cached = this.#identities.get(snapshot.identityKey);
    if (cached && cached.snapshot.version >= snapshot.version) {
      if (cached.snapshot.version === snapshot.version && authoritative && this.trusting) {
        cached.fresh = true;
      }
      return;
    }
    this.#identities.set(snapshot.identityKey, {
      snapshot,
      fresh: authoritative && this.trusting,
    });
  }

  /** A snapshot that arrived as a notice: kept only for identities cached already. */
  notice(snapshot: IdentitySnapshot): void {
    const cached = this.#identities.get(snapshot.identityKey);
    if (!cached || cached.snapshot.version >= snapshot.version) return;
    cached.snapshot = snapshot;
  }

  /** The authoritative snapshot of an identity, if this server has one. */
  fresh(identityKey: string): IdentitySnapshot | undefined {
    const cached = this.#identities.get(identityKey);
    return cached?.fresh ? cached.snapshot : undefined;
  }

  /** Forgets an identity (its last session here ended). */
  drop(identityKey: string): void {
    this.#identities.delete(identityKey);
  }

  /** Every snapshot turns stale, and remote nodes are forgotten (the connection was lost). */
  distrust(): void {
    this.trusting = false;
    for (const cached of this.#identities.values()) cached.fresh = false;
    this.#nodes.clear();
  }

  /** A remote node looked up recently (undefined when unknown or expired). */
  node(nodeKey: string, now: number): DirectoryEntry | undefined {
    const cached = this.#nodes.get(nodeKey);
    if (!cached) return undefined;
    if (cached.until > now) return cached.entry;
    this.#nodes.delete(nodeKey);
    return undefined;
  }

  /** Remembers where a remote node is. */
  rememberNode(entry: DirectoryEntry, now: number): void {
    if (!this.#nodes.has(entry.nodeKey) && this.#nodes.size >= this.#maxNodes) {
      this.#nodes.deleteOldest();
    }
    this.#nodes.set(entry.nodeKey, { entry, until: now + this.#nodeTtl });
  }

  /** Forgets a remote node (it was not where the cache said). */
  forgetNode(nodeKey: string): void {
    this.#nodes.delete(nodeKey);
  }

  /** Forgets every remote node of a server that is gone. */
  forgetServer(server: string): void {
    for (const [key, cached] of this.#nodes.entries()) {
      if (cached.entry.server === server) this.#nodes.delete(key);
    }
  }

  /** Identities cached. */
  get identityCount(): number {
    return this.#identities.size;
  }
}
