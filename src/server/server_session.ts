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
import { Node } from "../node.ts";

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
  /** Presence. */
  presence: SessionPresence = {
    status: "available",
    routingRule: "identity",
    priority: 0,
    explicit: false,
  };
  /** Events the server notifies this session of for the messages it sends. */
  receiptEvents: ReadonlySet<NotificationEvent> = new Set(["failed"]);

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
  }

  /** The identity string (`name@domain`). */
  get identity(): string {
    return Node.parse(this.node).identity.toString();
  }

  /** Whether identity-addressed envelopes may reach this session. */
  get receivesIdentityTraffic(): boolean {
    return this.presence.status !== "unavailable" && this.presence.routingRule !== "instance";
  }
}
