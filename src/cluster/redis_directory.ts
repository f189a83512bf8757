/**
 * The cluster directory on Redis: one hash per identity (`id:<identity>`, see
 * `directory_entry.ts`) saying which server holds each of its sessions and with what presence.
 * Registration reads the identity's hash, judges it with the server's identity rules (the same
 * code as one process: `IdentityRules.registrationProblem`), and commits only if the hash did not
 * change meanwhile (`directory_script.ts`), retrying a few times: so a guest is refused for an
 * identity with a live owner session anywhere, an owner ends guest sessions everywhere, a node
 * replaces its session on another server only under the strength rule, and the sessions of an
 * identity are counted cluster-wide. Lookups use the cache (`directory_cache.ts`) first.
 * @module
 */
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { IDENTITY_REASONS, type IdentityRules } from "../server/identity_rules.ts";
import type { ServerSession } from "../server/server_session.ts";
import type { SessionRegistry } from "../server/session_registry.ts";
import { REPLACED_REASON } from "../server/session_registration.ts";
import type { DirectoryCache } from "./directory_cache.ts";
import { type DirectoryEntry, encodeEntry, IdentitySnapshot } from "./directory_entry.ts";
import {
  DIRECTORY_SCRIPT,
  directoryArgs,
  type DirectoryOp,
  type DirectoryReply,
  type Eviction,
  readDirectoryReply,
} from "./directory_script.ts";
import type { RedisLink } from "./redis_link.ts";
import type { ServerLiveness } from "./server_liveness.ts";
import { clusterLog } from "../observability/log.ts";

/** Why a registration is refused while the directory cannot be reached or keeps changing. */
export const DIRECTORY_REASONS = {
  unreachable: (): Reason => ({
    code: ReasonCode.SESSION_ERROR,
    description: "The cluster directory cannot be reached now; try again",
  }),
  busy: (): Reason => ({
    code: ReasonCode.SESSION_ERROR,
    description: "The identity's sessions keep changing; try again",
  }),
} as const;

/** What the directory needs. */
export interface RedisDirectoryOptions {
  /** The connections. */
  link: RedisLink;
  /** Key prefix (`lime:<domain>:`). */
  prefix: string;
  /** Entry TTL, ms. */
  ttl: number;
  /** Who may be whom. */
  rules: IdentityRules;
  /** The server's sessions. */
  registry: SessionRegistry;
  /** Which servers are alive. */
  liveness: ServerLiveness;
  /** The cache. */
  cache: DirectoryCache;
  /** Ends a local session (lost its node while Redis was away). */
  evict(session: ServerSession, reason: Reason): void;
}

const MAX_ATTEMPTS = 8;

/** The directory as one server uses it. */
export class RedisDirectory {
  readonly #o: RedisDirectoryOptions;
  readonly #tags = new WeakMap<ServerSession, string>();
  #nextTag = 0;
  /** Releases that could not reach Redis, retried after the next reconnection. */
  readonly #pendingReleases = new Map<string, string>();
  /** Changes on their way to Redis. */
  readonly #inFlight = new Set<Promise<unknown>>();

  /** A directory with these options. */
  constructor(options: RedisDirectoryOptions) {
    this.#o = options;
  }

  /** The hash key of an identity. */
  key(identityKey: string): string {
    return `${this.#o.prefix}id:${identityKey}`;
  }

  /** The tag of a local session (assigned on first use). */
  tagOf(session: ServerSession): string {
    let tag = this.#tags.get(session);
    if (tag === undefined) this.#tags.set(session, tag = (this.#nextTag++).toString(36));
    return tag;
  }

