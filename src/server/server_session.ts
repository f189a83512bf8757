/**
 * One established client session as the server sees it: its channel, node, role, presence and
 * receipt preferences.
 * @module
 */
import type { ServerChannel } from "../channel/server_channel.ts";
import type {
  AuthenticationScheme,
  DomainRole,
  NotificationEvent,
} from "../generated/enums.generated.ts";
import type { PresenceRoutingRule, PresenceStatus } from "../generated/types.generated.ts";
import type { Envelope } from "../envelope.ts";
import { Node } from "../node.ts";
import { type UnreadMessage, UnreadRecord } from "./unread_record.ts";

export type { UnreadMessage } from "./unread_record.ts";

/** Messages with ids kept as possibly unread beyond what is still queued (see `handedOver`). */
export const UNREAD_WINDOW = 4096;

/**
 * Bytes that can sit between the server's socket and the peer's reads (kernel send and receive
 * buffers, generously): what was sent longer ago than this plus what is still queued was read.
 */
export const IN_FLIGHT_SLACK = 16 * 1024 * 1024;

/** Presence of a session (lime-protocol §7). */
export interface SessionPresence {
  /** Availability. */
  status: PresenceStatus;
  /** How identity-addressed envelopes reach this session. */
  routingRule: PresenceRoutingRule;
  /** Priority for `identityByPriority`. */
  priority: number;
  /** Status message. */
  message?: string;
  /** Whether the session set its presence (before that it counts as available, see README). */
  explicit: boolean;
}

/** Every session's presence until it sets one (shared and frozen: it is replaced, never changed). */
const DEFAULT_PRESENCE: SessionPresence = Object.freeze({
  status: "available",
  routingRule: "identity",
  priority: 0,
  explicit: false,
});

/**
 * A guest's presence from its registration until it is told `established` (while the store is
 * read, see `connection_serving.ts`): unavailable, so that identity routing here passes it by. A
 * cluster's directory gets the default presence at once ({@link ServerSession.publishedPresence}):
 * what other servers forward to it meanwhile waits for its outcome (`inbox_delivery.ts`), which
 * costs no second directory write per guest login.
 */
const ESTABLISHING_PRESENCE: SessionPresence = Object.freeze({
  status: "unavailable",
  routingRule: "identity",
  priority: 0,
  explicit: false,
});

/** What charges the bytes the server sends in answer to a session (its gate, or its shaper). */
export interface AnswerCharges {
  /** Charges `bytes` sent in answer. */
  chargeAnswer(bytes: number): unknown;
}

/** Every session's receipt events until it sets its own (shared: it is replaced, never changed). */
const ONLY_FAILED: ReadonlySet<NotificationEvent> = new Set(["failed"]);

/** A registered session. */
export class ServerSession {
  /** The channel. */
  readonly channel: ServerChannel;
  /** The assigned node (`name@domain/instance`). */
  readonly node: string;
  /** Lower-cased `name@domain`. */
  readonly identityKey: string;
  /** Lower-cased node. */
  readonly nodeKey: string;
  /** The authentication's conclusion. */
  readonly domainRole: DomainRole;
  /** The scheme it authenticated with. */
  readonly scheme: AuthenticationScheme;
  /** Whether the session authenticated as a guest. */
  readonly guest: boolean;
  /** The source address its per-address limits count under (see `source_address.ts`). */
  readonly source: string | undefined;
  /** Whether an account operation (which may hash a password) is in progress. */
  accountBusy = false;
  /** Milliseconds its reading was paused by the rate limits so far. */
  shapedMs = 0;
  /**
   * What the bytes the server sends in answer to this session are charged to (its rate limits;
   * set by its gate). An object, not a closure: a server keeps one per session.
   */
  answerCharges: AnswerCharges | undefined;
  // Made at the first message with an id handed over (most sessions of a big server get none).
  #unread: UnreadRecord | undefined;
  // Made only when something waits for an establishing session (see `settled`).
  #settled: PromiseWithResolvers<boolean> | undefined;
  #trimAt = 2 * UNREAD_WINDOW;
  /** Presence. */
  presence: SessionPresence;
  /** Events the server notifies this session of for the messages it sends. */
  receiptEvents: ReadonlySet<NotificationEvent> = ONLY_FAILED;

