/**
 * Which servers of the cluster are alive, as this server last saw it. Every server keeps a key
 * `srv:<id>` with a TTL that its heartbeats refresh, and is a member of the set `servers`. A
 * heartbeat reads them all: a server whose key is gone is dead for routing at once (its
 * directory entries count as absent, so its sessions disappear within the TTL), and is rescued
 * (its inbox claimed, see `redis_rescue.ts`) once it was seen dead twice in a row. A server this
 * one has not heard of yet counts as alive (it may have started since the last heartbeat).
 * @module
 */

/** The live and dead servers seen by the last heartbeats. */
export class ServerLiveness {
  /** This server's id. */
  readonly me: string;
  readonly #dead = new Map<string, number>();

  /** The view of server `me`. */
  constructor(me: string) {
    this.me = me;
  }

  /** Whether a server counts as alive. */
  isAlive(server: string): boolean {
    return server === this.me || !this.#dead.has(server);
  }

  /** Whether a server was seen dead by at least two heartbeats in a row. */
  isGone(server: string): boolean {
    return (this.#dead.get(server) ?? 0) >= 2;
  }

  /**
   * Applies a heartbeat's reading (the members of `servers` and whether each one's key exists);
   * returns the servers that turned dead, and those that are now gone (to rescue).
   */
  update(members: readonly string[], alive: readonly boolean[]): {
    died: string[];
    gone: string[];
  } {
    const died: string[] = [];
    const gone: string[] = [];
    const seen = new Set<string>();
    members.forEach((server, i) => {
      if (server === this.me) return;
      seen.add(server);
      if (alive[i]) {
        this.#dead.delete(server);
        return;
      }
      const count = (this.#dead.get(server) ?? 0) + 1;
      this.#dead.set(server, count);
      if (count === 1) died.push(server);
      if (count >= 2) gone.push(server);
    });
    // A dead server no longer in the set was rescued: remember it as dead (ids are never reused).
    for (const server of this.#dead.keys()) {
      if (!seen.has(server)) this.#dead.set(server, 2);
    }
    return { died, gone };
  }

  /** Servers seen dead. */
  get deadCount(): number {
    return this.#dead.size;
  }
}
