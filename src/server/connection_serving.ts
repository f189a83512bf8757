/**
 * Serving one connection of a {@link LimeServer}: admission (the session limits), establishment
 * (authentication, registration), the session's gate to the router, and its end; each step
 * recorded (`SessionEvents`: metrics, the establishment span, the log lines).
 * @module
 */
import type { Channel, ChannelCloseInfo } from "../channel/channel.ts";
import type { ChannelModule } from "../channel/channel_module.ts";
import { ServerChannel } from "../channel/server_channel.ts";
import type { EstablishmentResult, ServerAuthenticator } from "../channel/server_establishment.ts";
import type { Clock } from "../clock.ts";
import type { Reason } from "../errors.ts";
import type { SessionState } from "../generated/enums.generated.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { isFinalSessionState } from "../session_machine.ts";
import { guardLog } from "../observability/log.ts";
import { guardActionsCounter } from "../observability/metrics.ts";
import { SessionEvents, type TransportLabel } from "../observability/session_events.ts";
import { TransportError } from "../transport/errors.ts";
import type { Transport } from "../transport/transport.ts";
import type { Admission, AdmissionTicket } from "./guard/admission.ts";
import type { TrafficShaping } from "./guard/traffic_shaper.ts";
import type { IdentityRules } from "./identity_rules.ts";
import type { Router } from "./router.ts";
import { guestRefusal, offeredSchemes } from "./server_authenticator.ts";
import { type LimeServerOptions, SERVER_DEFAULTS } from "./server_options.ts";
import type { ServerSession } from "./server_session.ts";
import type { SessionRegistration } from "./session_registration.ts";
import { openSessionGate, type SessionGate } from "./session_gate.ts";
import { endpointHost, sourceKey } from "./source_address.ts";

/** What serving a connection uses of its server. */
export interface ServingContext {
  /** The server's options. */
  readonly options: LimeServerOptions;
  /** `postmaster@<domain>/<instance>`. */
  readonly serverNode: string;
  /** The server channels not closed yet. */
  readonly channels: Set<ServerChannel>;
  /** The session and establishment limits. */
  readonly admission: Admission;
  /** Registration of established sessions. */
  readonly registration: SessionRegistration;
  /** Who may be whom. */
  readonly rules: IdentityRules;
  /** The server's authenticator. */
  readonly authenticator: ServerAuthenticator;
  /** The rate limits. */
  readonly shaping: TrafficShaping;
  /** The router. */
  readonly router: Router;
  /** Whether the server is shutting down. */
  readonly stopping: boolean;
  /** The server's clock (its timers share one system timer, see `heap_clock.ts`). */
  readonly clock: Clock;
}

/** The per-address key of a connection (see `source_address.ts`). */
function sourceOfTransport(transport: Transport): string | undefined {
  return sourceKey(endpointHost(transport.remoteEndpoint));
}

/** What a connection gets while the server shuts down. */
export const SHUTDOWN_REASON: Reason = {
  code: ReasonCode.SESSION_ERROR,
  description: "The server is being shut down",
};

const NOT_REGISTERED: Reason = {
  code: ReasonCode.SESSION_ERROR,
  description: "The session could not be registered",
};

/** Who ended a session, for the log: the client, the server (and why), or an error. */
function endedBy(
  end: { state: string; error?: Error },
  closedBy: "local" | "remote" | "error",
  stopping: boolean,
  clientFinishing: boolean,
): string {
  if (end.state === "finished") {
    // `finished` answers the client's `finishing`, or is the server's own (idle, API, shutdown).
    return clientFinishing ? "the client" : stopping ? "the server (shutting down)" : "the server";
  }
  if (end.state === "failed") return "the server";
  if (closedBy === "remote") return "the client (connection closed)";
  return end.error ? "an error" : "the server";
}

/**
 * What the server is told once a connection is done with: its session ended and was logged, or it
 * was refused, or serving it failed (`error`: a failure after establishment, to log).
 */
export type Served = (error?: unknown) => void;

/**
 * Serves one connection (any transport, already open). The promise settles once the session is
 * established (or refused; it rejects on an unexpected error), `served` is called once when the
 * connection is done with. An established session is then held by its channel only (this
 * connection's state is one of its modules), not by a suspended async function or reactions on
 * `closed` (whose frames, promises and closures would stay for the session's life).
 */