  /** Charges bytes the server sends in answer to this session to its rate limits. */
  chargeAnswer(bytes: number): void {
    this.answerCharges?.chargeAnswer(bytes);
  }

  /** Creates the record of an established session. */
  constructor(
    channel: ServerChannel,
    node: string,
    domainRole: DomainRole,
    scheme: AuthenticationScheme,
    source?: string,
  ) {
    this.channel = channel;
    this.node = node;
    const parsed = Node.parse(node);
    this.identityKey = parsed.identity.toString().toLowerCase();
    this.nodeKey = node.toLowerCase();
    this.domainRole = domainRole;
    this.scheme = scheme;
    this.guest = scheme === "guest";
    this.source = source;
    this.presence = this.guest ? ESTABLISHING_PRESENCE : DEFAULT_PRESENCE;
  }

  /**
   * Registered, but not told `established` yet (a guest while the store is read): identity
   * routing here passes it by (its presence is unavailable), and what is sent to its node waits
   * for the outcome ({@link settled}; `Router.toSession`): delivered once it is established,
   * failed (42) as for an unknown node if it is refused.
   */
  get establishing(): boolean {
    // `guest` first: an HTTP edge session's presence is a getter that looks at its identity.
    return this.guest && this.presence === ESTABLISHING_PRESENCE;
  }

  /** The presence a cluster's directory gets: the default one while {@link establishing}. */
  get publishedPresence(): SessionPresence {
    const presence = this.presence;
    return presence === ESTABLISHING_PRESENCE ? DEFAULT_PRESENCE : presence;
  }

  /**
   * Resolves once an {@link establishing} session is established (true) or unregistered
   * (false); at once (true) for any other.
   */
  settled(): Promise<boolean> {
    if (!this.establishing) return Promise.resolve(true);
    return (this.#settled ??= Promise.withResolvers()).promise;
  }

  /** About to be told `established`: from now on a target like any session. */
  markEstablished(): void {
    if (this.presence === ESTABLISHING_PRESENCE) this.presence = DEFAULT_PRESENCE;
    this.#settled?.resolve(true);
    this.#settled = undefined;
  }

  /** Unregistered: what waited for its establishment ({@link settled}) learns it will not be. */
  markGone(): void {
    this.#settled?.resolve(false);
    this.#settled = undefined;
  }

  /** The identity string (`name@domain`). */
  get identity(): string {
    return Node.parse(this.node).identity.toString();
  }

  /**
   * Records a message with an id handed to this session's transport. The server cannot see what
   * the peer read, so it keeps the last {@link UNREAD_WINDOW} of them, and all of them that may
   * still be on their way: sent less than {@link IN_FLIGHT_SLACK} bytes before what its own
   * buffers for the session still hold. If the session is closed as a slow reader, those are the
   * messages whose senders are told they may not have arrived. (A peer that reads just fast
   * enough to keep the buffers from emptying no longer makes the server keep everything.)
   */
  handedOver(sender: ServerSession, message: Envelope): void {
    const unread = this.#unread ??= new UnreadRecord();
    const transport = this.channel.transport;
    const sent = transport.sentBytes ?? 0;
    unread.push(sender, message.id!, message.to, this.node, sent);
    if (unread.length < this.#trimAt) return;
    const queued = transport.queuedBytes ?? 0;
    const read = sent - queued - IN_FLIGHT_SLACK;
    const most = unread.length - UNREAD_WINDOW;
    let drop = 0;
    if (!queued) drop = most;
    else while (drop < most && unread.markAt(drop) <= read) drop++;
    if (drop > 0) unread.dropOldest(drop);
    this.#trimAt = Math.max(2 * UNREAD_WINDOW, unread.length + UNREAD_WINDOW / 4);
  }

  /** Takes the record of {@link handedOver} messages (the session ended as a slow reader). */
  takeUnread(): UnreadMessage[] {
    return this.#unread?.take(this.node) ?? [];
  }

  /** Whether identity-addressed envelopes may reach this session. */
  get receivesIdentityTraffic(): boolean {
    return this.presence.status !== "unavailable" && this.presence.routingRule !== "instance";
  }
}
