/**
 * What a server does with the entries of its inbox (and with those it claims from the inbox of a
 * server that is gone): envelopes are parsed once and written to their local session, and the
 * origin server hears the outcome of a tracked one (batched per origin and turn); an envelope
 * whose node is not here (any more) is routed on to where the directory says it is now, at most
 * `MAX_HOPS` times, else failed (42). Outcomes settle this server's tracked envelopes; snapshots
 * refresh its directory cache; evictions end the local session they name (only that session:
 * the tag tells it from a later one of the same node).
 * @module
 */
import { setImmediate } from "node:timers";
import { parseEnvelope } from "../codec.ts";
import { type Envelope, isCommand, isMessage, isNotification } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { identityKeyOf } from "../server/identity_rules.ts";
import { ROUTING_REASONS, sendFailureReason } from "../server/routing_reasons.ts";
import type { ClusterRouter } from "./cluster_router.ts";
import { CLUSTER_REASONS } from "./cluster_router.ts";
import type { DirectoryCache } from "./directory_cache.ts";
import { IdentitySnapshot } from "./directory_entry.ts";
import type { EngineHost } from "./engine.ts";
import {
  type EnvelopeEntry,
  type EnvelopeItem,
  type InboxEntry,
  MAX_HOPS,
  type Outcome,
} from "./inbox_entry.ts";
import type { RedisDirectory } from "./redis_directory.ts";
import type { RedisLink } from "./redis_link.ts";
import { clusterLog } from "../observability/log.ts";

/** Most outcomes per inbox entry (well under `MAX_OUTCOMES`). */
const OUTCOMES_PER_ENTRY = 1_000;

/** What delivery needs. */
export interface InboxDeliveryOptions {
  /** The server. */
  host: EngineHost;
  /** This server's id. */
  me: string;
  /** The connections. */
  link: RedisLink;
  /** The directory. */
  directory: RedisDirectory;
  /** The directory cache. */
  cache: DirectoryCache;
  /** Routing to other servers (and this server's tracked envelopes). */
  router: ClusterRouter;
  /** The inbox key of a server. */
  inboxOf(server: string): string;
}

/** Handles inbox entries. */
export class InboxDelivery {
  readonly #o: InboxDeliveryOptions;
  readonly #outcomes = new Map<string, Outcome[]>();
  #flushing = false;

  /** Delivery with these options. */
  constructor(options: InboxDeliveryOptions) {
    this.#o = options;
  }

  /** Handles one entry of this server's inbox; settles when it may be acknowledged. */
  readonly handle = (entry: InboxEntry): void | Promise<void> => {
    switch (entry.type) {
      case "e":
        return this.#envelopes(entry);
      case "o":
        for (const [track, code, description] of entry.outcomes) {
          this.#o.router.settle(track, code, description);
        }
        return;
      case "d":
        this.#o.cache.notice(new IdentitySnapshot(entry.identity, entry.flat));
        return;
      case "x": {
        const session = this.#o.host.registry.byNodeKey(entry.node);
        if (session && this.#o.directory.tagOf(session) === entry.tag) {
          this.#o.host.evict(session, { code: entry.code, description: entry.description });
        }
        return;
      }
    }
  };

  /**
   * Handles an entry claimed from the inbox of a server that is gone: envelopes are routed on,
   * the rest concerned only that server and is dropped.
   */
  readonly rescued = (entry: InboxEntry): void | Promise<void> => {
    if (entry.type !== "e") return;
    return Promise.all(entry.items.map((item) => this.#reroute(entry, item))).then(() => {});
  };

  #envelopes(entry: EnvelopeEntry): void | Promise<void> {
    let waiting: Promise<void>[] | undefined;
    for (const item of entry.items) {
      const done = this.#envelope(entry, item);
      if (done) (waiting ??= []).push(done);
    }
    if (waiting) return Promise.all(waiting).then(() => {});
  }

  #envelope(entry: EnvelopeEntry, item: EnvelopeItem): void | Promise<void> {
    const session = this.#o.host.registry.byNodeKey(item.node);
    if (!session) return this.#reroute(entry, item);
    // A guest being let in (the directory shows it available): delivered once it is established,
    // else on to where the node is now, or failed (42).
    if (session.establishing) {
      return session.settled().then((established) =>
        established ? this.#envelope(entry, item) : this.#reroute(entry, item)
      );
    }
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(item.text);
    } catch (error) {
      clusterLog.error("An envelope for {node} could not be read: {error}", {
        node: item.node,
        error,
      });
      this.#outcome(entry, item, ReasonCode.DISPATCH_ERROR, "The envelope could not be read");
      return;
    }
    const channel = session.channel;
    const sent = isMessage(envelope)
      ? channel.sendMessage(envelope)
      : isCommand(envelope)
      ? channel.sendCommand(envelope)
      : isNotification(envelope)
      ? channel.sendNotification(envelope)
      : undefined;
    if (!sent) {
      this.#outcome(entry, item, ReasonCode.DISPATCH_ERROR, "A session envelope is not routed");
      return;
    }
    if (!item.track) return sent.catch(() => {});
    return sent.then(
      () => this.#outcome(entry, item, 0, ""),
      (error) => {
        const reason = sendFailureReason(error, envelope.to ?? item.node);
        this.#outcome(entry, item, reason.code, reason.description ?? "");
      },
    );
  }

  /** The node is not here: on to where the directory says it is now, or failed (42). */
  async #reroute(entry: EnvelopeEntry, item: EnvelopeItem): Promise<void> {
    const { directory, me, router, host } = this.#o;
    const fail = (reason: Reason) => this.#outcome(entry, item, reason.code, reason.description!);
    if (entry.hops >= MAX_HOPS) return fail(ROUTING_REASONS.notFound(item.node));
    try {
      const found = await directory.lookup(item.node, identityKeyOf(item.node));
      if (found && found.server !== me) {
        const on = { origin: entry.origin, hops: entry.hops + 1, items: [item] };
        if (!await router.send(found.server, on)) fail(CLUSTER_REASONS.serverGone(item.node));
        return;
      }
      if (found && host.registry.byNodeKey(item.node)) return this.#envelope(entry, item);
      fail(ROUTING_REASONS.notFound(item.node));
    } catch {
      fail(CLUSTER_REASONS.unreachable(item.node));
    }
  }

  /** Reports a tracked envelope's outcome to its origin (batched per origin and turn). */
  #outcome(entry: EnvelopeEntry, item: EnvelopeItem, code: number, description: string): void {
    if (!item.track) return;
    if (entry.origin === this.#o.me) {
      this.#o.router.settle(item.track, code, description);
      return;
    }
    let list = this.#outcomes.get(entry.origin);
    if (!list) this.#outcomes.set(entry.origin, list = []);
    list.push([item.track, code, description]);
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends the outcomes gathered so far. */
  flush(): void {
    this.#flushing = false;
    for (const [origin, outcomes] of this.#outcomes) {
      for (let i = 0; i < outcomes.length; i += OUTCOMES_PER_ENTRY) {
        const chunk = outcomes.slice(i, i + OUTCOMES_PER_ENTRY);
        this.#o.link.call([
          "XADD",
          this.#o.inboxOf(origin),
          "NOMKSTREAM",
          "*",
          "t",
          "o",
          "b",
          JSON.stringify(chunk),
        ]).catch(() => {
          // The origin hears nothing: its ledger reports the envelopes after its timeout.
        });
      }
    }
    this.#outcomes.clear();
  }
}