export async function serveConnection(
  context: ServingContext,
  transport: Transport,
  label: TransportLabel,
  served: Served,
): Promise<void> {
  let handedOver = false;
  try {
    handedOver = await new ConnectionServing(context, transport, label, served).establish();
  } catch (error) {
    // A fault of the server's own: the peer is not left connected to a channel nobody serves.
    transport.close().catch(() => {});
    throw error;
  } finally {
    if (!handedOver) served();
  }
}

/**
 * One connection being served: its channel, its admission ticket, its gate once established, and
 * what the end of its channel does (as the channel's last module: one object, told at the end).
 */
class ConnectionServing implements ChannelModule {
  readonly #context: ServingContext;
  readonly #transport: Transport;
  readonly #events: SessionEvents;
  readonly #served: Served;
  readonly #channel: ServerChannel;
  readonly #ticket: AdmissionTicket | Reason;
  // The per-address key it was admitted under, and its limits and registration count under.
  readonly #source: string | undefined;
  #gate: SessionGate | undefined;
  // Set once the session is registered (before `established`).
  #registered: ServerSession | undefined;
  // Set once the session is served: the end of the channel ends the serving from then on.
  #serving: ServerSession | undefined;
  // The client asked to end the session (`finishing`): its `finished` is the client's doing.
  #clientFinishing = false;
  #closedWith: ChannelCloseInfo | undefined;

