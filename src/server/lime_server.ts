/**
 * The LIME server: TCP and WebSocket listeners (or any transport handed to {@link accept}, or
 * requests handed to {@link handler} inside a `Deno.serve` app), a server channel per connection,
 * authentication against the account store, the node registry, routing and the server's own
 * resources.
 * @module
 */
import type { ServerChannel as ServerChannelType } from "../channel/server_channel.ts";
import type { ServerAuthenticator } from "../channel/server_establishment.ts";
import { HeapClock } from "./heap_clock.ts";
import { CHANNEL_DEFAULTS } from "../channel/channel_options.ts";
import { TcpTransportListener } from "../transport/tcp_listener.ts";
import type { Transport } from "../transport/transport.ts";
import { WebSocketTransportListener } from "../transport/websocket_server.ts";
import { Admission, admissionLimits } from "./guard/admission.ts";
import { PasswordWork } from "./guard/password_work.ts";
import { IdentityRules } from "./identity_rules.ts";
import { GuestContacts } from "./resources/guest_contacts.ts";
import { DEFAULT_QUOTAS } from "./resources/quotas.ts";
import { TrafficShaping } from "./guard/traffic_shaper.ts";
import { Router, type ServerReply } from "./router.ts";
import { serverAuthenticator } from "./server_authenticator.ts";
import { endpointHost, sourceKey } from "./source_address.ts";
import {
  checkChannelOptions,
  type LimeServerOptions,
  SERVER_DEFAULTS,
  transportLimits,
  websocketCloseTimeout,
} from "./server_options.ts";
import { SessionRegistry } from "./session_registry.ts";
import { SessionRegistration } from "./session_registration.ts";
import { serverEdgeHost } from "./server_edge_host.ts";
import { resourceEndpoint } from "./resource_endpoint.ts";
import { serverResourceSet } from "./server_resource_set.ts";
import { ServingCount } from "./serving_count.ts";
import type { ClusterEngine } from "../cluster/engine.ts";
import { MemoryEngine } from "../cluster/memory_engine.ts";
import { KvAccountStore } from "./account_store.ts";
import { HttpEdge } from "../http/http_edge.ts";
import { HttpListener } from "../http/http_listener.ts";
import { serverLog } from "../observability/log.ts";
// Server channels' reports of invalid input, as log records.
import "../observability/input_log.ts";
import { observeQueuedBytes } from "../observability/metrics.ts";
import { type TransportLabel, transportLabel } from "../observability/session_events.ts";
import { serveConnection, type ServingContext, SHUTDOWN_REASON } from "./connection_serving.ts";
import {
  EngineProbe,
  healthResponse,
  type Readiness,
  readinessOf,
  readyResponse,
} from "../observability/health.ts";

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
  readonly #probe: EngineProbe;
  readonly #registration: SessionRegistration;
  readonly #admission: Admission;
  readonly #authenticator: ServerAuthenticator;
  readonly #guestContacts = new GuestContacts();
  readonly #shaping: TrafficShaping;
  readonly #channels = new Set<ServerChannelType>();
  readonly #serving = new ServingCount((error) => this.#failed(error));
  readonly #handling = new Set<Promise<ServerReply>>();
  #tcp: TcpTransportListener | undefined;
  #websocket: WebSocketTransportListener | undefined;
  #embedded: WebSocketTransportListener | undefined;
  #stopping = false;
  /** What serving a connection uses of this server (see `connection_serving.ts`). */
  readonly #servingContext: ServingContext;
  /** The HTTP API and webhooks (`src/http/`), unless `http: false`. */
  readonly #edge: HttpEdge | undefined;
  #http: HttpListener | undefined;
  #started = false;
  #stopObserving: (() => void) | undefined;

  /** Creates a server; nothing listens until {@link start}. */
  constructor(options: LimeServerOptions) {
    if (!options?.store) throw new TypeError("A LimeServer needs options.store (an AccountStore)");
    checkChannelOptions(options.channel);
    this.#options = options;
    this.domain = (options.domain ?? SERVER_DEFAULTS.domain).toLowerCase();
    this.serverNode = `postmaster@${this.domain}/${options.instance ?? SERVER_DEFAULTS.instance}`;
    this.#rules = new IdentityRules(this.domain, options.reservedNames);
    const engine = this.#engine = options.engine ?? new MemoryEngine();
    this.#probe = new EngineProbe(engine);
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
    // The server's timers (a few per session) share one timer of the given clock (or the system's).
    const clock = new HeapClock(options.channel?.clock);
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
        serverEdgeHost({
          options,
          domain: this.domain,
          serverNode: this.serverNode,
          registry: this.registry,
          rules: this.#rules,
          shaping: this.#shaping,
          registration,
          throttle,
          passwordWork,
          router: () => this.#router,
          stopping: () => this.#stopping,
          clock,
        }),
        options.http ?? {},
        kv && options.webhooks !== false ? { ...options.webhooks, kv } : undefined,
      );
    }
    const webhooks = this.#edge?.webhooks;
    const resources = serverResourceSet({
      options,
      domain: this.domain,
      engine,
      rules: this.#rules,
      registration,
      guestContacts: this.#guestContacts,
      passwordWork,
      clock,
      quotas,
      webhooks,
      secretsChanged: (identity) => this.#edge?.secretsChanged(identity),
    });
    const endpoint = resourceEndpoint(resources, this.#handling);
    const router: Router = new Router(
      this.registry,
      this.domain,
      `postmaster@${this.domain}`,
      endpoint,
      remote,
      options.traceRouting,
    );
    this.#router = router;
    const stopping = () => this.#stopping;
    this.#servingContext = {
      options,
      serverNode: this.serverNode,
      channels: this.#channels,
      admission: this.#admission,
      registration: this.#registration,
      rules: this.#rules,
      authenticator: this.#authenticator,
      shaping: this.#shaping,
      router,
      clock,
      get stopping() {
        return stopping();
      },
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
    this.#stopObserving ??= observeQueuedBytes(() =>
      [...this.#channels].map((channel) => channel.transport)
    );
    await this.#engine.start();
    await this.#edge?.start();
    const { tcp, websocket } = this.#options;
    const limits = transportLimits(this.#options);
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
      this.#acceptFrom(this.#tcp, "tcp");
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
        closeTimeout: websocketCloseTimeout(this.#options.channel),
        ...limits,
      });
      await this.#websocket.listen();
      this.#acceptFrom(this.#websocket, "websocket");
    }
    const http = this.#options.http;
    if (http && http.port !== undefined) {
      this.#http = HttpListener.listen({ ...http, port: http.port }, this.handler);
    }
    this.#started = true;
    // Once every listener is up: a start that fails logs no address.
    for (
      const [name, address] of [
        ["TCP", this.#tcp?.address],
        ["WebSocket", this.#websocket?.address],
        ["HTTP", this.#http?.address],
      ]
    ) if (address) serverLog.info("Listening on {name} {address}", { name, address });
  }

  /**
   * Whether the server takes sessions now (`/readyz`): started, not stopping, and its engine
   * reachable (the Redis of a cluster engine answers a PING).
   */
  ready(): Promise<Readiness> {
    return readinessOf(this.#probe, this.#started, this.#stopping);
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
   * `/messages`, `/notifications` and `/commands` (unless `http: false`; see `src/http/`),
   * `GET /healthz` (200) and `GET /readyz` (200, or 503 while not started, stopping or with its
   * engine unreachable), and LIME over WebSocket on any other path; other requests get 400. There Deno owns the sockets
   * (`Deno.upgradeWebSocket`): it assembles each message, up to its own 64 MiB, before the server
   * can refuse it (see `websocket_upgrade.ts`); the listener of `start()` refuses on the header.
   */
  readonly handler = (
    request: Request,
    info?: Deno.ServeHandlerInfo,
  ): Response | Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (request.method === "GET") {
      if (path === "/healthz") return healthResponse();
      if (path === "/readyz") return readyResponse(() => this.ready());
    }
    const edge = this.#edge;
    if (edge?.serves(path)) return edge.handle(request, info);
    if (!this.#embedded) {
      this.#embedded = new WebSocketTransportListener({
        ...transportLimits(this.#options),
        closeTimeout: websocketCloseTimeout(this.#options.channel),
        backlog: this.#options.maxSessions ?? SERVER_DEFAULTS.maxSessions,
        trustProxy: this.#options.trustProxy ?? false,
        trustProxyTls: this.#options.trustProxyTls ?? false,
      });
      this.#acceptFrom(this.#embedded, "websocket");
    }
    return this.#embedded.handler(request, info);
  };

  /** Serves one connection (any transport, already open). */
  accept(transport: Transport): void {
    this.#accept(transport, transportLabel(transport));
  }

  #accept(transport: Transport, label: TransportLabel): void {
    this.#serving.begin();
    serveConnection(this.#servingContext, transport, label, this.#serving.done).catch(this.#failed);
  }

  readonly #failed = (error: unknown): void => {
    serverLog.error("A session failed: {error}", { error });
  };

  #acceptFrom(listener: AsyncIterable<Transport>, label: TransportLabel): void {
    (async () => {
      for await (const transport of listener) this.#accept(transport, label);
    })().catch((error) => {
      if (!this.#stopping) serverLog.error("A {label} listener failed: {error}", { label, error });
    });
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
    const started = this.#started;
    if (started) {
      serverLog.info("Shutting down: {sessions} sessions", { sessions: this.#channels.size });
    }
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
    await this.#serving.none();
    await Promise.allSettled([...this.#handling]);
    await this.#engine.stop();
    this.#stopObserving?.();
    if (started) serverLog.info("Stopped");
  }

  /** `await using` shuts the server down. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