  #value(session: ServerSession): string {
    return encodeEntry({
      server: this.#o.liveness.me,
      tag: this.tagOf(session),
      scheme: session.scheme,
      presence: session.publishedPresence,
    });
  }

  #field(session: ServerSession): string {
    return session.nodeKey.slice(session.identityKey.length + 1);
  }

  async #mutate(
    identityKey: string,
    expected: number | undefined,
    ops: DirectoryOp[],
    evictions: Eviction[] = [],
  ): Promise<DirectoryReply> {
    const o = this.#o;
    const context = { prefix: o.prefix, me: o.liveness.me, ttl: o.ttl, identityKey };
    const call = o.link.eval(
      DIRECTORY_SCRIPT,
      [this.key(identityKey)],
      directoryArgs(context, expected, ops, evictions),
    );
    this.#inFlight.add(call);
    try {
      return readDirectoryReply(await call);
    } finally {
      this.#inFlight.delete(call);
    }
  }

  /** Resolves when the changes sent so far have been answered (or failed). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Keeps a snapshot of an identity with sessions here (others are not kept current). */
  #install(snapshot: IdentitySnapshot, local = false): void {
    if (local || this.#o.registry.byIdentityKey(snapshot.identityKey).length > 0) {
      this.#o.cache.install(snapshot, true);
    } else {
      this.#o.cache.drop(snapshot.identityKey);
    }
  }

  /** Reads an identity's hash (entries of dead servers included). */
  async read(identityKey: string): Promise<IdentitySnapshot> {
    const flat = await this.#o.link.call<string[]>(["HGETALL", this.key(identityKey)]);
    return new IdentitySnapshot(identityKey, flat);
  }

  /** Whether `session` may register, cluster-wide; when it may, it is in the directory. */
  async claim(session: ServerSession, maxPerIdentity: number): Promise<Reason | undefined> {
    const { rules, liveness } = this.#o;
    const identityKey = session.identityKey;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const read = await this.read(identityKey);
        const view = read.live((server) => liveness.isAlive(server));
        const problem = rules.registrationProblem(
          session.node,
          session.scheme,
          view,
          maxPerIdentity,
        );
        if (problem) return problem;
        const ops: DirectoryOp[] = [];
        const evictions: Eviction[] = [];
        for (const field of read.entries.keys()) {
          if (!view.entries.has(field)) ops.push({ kind: "del", field });
        }
        const current = view.byNodeKey(session.nodeKey);
        if (current && current.server !== liveness.me) {
          evictions.push(this.#eviction(current, REPLACED_REASON));
        }
        for (const guest of rules.displacedGuests(identityKey, session.scheme, view)) {
          ops.push({ kind: "del", field: guest.nodeKey.slice(identityKey.length + 1) });
          if (guest.server !== liveness.me) {
            evictions.push(this.#eviction(guest, IDENTITY_REASONS.nowOwned(identityKey)));
          }
        }
        ops.push({ kind: "set", field: this.#field(session), value: this.#value(session) });
        const reply = await this.#mutate(identityKey, read.version, ops, evictions);
        if (reply.ok) {
          this.#install(new IdentitySnapshot(identityKey, reply.snapshot), true);
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
      }
      return DIRECTORY_REASONS.busy();
    } catch (error) {
      clusterLog.error("A registration could not reach the directory: {error}", { error });
      return DIRECTORY_REASONS.unreachable();
    }
  }

  #eviction(entry: DirectoryEntry, reason: Reason): Eviction {
    return {
      server: entry.server,
      nodeKey: entry.nodeKey,
      tag: entry.tag,
      code: reason.code,
      description: reason.description ?? "",
    };
  }

  /** A local session ended: its entry goes (unless a later session took the node). */
  release(session: ServerSession): void {
    const identityKey = session.identityKey;
    const tag = this.tagOf(session);
    const field = this.#field(session);
    if (this.#o.registry.byIdentityKey(identityKey).length === 0) this.#o.cache.drop(identityKey);
    this.#mutate(identityKey, undefined, [{ kind: "mine", field, tag, value: "" }]).then(
      (reply) => reply.ok && this.#install(new IdentitySnapshot(identityKey, reply.snapshot)),
      () => this.#pendingReleases.set(session.nodeKey, tag),
    );
  }

  /** Publishes a local session's presence; resolves once the directory has it. */
  async publishPresence(session: ServerSession): Promise<void> {
    const field = this.#field(session);
    try {
      const reply = await this.#mutate(session.identityKey, undefined, [
        { kind: "mine", field, tag: this.tagOf(session), value: this.#value(session) },
      ]);
      if (reply.ok) this.#install(new IdentitySnapshot(session.identityKey, reply.snapshot));
    } catch (error) {
      // Published again when the server's sessions are registered again.
      clusterLog.warning("A presence could not reach the directory: {error}", { error });
    }
  }

  /** An identity got an account here: its guest sessions on other servers end. */
  async evictGuests(identityKey: string): Promise<void> {
    const me = this.#o.liveness.me;
    const read = await this.read(identityKey);
    const ops: DirectoryOp[] = [];
    const evictions: Eviction[] = [];
    for (const [field, entry] of read.entries) {
      if (!entry.guest || entry.server === me) continue;
      ops.push({ kind: "del", field });
      evictions.push(this.#eviction(entry, IDENTITY_REASONS.nowOwned(identityKey)));
    }
    if (ops.length > 0) await this.#mutate(identityKey, undefined, ops, evictions);
  }

  /**
   * Where a node is, from the cache when it can tell (a local identity's snapshot is
   * authoritative; a remote node is remembered briefly), else from Redis. Null: nowhere.
   */
  locate(
    nodeKey: string,
    identityKey: string,
  ): DirectoryEntry | null | Promise<DirectoryEntry | null> {
    const { cache, liveness } = this.#o;
    const alive = (entry: DirectoryEntry | undefined) =>
      entry && liveness.isAlive(entry.server) ? entry : null;
    const fresh = cache.fresh(identityKey);
    if (fresh) return alive(fresh.byNodeKey(nodeKey));
    const now = Date.now();
    const cached = cache.node(nodeKey, now);
    if (cached && liveness.isAlive(cached.server)) return cached;
    return this.lookup(nodeKey, identityKey).then((entry) => {
      if (entry) cache.rememberNode(entry, now);
      return entry;
    });
  }

  /** Where a node is, from Redis (no cache). */
  async lookup(nodeKey: string, identityKey: string): Promise<DirectoryEntry | null> {
    const snapshot = await this.read(identityKey);
    const entry = snapshot.byNodeKey(nodeKey);
    return entry && this.#o.liveness.isAlive(entry.server) ? entry : null;
  }

  /** An identity's live entries: the authoritative snapshot, or a read of Redis. */
  entries(identityKey: string): IdentitySnapshot | Promise<IdentitySnapshot> {
    const fresh = this.#o.cache.fresh(identityKey);
    if (fresh) return fresh;
    return this.read(identityKey).then((snapshot) => {
      this.#install(snapshot);
      return snapshot;
    });
  }

  /**
   * After a reconnection: releases that failed are sent again, and every local session (of
   * `only` these identities, when given) is registered again, unless another live server took its
   * node meanwhile: then it ends (11).
   */
  async reregister(only?: ReadonlySet<string>): Promise<void> {
    const byIdentity = new Map<string, DirectoryOp[]>();
    const ops = (identityKey: string) => {
      let list = byIdentity.get(identityKey);
      if (!list) byIdentity.set(identityKey, list = []);
      return list;
    };
    for (const [nodeKey, tag] of only ? [] : this.#pendingReleases) {
      const slash = nodeKey.indexOf("/");
      ops(nodeKey.slice(0, slash)).push({
        kind: "mine",
        field: nodeKey.slice(slash + 1),
        tag,
        value: "",
      });
    }
    if (!only) this.#pendingReleases.clear();
    const sessions = new Map<string, ServerSession>();
    for (const session of this.#o.registry.values()) {
      if (only && !only.has(session.identityKey)) continue;
      sessions.set(session.nodeKey, session);
      ops(session.identityKey).push({
        kind: "reclaim",
        field: this.#field(session),
        tag: this.tagOf(session),
        value: this.#value(session),
      });
    }
    await Promise.all([...byIdentity].map(async ([identityKey, list]) => {
      const reply = await this.#mutate(identityKey, undefined, list);
      if (!reply.ok) return;
      this.#install(new IdentitySnapshot(identityKey, reply.snapshot));
      list.forEach((op, i) => {
        if (op.kind !== "reclaim" || reply.statuses[i] !== "taken") return;
        const session = sessions.get(`${identityKey}/${op.field}`);
        if (session) this.#o.evict(session, REPLACED_REASON);
      });
    }));
  }

  /** The identities with a session here (their hashes' TTL is refreshed). */
  localIdentities(): string[] {
    const identities = new Set<string>();
    for (const session of this.#o.registry.values()) identities.add(session.identityKey);
    return [...identities];
  }
}
