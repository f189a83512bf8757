/**
 * The HTTP identities' sessions (`edge_session.ts`), one per identity: opened by the first
 * request that needs one, shared by the identity's requests, closed once idle for
 * `idleTimeout` (unless the identity has a webhook: then it stays, to receive). Each has its
 * session shaper (its own buckets and its identity's), like a connection's session.
 * @module
 */
import type { Reason } from "../errors.ts";
import type { SessionShaper } from "../server/guard/traffic_shaper.ts";
import type { EdgeHost } from "./edge_host.ts";
import { EdgeSession, type WebhookTarget } from "./edge_session.ts";

interface Entry {
  edge: EdgeSession;
  shaper: SessionShaper | undefined;
}

/** The sessions of the HTTP identities of one server. */
export class EdgeSessions {
  readonly #host: EdgeHost;
  readonly #instance: string;
  readonly #idle: number;
  readonly #entries = new Map<string, Entry>();
  readonly #opening = new Map<string, Promise<Entry | Reason>>();
  readonly #webhooks = new Map<string, WebhookTarget>();

  /** Sessions on node instance `instance`, closed after `idleTimeout` ms unused. */
  constructor(host: EdgeHost, instance: string, idleTimeout: number) {
    this.#host = host;
    this.#instance = instance;
    this.#idle = idleTimeout;
  }

  /** Sessions open now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The open session of an identity (lower case), if any. */
  get(identityKey: string): EdgeSession | undefined {
    const entry = this.#entries.get(identityKey);
    return entry?.edge.open ? entry.edge : undefined;
  }

  /** The session shaper of `edge` (undefined when nothing is rate-limited). */
  shaperOf(edge: EdgeSession): SessionShaper | undefined {
    return this.#entries.get(edge.session.identityKey)?.shaper;
  }

  /**
   * The session of `identity` for one request, opened if needed: release it with
   * {@link release}. Resolves with a reason when it cannot be registered.
   */
  async acquire(identity: string, scheme: "key" | "plain"): Promise<EdgeSession | Reason> {
    const entry = await this.#entry(identity, scheme);
    if (!("edge" in entry)) return entry;
    entry.edge.inFlight++;
    entry.edge.lastUsed = this.#host.clock.now();
    return entry.edge;
  }

  /** A request is done with `edge`. */
  release(edge: EdgeSession): void {
    edge.inFlight--;
    edge.lastUsed = this.#host.clock.now();
  }

  /**
   * Gives `identity` a webhook (its session opens and stays open to receive) or takes it away
   * (`undefined`: the session closes once idle). Resolves with a reason when the session cannot
   * be registered.
   */
  async setWebhook(identity: string, webhook: WebhookTarget | undefined): Promise<Reason | void> {
    const key = identity.toLowerCase();
    if (!webhook) {
      this.#webhooks.delete(key);
      const edge = this.get(key);
      if (edge) edge.webhook = undefined;
      return;
    }
    this.#webhooks.set(key, webhook);
    const entry = await this.#entry(identity, "key");
    if (!("edge" in entry)) return entry;
    entry.edge.webhook = this.#webhooks.get(key);
  }

  /** Closes the sessions idle for longer than the idle time (never one with a webhook). */
  sweep(): void {
    const now = this.#host.clock.now();
    for (const [key, { edge }] of this.#entries) {
      if (edge.inFlight > 0 || (edge.webhook && edge.open)) continue;
      if (edge.open && now - edge.lastUsed < this.#idle) continue;
      this.#drop(key, edge);
    }
  }

  /** Closes every session. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#opening.values()]);
    const closing = [...this.#entries].map(([key, { edge }]) => this.#drop(key, edge));
    await Promise.all(closing);
  }

  async #entry(identity: string, scheme: "key" | "plain"): Promise<Entry | Reason> {
    const key = identity.toLowerCase();
    const entry = this.#entries.get(key);
    if (entry?.edge.open) return entry;
    if (entry) await this.#drop(key, entry.edge);
    let opening = this.#opening.get(key);
    if (!opening) {
      opening = this.#open(identity, scheme).finally(() => this.#opening.delete(key));
      this.#opening.set(key, opening);
    }
    return await opening;
  }

  async #open(identity: string, scheme: "key" | "plain"): Promise<Entry | Reason> {
    const host = this.#host;
    const opened = await EdgeSession.open(host, identity, this.#instance, scheme);
    if (!(opened instanceof EdgeSession)) return opened;
    const key = opened.session.identityKey;
    opened.webhook = this.#webhooks.get(key);
    const shaper = host.shaping.limited ? host.shaping.forSession(key, undefined) : undefined;
    opened.session.answerCharges = shaper;
    const entry = { edge: opened, shaper };
    this.#entries.set(key, entry);
    opened.channel.closed.then(() => {
      shaper?.release();
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return entry;
  }

  async #drop(key: string, edge: EdgeSession): Promise<void> {
    if (this.#entries.get(key)?.edge === edge) this.#entries.delete(key);
    await edge.close();
  }
}
