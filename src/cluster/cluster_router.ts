/**
 * Routing between the servers of a cluster. The router hands over what has no session here: an
 * envelope for a node elsewhere goes to that server's inbox as the JSON text of the stamped
 * envelope, made once here (the destination server checks it, parses it once and writes it to
 * the session); an identity's envelope reaches its sessions anywhere, by presence, with the same
 * rule as one server (`identityTargets`). Tracked envelopes (`hop_ledger.ts`) get their receipts
 * (`dispatched`, `failed`) back from the destination's server. While Redis is unreachable,
 * remote deliveries are refused at once (44) and identity traffic reaches the local sessions
 * only. The other half, entries arriving in this server's inbox, is `inbox_delivery.ts`.
 * @module
 */
import { setImmediate } from "node:timers";
import { serializeEnvelope } from "../codec.ts";
import type { Envelope } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import { quoteForError } from "../formats.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { identityKeyOf } from "../server/identity_rules.ts";
import { identityTargets } from "../server/router.ts";
import { ROUTING_REASONS } from "../server/routing_reasons.ts";
import { ServerSession } from "../server/server_session.ts";
import type { EngineHost, RemoteRouting } from "./engine.ts";
import type { DirectoryEntry, IdentitySnapshot } from "./directory_entry.ts";
import { HopLedger } from "./hop_ledger.ts";
import { type EnvelopeItem, MAX_BATCH } from "./inbox_entry.ts";
import type { RedisDirectory } from "./redis_directory.ts";
import type { RedisLink } from "./redis_link.ts";
import type { ServerLiveness } from "./server_liveness.ts";

/** Reasons of the cluster's routing. */
export const CLUSTER_REASONS = {
  unreachable: (to: string): Reason => ({
    code: ReasonCode.ROUTING_ROUTE_NOT_FOUND,
    description: `Cannot route to ${quoteForError(to)} now: the cluster engine is unreachable`,
  }),
  serverGone: (to: string): Reason => ({
    code: ReasonCode.ROUTING_ROUTE_NOT_FOUND,
    description: `Cannot route to ${quoteForError(to)} now: its server is gone`,
  }),
  tooManyInFlight: (to: string): Reason => ({
    code: ReasonCode.ROUTING_ROUTE_NOT_FOUND,
    description: `Cannot route to ${quoteForError(to)} now: too many envelopes are in flight ` +
      "to other servers",
  }),
  tooLarge: (to: string, chars: number, max: number): Reason => ({
    code: ReasonCode.MESSAGE_PROCESSING_ERROR,
    description: `Cannot deliver to ${quoteForError(to)}: the envelope is ${chars} characters ` +
      `of JSON, over the maximum of ${max}`,
  }),
  noWord: (to: string, seconds: number): Reason => ({
    code: ReasonCode.ROUTING_ROUTE_NOT_FOUND,
    description: `No word from the server of ${quoteForError(to)} within ${seconds} s: the ` +
      "envelope may not have arrived",
  }),
} as const;

/** What the cluster router needs. */
export interface ClusterRouterOptions {
  /** The server. */
  host: EngineHost;
  /** The connections. */
  link: RedisLink;
  /** The directory. */
  directory: RedisDirectory;
  /** Which servers are alive. */
  liveness: ServerLiveness;
  /** Tracked envelopes. */
  ledger: HopLedger;
  /** The inbox key of a server. */
  inboxOf(server: string): string;
  /** Longest envelope text sent to another server. */
  maxEnvelopeChars: number;
}

/** Most characters of envelope text in one entry (a larger envelope goes alone). */
export const BATCH_CHARS = 1024 * 1024;

interface Batch {
  items: EnvelopeItem[];
  chars: number;
}

/** Routing beyond this server. */
export class ClusterRouter implements RemoteRouting {
  readonly #o: ClusterRouterOptions;
  readonly #outgoing = new Map<string, Batch>();
  #flushing = false;

  /** A router with these options. */
  constructor(options: ClusterRouterOptions) {
    this.#o = options;
  }

  /** An envelope for a node that has no session here. */
  toNode(sender: ServerSession, envelope: Envelope, nodeKey: string): void {
    const to = envelope.to!;
    if (!this.#o.link.isUp) {
      this.#o.host.router.refuse(sender, envelope, CLUSTER_REASONS.unreachable(to));
      return;
    }
    const located = this.#o.directory.locate(nodeKey, identityKeyOf(nodeKey));
    if (!(located instanceof Promise)) {
      this.#toEntry(sender, envelope, located);
      return;
    }
    located.then(
      (entry) => this.#toEntry(sender, envelope, entry),
      () => this.#o.host.router.refuse(sender, envelope, CLUSTER_REASONS.unreachable(to)),
    );
  }

