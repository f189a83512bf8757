/**
 * The LIME server: TCP and WebSocket listeners (or any transport handed to {@link accept}, or
 * requests handed to {@link handler} inside a `Deno.serve` app), a server channel per connection,
 * authentication against the account store, the node registry, routing and the server's own
 * resources.
 * @module
 */
import type { ServerChannel as ServerChannelType } from "../channel/server_channel.ts";
import { ServerChannel } from "../channel/server_channel.ts";
import type { EstablishmentResult, ServerAuthenticator } from "../channel/server_establishment.ts";
import type { Command } from "../envelope.ts";
import { systemClock } from "../clock.ts";
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { CHANNEL_DEFAULTS } from "../channel/channel_options.ts";
import { TcpTransportListener } from "../transport/tcp_listener.ts";
import type { Transport } from "../transport/transport.ts";
import { TransportError } from "../transport/errors.ts";
import { WebSocketTransportListener } from "../transport/websocket_server.ts";
import { DEFAULT_PBKDF2_ITERATIONS } from "./password_hash.ts";
import { accountResource } from "./resources/account.ts";
import { contactsResource } from "./resources/contacts.ts";
import { pingResource } from "./resources/ping.ts";
import { presenceResource } from "./resources/presence.ts";
import { receiptResource } from "./resources/receipt.ts";
import { ServerResources } from "./resources/server_resources.ts";
import { Admission, admissionLimits } from "./guard/admission.ts";
import { KeyedWindowCounter } from "./guard/keyed_counter.ts";
import { KeyedSlots, KeyedSlotsBusy } from "./guard/keyed_slots.ts";
import { failureResponse } from "./resources/resource.ts";
import { PasswordWork } from "./guard/password_work.ts";
import type { SignInThrottle } from "./guard/login_throttle.ts";
import { IDENTITY_REASONS, IdentityRules } from "./identity_rules.ts";
import { GuestContacts } from "./resources/guest_contacts.ts";
import { DEFAULT_QUOTAS } from "./resources/quotas.ts";
import { TrafficShaping } from "./guard/traffic_shaper.ts";
import { openSessionGate } from "./session_gate.ts";
import { Router, type ServerReply } from "./router.ts";
import { offeredSchemes, serverAuthenticator } from "./server_authenticator.ts";
import { endpointHost, sourceKey } from "./source_address.ts";
import { type LimeServerOptions, SERVER_DEFAULTS } from "./server_options.ts";
import type { ServerSession } from "./server_session.ts";
import { SessionRegistry } from "./session_registry.ts";
import { SessionRegistration } from "./session_registration.ts";
import type { ClusterEngine } from "../cluster/engine.ts";
import { MemoryEngine } from "../cluster/memory_engine.ts";
import { KvAccountStore } from "./account_store.ts";
import { HttpEdge } from "../http/http_edge.ts";
import type { EdgeHost } from "../http/edge_host.ts";
import { HttpListener } from "../http/http_listener.ts";
import { DEFAULT_MAX_ENVELOPE_SIZE, DEFAULT_MAX_MEMBERS } from "../transport/transport.ts";

const SHUTDOWN_REASON = {
  code: ReasonCode.SESSION_ERROR,
  description: "The server is being shut down",
};

/** The per-address key of a connection (see `source_address.ts`). */
function sourceOfTransport(transport: Transport): string | undefined {
  return sourceKey(endpointHost(transport.remoteEndpoint));
}

