/**
 * One established client session as the server sees it: its channel, node, role, presence and
 * receipt preferences.
 * @module
 */
import type { ServerChannel } from "../channel/server_channel.ts";
import type { DomainRole, NotificationEvent } from "../generated/enums.generated.ts";
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
  /** Whether the session authenticated as a guest. */
  readonly guest: boolean;
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
  constructor(channel: ServerChannel, node: string, domainRole: DomainRole, guest: boolean) {
    this.channel = channel;
    this.node = node;
    const parsed = Node.parse(node);
    this.identityKey = parsed.identity.toString().toLowerCase();
    this.nodeKey = node.toLowerCase();
    this.domainRole = domainRole;
    this.guest = guest;
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