  #toEntry(sender: ServerSession, envelope: Envelope, entry: DirectoryEntry | null): void {
    const router = this.#o.host.router;
    if (entry && entry.server !== this.#o.liveness.me) {
      router.receipt(sender, envelope, "accepted");
      this.forward(sender, envelope, entry.server, entry.nodeKey);
      return;
    }
    // Here after all (it registered meanwhile), or nowhere.
    const local = entry && this.#o.host.registry.byNodeKey(entry.nodeKey);
    if (local) router.toSession(sender, envelope, local);
    else router.refuse(sender, envelope, ROUTING_REASONS.notFound(envelope.to!));
  }

  /** An envelope for an identity: its sessions anywhere, by presence. */
  toIdentity(sender: ServerSession, envelope: Envelope, identityKey: string): void {
    if (!this.#o.link.isUp) {
      this.#localOnly(sender, envelope, identityKey);
      return;
    }
    const entries = this.#o.directory.entries(identityKey);
    if (!(entries instanceof Promise)) {
      this.#toSnapshot(sender, envelope, entries);
      return;
    }
    entries.then(
      (snapshot) => this.#toSnapshot(sender, envelope, snapshot),
      () => this.#localOnly(sender, envelope, identityKey),
    );
  }

  #localOnly(sender: ServerSession, envelope: Envelope, identityKey: string): void {
    const targets = identityTargets(this.#o.host.registry.byIdentityKey(identityKey));
    if (targets.length > 0) this.#o.host.router.deliver(sender, envelope, targets);
    else this.#o.host.router.refuse(sender, envelope, CLUSTER_REASONS.unreachable(envelope.to!));
  }

  #toSnapshot(sender: ServerSession, envelope: Envelope, snapshot: IdentitySnapshot): void {
    const { host, liveness } = this.#o;
    const candidates: (ServerSession | DirectoryEntry)[] = [
      ...host.registry.byIdentityKey(snapshot.identityKey),
    ];
    for (const entry of snapshot.entries.values()) {
      if (entry.server !== liveness.me && liveness.isAlive(entry.server)) candidates.push(entry);
    }
    const targets = identityTargets(candidates);
    if (targets.length === 0) {
      host.router.refuse(sender, envelope, ROUTING_REASONS.notFound(envelope.to!));
      return;
    }
    const local = targets.filter((t): t is ServerSession => t instanceof ServerSession);
    if (local.length > 0) host.router.deliver(sender, envelope, local);
    else host.router.receipt(sender, envelope, "accepted");
    for (const target of targets) {
      if (!(target instanceof ServerSession)) {
        this.forward(sender, envelope, target.server, target.nodeKey);
      }
    }
  }

  /**
   * Puts an envelope from a local sender in another server's inbox for one of its nodes (tracked
   * when it must be answered: see `HopLedger.tracks`). What is routed to one server in one turn
   * goes as one entry (up to `MAX_BATCH` envelopes or {@link BATCH_CHARS}).
   */
  forward(
    sender: ServerSession,
    envelope: Envelope,
    server: string,
    nodeKey: string,
  ): void {
    const { ledger, host } = this.#o;
    const to = envelope.to!;
    const text = serializeEnvelope(envelope);
    if (text.length > this.#o.maxEnvelopeChars) {
      host.router.refuse(
        sender,
        envelope,
        CLUSTER_REASONS.tooLarge(to, text.length, this.#o.maxEnvelopeChars),
      );
      return;
    }
    let track = "";
    if (HopLedger.tracks(envelope)) {
      const added = ledger.add(sender, envelope, Date.now());
      if (added === undefined) {
        host.router.refuse(sender, envelope, CLUSTER_REASONS.tooManyInFlight(to));
        return;
      }
      track = added;
    }
    let batch = this.#outgoing.get(server);
    if (batch && (batch.items.length >= MAX_BATCH || batch.chars + text.length > BATCH_CHARS)) {
      this.#flush(server, batch);
      batch = undefined;
    }
    if (!batch) {
      this.#outgoing.set(server, batch = { items: [], chars: 0 });
    }
    batch.items.push({ node: nodeKey, track, text });
    batch.chars += text.length;
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what was batched for other servers. */
  flush(): void {
    this.#flushing = false;
    const outgoing = [...this.#outgoing];
    this.#outgoing.clear();
    for (const [server, batch] of outgoing) this.#flush(server, batch);
  }

  #flush(server: string, batch: Batch): void {
    this.send(server, { origin: this.#o.liveness.me, hops: 0, items: batch.items }).then(
      (sent) => !sent && this.#failItems(batch.items, (to) => CLUSTER_REASONS.serverGone(to)),
      () => this.#failItems(batch.items, (to) => CLUSTER_REASONS.unreachable(to)),
    );
  }

  #failItems(items: readonly EnvelopeItem[], reason: (to: string) => Reason): void {
    for (const item of items) {
      if (item.track) this.#failTracked(item.track, reason(item.node));
    }
  }

  /** Appends an entry of envelopes to a server's inbox; false when that inbox is gone. */
  async send(
    server: string,
    entry: { origin: string; hops: number; items: readonly EnvelopeItem[] },
  ): Promise<boolean> {
    const { items } = entry;
    const id = await this.#o.link.call<string | null>([
      "XADD",
      this.#o.inboxOf(server),
      "NOMKSTREAM",
      "*",
      "t",
      "e",
      "o",
      entry.origin,
      "h",
      entry.hops,
      "n",
      JSON.stringify(items.map((item) => item.node)),
      "k",
      JSON.stringify(items.map((item) => item.track)),
      "l",
      items.map((item) => item.text.length).join(","),
      "b",
      items.length === 1 ? items[0].text : items.map((item) => item.text).join(""),
    ]);
    return id !== null;
  }

  /** The outcome of a tracked envelope arrived (code 0: written to its session). */
  settle(track: string, code: number, description: string): void {
    const pending = this.#o.ledger.take(track);
    if (!pending || pending.sender.channel.state !== "established") return;
    if (code === 0) this.#o.host.router.receipt(pending.sender, pending.shell, "dispatched");
    else this.#o.host.router.refuse(pending.sender, pending.shell, { code, description });
  }

  #failTracked(track: string, reason: Reason): void {
    this.settle(track, reason.code, reason.description ?? "");
  }

  /** Reports tracked envelopes that got no outcome within the ledger's timeout. */
  expire(timeoutSeconds: number): void {
    for (const { sender, shell } of this.#o.ledger.expired(Date.now())) {
      if (sender.channel.state !== "established") continue;
      this.#o.host.router.refuse(sender, shell, CLUSTER_REASONS.noWord(shell.to!, timeoutSeconds));
    }
  }
}
