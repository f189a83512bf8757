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
import { parseEnvelope } from "../codec.ts";
import { type Envelope, isCommand, isMessage, isNotification } from "../envelope.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { identityKeyOf } from "../server/identity_rules.ts";
import { ROUTING_REASONS, sendFailureReason } from "../server/router.ts";
import type { ClusterRouter } from "./cluster_router.ts";
import { CLUSTER_REASONS } from "./cluster_router.ts";
import type { DirectoryCache } from "./directory_cache.ts";
import { IdentitySnapshot } from "./directory_entry.ts";
import type { EngineHost } from "./engine.ts";
import { type EnvelopeEntry, type InboxEntry, MAX_HOPS, type Outcome } from "./inbox_entry.ts";
import type { RedisDirectory } from "./redis_directory.ts";
import type { RedisLink } from "./redis_link.ts";

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
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  /** Delivery with these options. */
  constructor(options: InboxDeliveryOptions) {
    this.#o = options;
  }

  /** Handles one entry of this server's inbox; settles when it may be acknowledged. */
  readonly handle = (entry: InboxEntry): void | Promise<void> => {
    switch (entry.type) {
      case "e":
        return this.#envelope(entry);
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
    if (entry.type === "e") return this.#reroute(entry);
  };

  #envelope(entry: EnvelopeEntry): void | Promise<void> {
    const session = this.#o.host.registry.byNodeKey(entry.node);
    if (!session) return this.#reroute(entry);
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(entry.text);
    } catch (error) {
      console.error(`LIME cluster: an envelope for ${entry.node} could not be read`, error);
      this.#outcome(entry, ReasonCode.DISPATCH_ERROR, "The envelope could not be read");
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
      this.#outcome(entry, ReasonCode.DISPATCH_ERROR, "A session envelope is not routed");
      return;
    }
    return sent.then(
      () => this.#outcome(entry, 0, ""),
      (error) => {
        const reason = sendFailureReason(error, envelope.to ?? entry.node);
        this.#outcome(entry, reason.code, reason.description ?? "");
      },
    );
  }

  /** The node is not here: on to where the directory says it is now, or failed (42). */
  async #reroute(entry: EnvelopeEntry): Promise<void> {
    const { directory, me, router, host } = this.#o;
    const notFound = ROUTING_REASONS.notFound(entry.node);
    if (entry.hops >= MAX_HOPS) {
      this.#outcome(entry, notFound.code, notFound.description!);
      return;
    }
    try {
      const found = await directory.lookup(entry.node, identityKeyOf(entry.node));
      if (found && found.server !== me) {
        if (await router.send(found.server, { ...entry, hops: entry.hops + 1 })) return;
        const gone = CLUSTER_REASONS.serverGone(entry.node);
        this.#outcome(entry, gone.code, gone.description!);
        return;
      }
      if (found && host.registry.byNodeKey(entry.node)) return this.#envelope(entry);
      this.#outcome(entry, notFound.code, notFound.description!);
    } catch {
      const reason = CLUSTER_REASONS.unreachable(entry.node);
      this.#outcome(entry, reason.code, reason.description!);
    }
  }

  /** Reports a tracked envelope's outcome to its origin (batched per origin and turn). */
  #outcome(entry: EnvelopeEntry, code: number, description: string): void {
    if (!entry.track) return;
    if (entry.origin === this.#o.me) {
      this.#o.router.settle(entry.track, code, description);
      return;
    }
    let list = this.#outcomes.get(entry.origin);
    if (!list) this.#outcomes.set(entry.origin, list = []);
    list.push([entry.track, code, description]);
    this.#flushTimer ??= setTimeout(() => this.flush(), 0);
  }

  /** Sends the outcomes gathered so far. */
  flush(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
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