  constructor(
    context: ServingContext,
    transport: Transport,
    label: TransportLabel,
    served: Served,
  ) {
    this.#context = context;
    this.#transport = transport;
    this.#served = served;
    const channelOptions = context.options.channel;
    this.#channel = new ServerChannel(transport, {
      autoReplyPings: false,
      remotePingInterval: SERVER_DEFAULTS.remotePingInterval,
      remoteIdleTimeout: SERVER_DEFAULTS.remoteIdleTimeout,
      ...channelOptions,
      modules: [...channelOptions?.modules ?? [], this],
      clock: context.clock,
      serverNode: context.serverNode,
    });
    this.#events = new SessionEvents(transport, label);
    this.#source = sourceOfTransport(transport);
    this.#ticket = context.stopping ? SHUTDOWN_REASON : context.admission.admit(this.#source);
    // A transport that cannot be read ends its channel at once, while it is being made.
    if (this.#closedWith) this.#ended(this.#closedWith);
    else context.channels.add(this.#channel);
  }

  /**
   * The session reached its end (`finished` or `failed`, from either side): it stops being routed
   * to and counted against its identity now, not once the transport has closed (a WebSocket close
   * handshake with a silent peer takes up to `closeTimeout`).
   */
  onStateChanged(state: SessionState): void {
    // As `established` is sent: a guest being let in becomes a target (see `guestRefusal`).
    if (state === "established") this.#registered?.markEstablished();
    if (state === "finishing") this.#clientFinishing = true;
    if (this.#serving && isFinalSessionState(state)) {
      this.#context.registration.unregister(this.#serving);
    }
  }

  /**
   * The channel ended: the slot is given back and, once the session is being served, its gate
   * closed, its end logged and `served` called (before that, `serveUntilEnd` does it, after what
   * the session sent meanwhile went through the gate).
   */
  onClosed(_channel: Channel, end: ChannelCloseInfo): void {
    this.#closedWith = end;
    if (this.#ticket !== undefined) this.#ended(end); // else the constructor does it
  }

  #ended(end: ChannelCloseInfo): void {
    this.#context.channels.delete(this.#channel);
    if ("release" in this.#ticket) this.#ticket.release();
    if (this.#serving) this.#endServing(this.#serving, end);
  }

  /** Establishes the session; true once the end of its channel took over `served`. */
  async establish(): Promise<boolean> {
    const context = this.#context;
    const channel = this.#channel;
    const ticket = this.#ticket;
    const options = context.options;
    const events = this.#events;
    if (!("release" in ticket)) {
      // At once, without waiting for `new`: a refused peer must not hold a slot.
      events.refused(
        ticket,
        context.stopping ? "shutting down" : `limit hit: ${ticket.description}`,
      );
      await channel.sendFailedSession(ticket).catch(() => {});
      return false;
    }
    const source = this.#source;
    const perIdentity = options.maxSessionsPerIdentity ?? SERVER_DEFAULTS.maxSessionsPerIdentity;
    let session: ServerSession | undefined;
    // A refusal decided after registration (a guest's identity found owned), with its cause.
    let refusal: { reason: Reason; cause: string } | undefined;
    let result: EstablishmentResult;
    try {
      result = await channel.establishSession({
        firstEnvelopeTimeout: options.firstEnvelopeTimeout ??
          SERVER_DEFAULTS.firstEnvelopeTimeout,
        schemeOptions: (channel) => offeredSchemes(options, channel.transport),
        assign: (candidate, { scheme }) => context.rules.assign(candidate, scheme),
        register: (node, { domainRole, scheme }) => {
          const registered = context.registration.register(
            channel,
            node,
            domainRole,
            scheme,
            source,
            perIdentity,
          );
          const settle = (outcome: ServerSession | Reason) => {
            if (!("node" in outcome)) return outcome;
            session = this.#registered = outcome;
            if (!outcome.guest) return node;
            return guestRefusal(options.store, outcome.identity).then((refused) => {
              // Ended meanwhile (evicted, replaced, a violation, the server stopping): the store's
              // answer no longer matters; the log says what the client got.
              if (isFinalSessionState(channel.state)) {
                refused = {
                  reason: channel.failedWith ?? this.#closedWith?.reason ?? NOT_REGISTERED,
                  cause: "ended while the store was read",
                };
              }
              if (!refused) return node; // a target once `established` is sent (onStateChanged)
              refusal = refused;
              return refused.reason;
            });
          };
          return registered instanceof Promise ? registered.then(settle) : settle(registered);
        },
        authenticator: context.authenticator,
      });
    } finally {
      ticket.established();
    }
    if (!result.established || !session) {
      if (session) context.registration.unregister(session);
      if (!result.established) {
        events.refused(
          result.reason,
          result.reason === refusal?.reason ? refusal.cause : result.cause,
        );
      } else {
        events.refused(channel.violation ?? NOT_REGISTERED, "established but not registered");
      }
      return false;
    }
    const established = session;
    let gate: SessionGate | undefined;
    try {
      events.established(established.node, established.scheme);
      // The gate first: it charges what the session sends from now on (and answers invalid
      // envelopes only as its buckets allow); then the handlers take what is valid (also when
      // the channel ended meanwhile: what the session sent before its end is delivered).
      gate = openSessionGate(established, context.shaping, context.router, context.clock);
      this.#gate = gate;
      const route = gate.route;
      channel.onMessage(route);
      channel.onNotification(route);
      channel.onCommand(route);
    } catch (error) {
      gate?.close();
      // A fault of the server's own: the session does not stay registered (routed to, counted
      // against its identity, its node taken) with nobody serving it.
      context.registration.unregister(established);
      throw error;
    }
    // From now on the end of the channel ends the serving (at once if it ended meanwhile).
    this.#serving = established;
    if (this.#closedWith) this.#endServing(established, this.#closedWith);
    // Ended (finished or failed) since `established`: not routed to from now on.
    else if (isFinalSessionState(channel.state)) context.registration.unregister(established);
    return true;
  }

  /** What the end of a served session does: closes its gate, logs it (see `sessionEnded`), then `served`. */
  #endServing(session: ServerSession, end: ChannelCloseInfo): void {
    this.#gate!.close();
    const served = this.#served;
    const clientFinishing = this.#clientFinishing;
    sessionEnded(this.#context, this.#transport, session, this.#events, end, clientFinishing).then(
      () => served(),
      served,
    );
  }
}

/** The end of an established session: unregisters it, logs how it ended. */
async function sessionEnded(
  context: ServingContext,
  transport: Transport,
  established: ServerSession,
  events: SessionEvents,
  end: ChannelCloseInfo,
  clientFinishing: boolean,
): Promise<void> {
  context.registration.unregister(established);
  const closedBy = await transport.closed.then((info) => info.by, () => "error" as const);
  events.ended(established.node, end, endedBy(end, closedBy, context.stopping, clientFinishing));
  if (end.error instanceof TransportError && end.error.code === "slow-reader") {
    guardActionsCounter.add(1, { "lime.action": "slow-reader" });
    guardLog.warning("Closed {node} ({remote}) as a slow reader: {problem}", () => ({
      node: established.node,
      remote: transport.remoteEndpoint,
      problem: end.error?.message,
    }));
    context.router.reportUnread(established);
  }
}
