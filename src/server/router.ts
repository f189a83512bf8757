/**
 * Routing between established sessions (lime-protocol §7): stamps `from` with the sender's node
 * (refusing another identity with reason 32), hands envelopes without a destination (or addressed
 * to the server) to the server's resources, delivers `to` with an instance to that session and
 * `to` with only an identity to its sessions by presence, and answers what cannot be delivered
 * with a `failed` notification (messages) or a failure response (command requests): 42 for an
 * unknown destination, 41 for a domain this server does not serve.
 * @module
 */
import { Command, type Envelope, isCommand, isMessage, Notification } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import type { NotificationEvent } from "../generated/enums.generated.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { TransportError } from "../transport/errors.ts";
import { TAKEN } from "../transport/send_queue.ts";
import type { RemoteRouting } from "../cluster/engine.ts";
import { identityKeyOf } from "./identity_rules.ts";
import { ROUTING_REASONS, sendFailureReason } from "./routing_reasons.ts";
import {
  envelopesIn,
  envelopesOut,
  envelopesRouted,
  failuresCounter,
  guardActionsCounter,
  reasonAttributes,
} from "../observability/metrics.ts";
import { guardLog, serverLog } from "../observability/log.ts";
import { routeTraced } from "../observability/route_span.ts";
import type { ServerSession, SessionPresence } from "./server_session.ts";
import type { SessionRegistry } from "./session_registry.ts";

/** The server's answer to a request addressed to it. */
export interface ServerReply {
  /** The response to send back. */
  response: Command;
  /** Runs once the response was handed to the session. */
  afterSent?: () => void;
}

/** Handles what is addressed to the server itself. */
export interface ServerEndpoint {
  /** A command request for the server; resolves with the response to send back. */
  processCommand(session: ServerSession, request: Command): Promise<ServerReply>;
}

/** A session as identity routing sees it: its presence. */
export interface RouteCandidate {
  /** Its presence (status, routing rule, priority). */
  readonly presence: Pick<SessionPresence, "status" | "routingRule" | "priority">;
}

/**
 * The sessions of an identity that identity-addressed traffic reaches, by presence: every one
 * that is not `unavailable` and whose rule is not `instance`; only those of the highest priority
 * when any of them routes `identityByPriority` (a guest still establishing is unavailable).
 */
export function identityTargets<T extends RouteCandidate>(sessions: Iterable<T>): T[] {
  let best = -Infinity;
  let byPriority = false;
  const candidates: T[] = [];
  for (const session of sessions) {
    const presence = session.presence;
    if (presence.status === "unavailable" || presence.routingRule === "instance") continue;
    candidates.push(session);
    if (presence.routingRule === "identityByPriority") byPriority = true;
    if (presence.priority > best) best = presence.priority;
  }
  return byPriority ? candidates.filter((s) => s.presence.priority === best) : candidates;
}

function kindOf(envelope: Envelope): "message" | "notification" | "command" {
  return "content" in envelope ? "message" : "event" in envelope ? "notification" : "command";
}

/** Counts a failure response of the server's resources; logs one that a quota caused. */
function answeredFailure(sender: ServerSession, request: Command, response: Command): void {
  const reason = response.reason!;
  failuresCounter.add(1, reasonAttributes(reason.code));
  if (reason.code !== ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED) return;
  guardActionsCounter.add(1, QUOTA);
  guardLog.info("A quota refused {method} {uri} of {node}: {problem}", () => ({
    method: request.method,
    uri: String(request.uri ?? "").slice(0, 256),
    node: sender.node,
    problem: reason.description ?? "",
  }));
}

const QUOTA = Object.freeze({ "lime.action": "quota" });

/** Routes envelopes between the sessions of one server, and hands the rest to its engine. */
export class Router {
  readonly #registry: SessionRegistry;
  readonly #domain: string;
  readonly #serverIdentity: string;
  readonly #endpoint: ServerEndpoint;
  readonly #remote: RemoteRouting | undefined;
  readonly #traceAll: boolean;

  /**
   * A router for `domain`, whose own identity is `serverIdentity` (`postmaster@domain`);
   * `remote` takes what has no session here (without it, that does not exist: 42);
   * `traceRouting` says which envelopes get a `lime.route` span (see `LimeServerOptions`).
   */
  constructor(
    registry: SessionRegistry,
    domain: string,
    serverIdentity: string,
    endpoint: ServerEndpoint,
    remote?: RemoteRouting,
    traceRouting: "traced" | "all" = "traced",
  ) {
    this.#traceAll = traceRouting === "all";
    this.#registry = registry;
    this.#domain = domain.toLowerCase();
    this.#serverIdentity = serverIdentity.toLowerCase();
    this.#endpoint = endpoint;
    this.#remote = remote;
  }

