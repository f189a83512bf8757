/**
 * An HTTP identity's session: a real {@link ServerChannel} and {@link ServerSession} of node
 * `name@domain/http` (the instance is an option), registered like any session, so what the
 * HTTP API posts is routed exactly as a session's envelopes (the router stamps `from`, checks
 * `from`/`pp`, answers with receipts and failures) and what is routed to it comes back here:
 * command responses to the HTTP request waiting for them, messages and notifications to the
 * identity's webhook when it has one.
 *
 * Its presence decides what identity-addressed traffic it gets: none without a webhook (only
 * envelopes addressed to its node reach it); with a webhook, everything while no other session
 * of the identity is available, or always when the webhook asks so. A `set /presence` through
 * the HTTP API changes the presence underneath these rules.
 * @module
 */
import { ServerChannel } from "../channel/server_channel.ts";
import { Command, type Envelope, isCommand } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import type { ServerSession, SessionPresence } from "../server/server_session.ts";
import { TransportError } from "../transport/errors.ts";
import type { EdgeHost } from "./edge_host.ts";
import { EdgeTransport } from "./edge_transport.ts";

/** An identity's webhook as its session sees it (`webhooks/`). */
export interface WebhookTarget {
  /** Deliver identity-addressed traffic even while the identity has other available sessions. */
  readonly always: boolean;
  /**
   * Takes one message or notification for delivery: resolves once taken (or, for a message with
   * an id, stays pending: the webhook outbox sends its receipts itself), rejects when refused.
   */
  take(envelope: Envelope): Promise<void>;
}

const UNAVAILABLE: SessionPresence = Object.freeze({
  status: "unavailable",
  routingRule: "instance",
  priority: 0,
  explicit: true,
}) as SessionPresence;

const NO_COMMANDS: Reason = {
  code: ReasonCode.COMMAND_RESOURCE_NOT_SUPPORTED,
  description: "This identity is served over HTTP: it takes messages and notifications, " +
    "not commands",
};

/** One HTTP identity's registered session. */
export class EdgeSession {
  /** The registered session (what the router and the resources see). */
  readonly session: ServerSession;
  /** Its channel. */
  readonly channel: ServerChannel;
  /** HTTP requests using it now. */
  inFlight = 0;
  /** When a request last used it (the server's clock). */
  lastUsed: number;
  /** The identity's webhook, when it has one. */
  webhook: WebhookTarget | undefined;
  readonly #host: EdgeHost;
  readonly #waiting = new Map<string, (response: Command | undefined) => void>();

  private constructor(host: EdgeHost, session: ServerSession) {
    this.#host = host;
    this.session = session;
    this.channel = session.channel;
    this.lastUsed = host.clock.now();
    let presence = session.presence;
    // The rules above, read by the router on every identity-addressed envelope.
    Object.defineProperty(session, "presence", {
      configurable: true,
      enumerable: true,
      get: () => this.#effectivePresence(presence),
      set: (value: SessionPresence) => presence = value,
    });
  }

  /**
   * Opens, establishes and registers the session of `identity` on `instance`; resolves with it,
   * or with the reason it may not be registered (the identity has its most sessions, say).
   */
  static async open(
    host: EdgeHost,
    identity: string,
    instance: string,
    scheme: "key" | "plain",
  ): Promise<EdgeSession | Reason> {
    const node = `${identity}/${instance}`;
    // What the server sends before the session is made (nothing, in practice) goes nowhere.
    const made: { edge?: EdgeSession } = {};
    const transport = new EdgeTransport(
      node,
      (envelope) => made.edge ? made.edge.#take(envelope) : Promise.resolve(),
      { maxEnvelopeSize: host.maxEnvelopeSize },
    );
    const channel = new ServerChannel(transport, {
      serverNode: host.serverNode,
      establishWithoutAuthentication: true,
      autoReplyPings: false,
      clock: host.clock,
    });
    transport.start(node);
    await channel.receiveNewSession();
    await channel.sendEstablishedSession(node);
    const registered = await host.register(channel, node, scheme);
    if (!("node" in registered)) {
      await channel.close();
      return registered;
    }
    const edge = made.edge = new EdgeSession(host, registered);
    channel.closed.then(() => edge.#endWaits());
    return edge;
  }

  /** Whether the session still serves (not replaced, not closed). */
  get open(): boolean {
    return this.channel.isEstablished;
  }

  /**
   * Waits for the response to the request `id` (resolves undefined after `timeout` ms, or when
   * the session ends); false when a request with that id already waits.
   */
  waitForResponse(id: string, timeout: number): Promise<Command | undefined> | false {
    if (this.#waiting.has(id)) return false;
    const clock = this.#host.clock;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => done(undefined), timeout);
      const done = (response: Command | undefined) => {
        clock.clearTimeout(timer);
        if (this.#waiting.get(id) === done) this.#waiting.delete(id);
        resolve(response);
      };
      this.#waiting.set(id, done);
    });
  }

  /** Unregisters and closes the session. */
  async close(): Promise<void> {
    this.#host.unregister(this.session);
    await this.channel.close();
  }

  #endWaits(): void {
    this.#host.unregister(this.session);
    for (const done of [...this.#waiting.values()]) done(undefined);
  }

  #effectivePresence(base: SessionPresence): SessionPresence {
    const webhook = this.webhook;
    if (!webhook) return UNAVAILABLE;
    if (webhook.always) return base;
    for (const other of this.#host.registry.byIdentityKey(this.session.identityKey)) {
      if (other !== this.session && other.receivesIdentityTraffic) return UNAVAILABLE;
    }
    return base;
  }

  /** What the server sends this session. */
  #take(envelope: Envelope): Promise<void> {
    if (isCommand(envelope)) {
      if (envelope.status !== undefined) {
        if (envelope.id) this.#waiting.get(envelope.id)?.(envelope);
      } else if (envelope.id && envelope.from) {
        // Answered like a session that does not support it; routed from here, after this turn.
        const refusal = new Command(envelope.method, undefined, {
          id: envelope.id,
          to: envelope.from,
          status: "failure",
          reason: NO_COMMANDS,
        });
        queueMicrotask(() => this.#host.router.route(this.session, refusal));
      }
      return Promise.resolve();
    }
    if (this.webhook) return this.webhook.take(envelope);
    if ("content" in envelope) {
      return Promise.reject(
        new TransportError("closed", `${this.session.node} has no webhook to receive messages`),
      );
    }
    return Promise.resolve();
  }
}