/** A LIME server. */
export class LimeServer implements AsyncDisposable {
  /** The served domain. */
  readonly domain: string;
  /** `postmaster@<domain>/<instance>`. */
  readonly serverNode: string;
  /** The established sessions. */
  readonly registry: SessionRegistry = new SessionRegistry();
  readonly #options: LimeServerOptions;
  readonly #router: Router;
  readonly #rules: IdentityRules;
  readonly #engine: ClusterEngine;
  readonly #registration: SessionRegistration;
  readonly #admission: Admission;
  readonly #authenticator: ServerAuthenticator;
  readonly #guestContacts = new GuestContacts();
  readonly #shaping: TrafficShaping;
  readonly #channels = new Set<ServerChannelType>();
  readonly #serving = new Set<Promise<void>>();
  readonly #handling = new Set<Promise<ServerReply>>();
  #tcp: TcpTransportListener | undefined;
  #websocket: WebSocketTransportListener | undefined;
  #embedded: WebSocketTransportListener | undefined;
  #stopping = false;
  /** The HTTP API and webhooks (`src/http/`), unless `http: false`. */
  readonly #edge: HttpEdge | undefined;
  #http: HttpListener | undefined;

  /** Creates a server; nothing listens until {@link start}. */
  constructor(options: LimeServerOptions) {
    if (!options?.store) throw new TypeError("A LimeServer needs options.store (an AccountStore)");
    this.#options = options;
    this.domain = (options.domain ?? SERVER_DEFAULTS.domain).toLowerCase();
    this.serverNode = `postmaster@${this.domain}/${options.instance ?? SERVER_DEFAULTS.instance}`;
    this.#rules = new IdentityRules(this.domain, options.reservedNames);
    const engine = this.#engine = options.engine ?? new MemoryEngine();
    this.#registration = new SessionRegistration(
      this.registry,
      this.#rules,
      engine,
      this.#guestContacts,
    );
    const registration = this.#registration;
    // The router exists once the constructor is done; the engine calls it only later.
    const remote = engine.attach({
      domain: this.domain,
      registry: this.registry,
      rules: this.#rules,
      get router() {
        return router;
      },
      evict: (session, reason) => registration.evict(session, reason),
      ownerArrived: (identityKey) => registration.ownerArrived(identityKey),
    });
    const clock = options.channel?.clock ?? systemClock;
    const quotas = { ...DEFAULT_QUOTAS, ...options.quotas };
    const passwordWork = new PasswordWork(options.passwordWork);
    const throttle = engine.loginThrottle(clock, options.loginThrottle);
    this.#shaping = new TrafficShaping(clock, options.rateLimit);
    this.#admission = new Admission(admissionLimits(options));
    this.#authenticator = serverAuthenticator({
      domain: this.domain,
      store: options.store,
      rules: this.#rules,
      guest: options.guest ?? true,
      plainWithoutTls: options.plainWithoutTls ?? "loopback",
      externalVerifier: options.externalVerifier,
      throttle,
      passwordWork,
      sourceOf: (channel) => sourceOfTransport(channel.transport),
    });
    const store = options.store;
    const kv = options.webhooks === false
      ? undefined
      : options.webhooks?.kv ?? (store instanceof KvAccountStore ? store.database : undefined);
    if (options.http !== false || kv) {
      this.#edge = new HttpEdge(
        this.#edgeHost(throttle, passwordWork),
        options.http ?? {},
        kv && options.webhooks !== false ? { ...options.webhooks, kv } : undefined,
      );
    }
    const webhooks = this.#edge?.webhooks;
    const resources = new ServerResources({
      ping: pingResource,
      presence: presenceResource(quotas, (session) => engine.presenceChanged(session)),
      receipt: receiptResource,
      account: accountResource(options.store, {
        iterations: options.passwordIterations ?? DEFAULT_PBKDF2_ITERATIONS,
        passwordWork,
        rules: this.#rules,
        registrations: new KeyedWindowCounter(clock, 60_000),
        quotas,
        onCreated: (identity) => {
          this.#registration.ownerArrived(identity.toLowerCase());
          engine.ownerArrived(identity.toLowerCase());
        },
      }),
      contacts: contactsResource(options.store, this.#guestContacts, quotas),
      ...(webhooks ? { webhook: webhooks.resource } : {}),
    }, this.domain);
    // Requests in the works are tracked: shutdown waits for them, the store outlives their writes.
    // Requests to the server's resources run a few at a time per source address (their answers
    // can be large); past a short line they are refused at once.
    const slots = new KeyedSlots(2, 64);
    const endpoint = {
      processCommand: (session: ServerSession, request: Command) => {
        const handling = slots.run(session.source, () => resources.processCommand(session, request))
          .catch((error): ServerReply => {
            if (!(error instanceof KeyedSlotsBusy)) throw error;
            return {
              response: failureResponse(request, session, {
                code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
                description: error.message,
              }),
            };
          });
        this.#handling.add(handling);
        handling.finally(() => this.#handling.delete(handling)).catch(() => {});
        return handling;
      },
    };
    const router = new Router(
      this.registry,
      this.domain,
      `postmaster@${this.domain}`,
      endpoint,
      remote,
    );
    this.#router = router;
  }

  /** What the HTTP edge (`src/http/`) may use of this server: see `EdgeHost`. */
  #edgeHost(throttle: SignInThrottle, passwordWork: PasswordWork): EdgeHost {
    const options = this.#options;
    const stopping = () => this.#stopping;
    const router = () => this.#router;
    const perIdentity = options.maxSessionsPerIdentity ?? SERVER_DEFAULTS.maxSessionsPerIdentity;
    return {
      domain: this.domain,
      serverNode: this.serverNode,
      store: options.store,
      registry: this.registry,
      get router() {
        return router();
      },
      rules: this.#rules,
      shaping: this.#shaping,
      throttle,
      passwordWork,
      clock: options.channel?.clock ?? systemClock,
      plainWithoutTls: options.plainWithoutTls ?? "loopback",
      trustProxy: options.trustProxy ?? false,
      trustProxyTls: options.trustProxyTls ?? false,
      maxEnvelopeSize: options.maxEnvelopeSize ?? DEFAULT_MAX_ENVELOPE_SIZE,
      maxMembers: options.maxMembers ?? DEFAULT_MAX_MEMBERS,
      maxSessionsPerIdentity: perIdentity,
      get stopping() {
        return stopping();
      },
      register: (channel, node, scheme, source) =>
        this.#registration.register(channel, node, "member", scheme, source, perIdentity),
      unregister: (session) => this.#registration.unregister(session),
    };
  }

  /**
   * Starts the webhooks (their sessions, deliveries left by a previous run, the KV queue
   * listener) and the configured listeners, after the engine (a cluster engine connects and
   * announces the server). An app serving {@link handler} (Deno Deploy) calls it at its top level
   * too, so the queue listener is there when Deploy wakes the app for it (and a cluster engine
   * connects).
   */
  async start(): Promise<void> {
    await this.#engine.start();
    await this.#edge?.start();
    const { tcp, websocket } = this.#options;
    const limits = this.#transportLimits();
    // A burst of connections lands in one turn before the accept loop takes them: let them all
    // wait (maxSessions is enforced per connection, with a proper `failed`), none reset.
    const queue = this.#options.maxSessions ?? SERVER_DEFAULTS.maxSessions;
    if (tcp !== false) {
      this.#tcp = new TcpTransportListener({
        hostname: tcp?.hostname ?? SERVER_DEFAULTS.tcpHostname,
        port: tcp?.port ?? SERVER_DEFAULTS.tcpPort,
        ...(tcp?.tls ? { tls: tcp.tls } : {}),
        acceptQueueSize: queue,
        ...limits,
      });
      await this.#tcp.listen();
      this.#acceptFrom(this.#tcp);
    }
    if (websocket !== false) {
      this.#websocket = new WebSocketTransportListener({
        hostname: websocket?.hostname ?? SERVER_DEFAULTS.websocketHostname,
        port: websocket?.port ?? SERVER_DEFAULTS.websocketPort,
        ...(websocket?.cert && websocket.key ? { cert: websocket.cert, key: websocket.key } : {}),
        backlog: queue,
        trustProxy: this.#options.trustProxy ?? false,
        trustProxyTls: this.#options.trustProxyTls ?? false,
        // The per-address cap on establishing sessions, applied from the upgrade on.
        maxUpgradingPerAddress: this.#admission.limits.maxEstablishingPerAddress,
        ...limits,
      });
      await this.#websocket.listen();
      this.#acceptFrom(this.#websocket);
    }
    const http = this.#options.http;
    if (http && http.port !== undefined) {
      this.#http = HttpListener.listen({ ...http, port: http.port }, this.handler);
    }
  }

  /** The limits every accepted transport gets. */
  #transportLimits() {
    const options = this.#options;
    return {
      ...(options.maxEnvelopeSize !== undefined
        ? { maxEnvelopeSize: options.maxEnvelopeSize }
        : {}),
      ...(options.maxMembers !== undefined ? { maxMembers: options.maxMembers } : {}),
      ...(options.maxQueuedBytes !== undefined ? { maxQueuedBytes: options.maxQueuedBytes } : {}),
      ...options.inflation,
    };
  }

  /** Where the TCP listener listens (`host:port`). */
  get tcpAddress(): string | undefined {
    return this.#tcp?.address;
  }

  /** Where the WebSocket listener listens (`host:port`). */
  get websocketAddress(): string | undefined {
    return this.#websocket?.address;
  }

  /** Where the HTTP port listens (`host:port`), when `http.port` was given. */
  get httpAddress(): string | undefined {
    return this.#http?.address;
  }

  /** Connections being served: server channels not closed yet (established or not). */
  get connectionCount(): number {
    return this.#channels.size;
  }

  /** TCP connections the TCP listener accepted that are still open (0 without one). */
  get tcpTransportCount(): number {
    return this.#tcp?.transports.size ?? 0;
  }

  /**
   * A `Deno.serve` handler (Deno Deploy: `Deno.serve(server.handler)`): the HTTP API on
   * `/messages`, `/notifications` and `/commands` (unless `http: false`; see `src/http/`), and
   * LIME over WebSocket on any other path; other requests get 400. There Deno owns the sockets
   * (`Deno.upgradeWebSocket`): it assembles each message, up to its own 64 MiB, before the server
   * can refuse it (see `websocket_upgrade.ts`); the listener of `start()` refuses on the header.
   */
  readonly handler = (
    request: Request,
    info?: Deno.ServeHandlerInfo,
  ): Response | Promise<Response> => {
    const edge = this.#edge;
    if (edge) {
      if (edge.serves(new URL(request.url).pathname)) return edge.handle(request, info);
    }
    if (!this.#embedded) {
      this.#embedded = new WebSocketTransportListener({
        ...this.#transportLimits(),
        backlog: this.#options.maxSessions ?? SERVER_DEFAULTS.maxSessions,
        trustProxy: this.#options.trustProxy ?? false,
        trustProxyTls: this.#options.trustProxyTls ?? false,
      });
      this.#acceptFrom(this.#embedded);
    }
    return this.#embedded.handler(request, info);
  };

  /** Serves one connection (any transport, already open). */
  accept(transport: Transport): void {
    const serving = this.#serve(transport).catch((error) =>
      console.error("LIME server: a session failed", error)
    );
    this.#serving.add(serving);
    serving.finally(() => this.#serving.delete(serving));
  }

  #acceptFrom(listener: AsyncIterable<Transport>): void {
    (async () => {
      for await (const transport of listener) this.accept(transport);
    })().catch((error) => {
      if (!this.#stopping) console.error("LIME server: a listener failed", error);
    });
  }

  async #serve(transport: Transport): Promise<void> {
    const options = this.#options;
    const channel = new ServerChannel(transport, {
      autoReplyPings: false,
      remotePingInterval: SERVER_DEFAULTS.remotePingInterval,
      remoteIdleTimeout: SERVER_DEFAULTS.remoteIdleTimeout,
      ...options.channel,
      serverNode: this.serverNode,
    });
    this.#channels.add(channel);
    channel.closed.then(() => this.#channels.delete(channel));
    const source = sourceOfTransport(transport);
    const ticket = this.#stopping ? SHUTDOWN_REASON : this.#admission.admit(source);
    if (!("release" in ticket)) {
      // At once, without waiting for `new`: a refused peer must not hold a slot.
      await channel.sendFailedSession(ticket).catch(() => {});
      return;
    }
    channel.closed.then(() => ticket.release());
    const perIdentity = options.maxSessionsPerIdentity ?? SERVER_DEFAULTS.maxSessionsPerIdentity;
    let session: ServerSession | undefined;
    let result: EstablishmentResult;
    try {
      result = await channel.establishSession({
        firstEnvelopeTimeout: options.firstEnvelopeTimeout ??
          SERVER_DEFAULTS.firstEnvelopeTimeout,
        schemeOptions: (channel) => offeredSchemes(options, channel.transport),
        assign: (candidate, { scheme }) => this.#rules.assign(candidate, scheme),
        register: (node, { domainRole, scheme }) => {
          const registered = this.#registration.register(
            channel,
            node,
            domainRole,
            scheme,
            source,
            perIdentity,
          );
          const settle = (outcome: ServerSession | Reason) => {
            if (!("node" in outcome)) return outcome;
            session = outcome;
            return node;
          };
          return registered instanceof Promise ? registered.then(settle) : settle(registered);
        },
        authenticator: this.#authenticator,
      });
    } finally {
      ticket.established();
    }
    if (!result.established || !session) {
      if (session) this.#registration.unregister(session);
      return;
    }
    const established = session;
    // An account created while this guest was being let in: the identity is owned now.
    if (established.guest) {
      const owned = await options.store.getAccount(established.identity).then(
        (account) => account ? IDENTITY_REASONS.nowOwned(established.identity) : undefined,
        (): Reason => ({
          code: ReasonCode.SESSION_ERROR,
          description: "An unexpected server error occurred",
        }),
      );
      if (owned) {
        this.#registration.evict(established, owned);
        await channel.closed;
        return;
      }
    }
    const route = openSessionGate(
      established,
      this.#shaping,
      this.#router,
      options.channel?.clock ?? systemClock,
    );
    channel.onMessage(route);
    channel.onNotification(route);
    channel.onCommand(route);
    const end = await channel.closed;
    this.#registration.unregister(established);
    if (end.error instanceof TransportError && end.error.code === "slow-reader") {
      this.#router.reportUnread(established);
    }
  }

  /**
   * Stops: listeners stop accepting, established sessions get `finished` (and up to
   * `channel.closeTimeout` to hang up, so that one still sending does not lose it), establishing
   * ones `failed` ("The server is being shut down"), every transport is closed, and requests to
   * the server's resources still in the works complete. The store is the caller's to close.
   */
  async shutdown(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    // Sessions first, so that each gets its `finished` before its transport is closed.
    // Connections arriving meanwhile are answered `failed` (shutting down) by #serve.
    await this.#tcp?.close();
    await this.#edge?.close();
    await Promise.all(
      [...this.#channels].map((channel) =>
        channel.state === "established"
          ? channel.finish({
            linger: this.#options.channel?.closeTimeout ?? CHANNEL_DEFAULTS.closeTimeout,
          })
          : channel.sendFailedSession(SHUTDOWN_REASON).catch(() => channel.close())
      ),
    );
    await Promise.all([
      this.#tcp?.close({ closeTransports: true }),
      this.#websocket?.close({ closeTransports: true }),
      this.#embedded?.close({ closeTransports: true }),
      this.#http?.close(),
    ]);
    await Promise.all(this.#serving);
    await Promise.allSettled([...this.#handling]);
    await this.#engine.stop();
  }

  /** `await using` shuts the server down. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