  /**
   * Routes one envelope received from `sender` (counted in `lime.server.envelopes.in`; inside a
   * `lime.route` span when tracing, see `traceRouting`).
   */
  route(sender: ServerSession, envelope: Envelope): void {
    envelopesIn[kindOf(envelope)]++;
    if (!routeTraced(sender, envelope, this.#route, this.#traceAll)) this.#route(sender, envelope);
  }

  readonly #route = (sender: ServerSession, envelope: Envelope): void => {
    if (!this.#stamp(sender, envelope)) return;
    const to = envelope.to;
    if (to === undefined) {
      this.#toServer(sender, envelope);
      return;
    }
    const lower = to.toLowerCase();
    const slash = lower.indexOf("/");
    // The identity is lower[0, end), its domain lower[start, end): compared in place, not sliced
    // (strings made per routed envelope).
    const end = slash < 0 ? lower.length : slash;
    if (isSpan(lower, 0, end, this.#serverIdentity) || isSpan(lower, 0, end, this.#domain)) {
      this.#toServer(sender, envelope);
      return;
    }
    const at = lower.indexOf("@");
    if (!isSpan(lower, at < 0 || at > end ? 0 : at + 1, end, this.#domain)) {
      this.refuse(sender, envelope, ROUTING_REASONS.otherDomain(to));
      return;
    }
    if (slash >= 0 && slash < lower.length - 1) {
      envelopesRouted[kindOf(envelope)]++;
      const target = this.#registry.byNodeKey(lower);
      if (target) this.toSession(sender, envelope, target);
      else if (this.#remote) this.#remote.toNode(sender, envelope, lower);
      else this.refuse(sender, envelope, ROUTING_REASONS.notFound(to));
      return;
    }
    envelopesRouted[kindOf(envelope)]++;
    const identity = lower.slice(0, end);
    if (this.#remote) {
      this.#remote.toIdentity(sender, envelope, identity);
      return;
    }
    const targets = identityTargets(this.#registry.byIdentityKey(identity));
    if (targets.length > 0) this.deliver(sender, envelope, targets);
    else this.refuse(sender, envelope, ROUTING_REASONS.notFound(to));
  };

  /**
   * Hands an envelope to the session of its exact node: at once, or, for a guest being let in
   * (`establishing`: its store read takes a moment), once it is established; refused (42) as for
   * an unknown node if it is not.
   */
  toSession(sender: ServerSession, envelope: Envelope, target: ServerSession): void {
    if (!target.establishing) {
      this.deliver(sender, envelope, [target]);
      return;
    }
    target.settled().then((established) => {
      if (established) this.deliver(sender, envelope, [target]);
      else this.refuse(sender, envelope, ROUTING_REASONS.notFound(envelope.to!));
    }).catch((error) => serverLog.error("A held envelope could not be routed: {error}", { error }));
  }

  /**
   * Answers an envelope that cannot be delivered: a message with an id gets a `failed`
   * notification, a command request a failure response; anything else is dropped.
   */
  refuse(sender: ServerSession, envelope: Envelope, reason: Reason): void {
    if (isMessage(envelope) && envelope.id) {
      this.#notify(sender, envelope, "failed", reason); // counted there
      return;
    }
    failuresCounter.add(1, reasonAttributes(reason.code));
    if (isMessage(envelope)) return;
    if (isCommand(envelope) && envelope.status === undefined && envelope.id) {
      const response = new Command(envelope.method, undefined, {
        id: envelope.id,
        to: sender.node,
        ...(envelope.to ? { from: envelope.to } : {}),
        status: "failure",
        reason,
      });
      envelopesOut.command++;
      sender.channel.sendCommand(response).catch(() => {});
    }
  }

  /**
   * Checks and stamps `from`; false (after refusing with 32) when the sender claims someone else.
   * The rule: `from` and `pp` may name only the sender's own identity (any of its instances, or
   * none), since every session of an identity proved the same identity; `from` is then replaced
   * by the sender's exact node, and `pp` is passed on as written.
   */
  #stamp(sender: ServerSession, envelope: Envelope): boolean {
    if (!this.#mayClaim(sender, envelope, envelope.from)) return false;
    if (!this.#mayClaim(sender, envelope, envelope.pp)) return false;
    envelope.from = sender.node;
    return true;
  }

  /** Whether `sender` may write `claimed` as `from` or `pp` (refused with 32 when not). */
  #mayClaim(sender: ServerSession, envelope: Envelope, claimed: string | undefined): boolean {
    if (claimed === undefined || claimed === sender.node) return true;
    if (identityKeyOf(claimed) === sender.identityKey) return true;
    this.refuse(sender, envelope, ROUTING_REASONS.unauthorizedSender(claimed));
    return false;
  }

  /**
   * Hands an envelope to local sessions, with the receipts its sender asked for (`accepted` once,
   * unless `accepted` is false: it was sent already; then `dispatched` or `failed` per target).
   */
  deliver(
    sender: ServerSession,
    envelope: Envelope,
    targets: readonly ServerSession[],
    accepted = true,
  ): void {
    const message = isMessage(envelope) && envelope.id ? envelope : undefined;
    if (message && accepted && sender.receiptEvents.has("accepted")) {
      this.#notify(sender, message, "accepted");
    }
    envelopesOut[kindOf(envelope)] += targets.length;
    for (const target of targets) {
      const sent = isMessage(envelope)
        ? target.channel.sendMessage(envelope)
        : isCommand(envelope)
        ? target.channel.sendCommand(envelope)
        : target.channel.sendNotification(envelope as Notification);
      // Taken at once by the only target (the common case): nothing to wait for, no reactions to
      // allocate. With several targets the receipts keep the order of their sends' outcomes.
      if (sent === TAKEN && targets.length === 1) {
        if (message) this.#handedOver(sender, message, target);
        continue;
      }
      if (!message) {
        sent.catch(() => {});
        continue;
      }
      sent.then(
        () => this.#handedOver(sender, message, target),
        (error) => this.#notify(sender, message, "failed", sendFailureReason(error, envelope.to!)),
      );
    }
  }

  /** A message with an id was handed to `target`'s transport: `dispatched`, if asked for. */
  #handedOver(sender: ServerSession, message: Envelope, target: ServerSession): void {
    target.handedOver(sender, message);
    if (sender.receiptEvents.has("dispatched")) this.#notify(sender, message, "dispatched");
  }

  /**
   * `session` was closed as a slow reader: what it was handed and cannot be known to have read
   * (see `ServerSession.handedOver`) is reported `failed` (51) to its senders.
   */
  reportUnread(session: ServerSession): void {
    for (const unread of session.takeUnread()) {
      const sender = unread.sender;
      if (sender.channel.state !== "established") continue;
      this.#notify(sender, unread, "failed", {
        code: ReasonCode.DISPATCH_ERROR,
        description: `"${session.node}" stopped reading: the message may not have arrived`,
      });
    }
  }

  /**
   * Tells `sender` what became of a message with an id it sent: `event` (with `reason` for
   * `failed`), when it asked for that event (`failed` always). Other envelopes get no receipts.
   */
  receipt(
    sender: ServerSession,
    message: Envelope,
    event: NotificationEvent,
    reason?: Reason,
  ): void {
    if (!isMessage(message) || !message.id) return;
    if (event !== "failed" && !sender.receiptEvents.has(event)) return;
    this.#notify(sender, message, event, reason);
  }

  #notify(
    sender: ServerSession,
    message: { id?: string; to?: string },
    event: NotificationEvent,
    reason?: Reason,
  ): void {
    if (reason && event === "failed") failuresCounter.add(1, reasonAttributes(reason.code));
    const notification = new Notification(event, {
      id: message.id!,
      to: sender.node,
      ...(message.to ? { from: message.to } : {}),
      ...(reason ? { reason } : {}),
    });
    envelopesOut.notification++;
    sender.channel.sendNotification(notification).catch(() => {});
  }

  #toServer(sender: ServerSession, envelope: Envelope): void {
    if (isMessage(envelope)) {
      this.refuse(sender, envelope, ROUTING_REASONS.messageToServer());
      return;
    }
    if (!isCommand(envelope) || envelope.status !== undefined) return;
    this.#endpoint.processCommand(sender, envelope).then(
      ({ response, afterSent }) => {
        envelopesOut.command++;
        if (response.status === "failure" && response.reason) {
          answeredFailure(sender, envelope, response);
        }
        sender.channel.sendCommand(response).catch((error) => {
          // A response too large to send is answered with a failure, never dropped.
          if (error instanceof TransportError && error.code === "too-large") {
            this.refuse(sender, envelope, {
              code: ReasonCode.COMMAND_PROCESSING_ERROR,
              description: `The response is too large to send: ${error.message}`,
            });
          }
        });
        afterSent?.();
      },
      (error) =>
        this.refuse(sender, envelope, {
          code: ReasonCode.COMMAND_PROCESSING_ERROR,
          description: `The command could not be processed: ${(error as Error).message}`,
        }),
    );
  }
}

/** Whether `text` holds exactly `part` from `start` to `end`. */
function isSpan(text: string, start: number, end: number, part: string): boolean {
  return end - start === part.length && text.startsWith(part, start);
}
