/**
 * The LIME server: TCP and WebSocket listeners (or any transport handed to {@link accept}, or
 * requests handed to {@link handler} inside a `Deno.serve` app), a server channel per connection,
 * authentication against the account store, the node registry, routing and the server's own
 * resources.
 * @module
 */
import type { ServerChannel as ServerChannelType } from "../channel/server_channel.ts";
import { ServerChannel } from "../channel/server_channel.ts";
import { assignNode, type EstablishmentResult } from "../channel/server_establishment.ts";
import type { Command, Envelope } from "../envelope.ts";
import type { AuthenticationScheme } from "../generated/enums.generated.ts";
import { systemClock } from "../clock.ts";
import { CHANNEL_DEFAULTS } from "../channel/channel_options.ts";
import { TcpTransportListener } from "../transport/tcp_listener.ts";
import type { Transport } from "../transport/transport.ts";
import { WebSocketTransportListener } from "../transport/websocket_server.ts";
import { DEFAULT_PBKDF2_ITERATIONS } from "./password_hash.ts";
import { accountResource } from "./resources/account.ts";
import { contactsResource } from "./resources/contacts.ts";
import { pingResource } from "./resources/ping.ts";
import { presenceResource } from "./resources/presence.ts";
import { receiptResource } from "./resources/receipt.ts";
import { ServerResources } from "./resources/server_resources.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { Router } from "./router.ts";
import { serverAuthenticator } from "./server_authenticator.ts";
import { type LimeServerOptions, SERVER_DEFAULTS } from "./server_options.ts";
import { ServerSession } from "./server_session.ts";
import { SessionRegistry } from "./session_registry.ts";

const SHUTDOWN_REASON = { code: 11, description: "The server is being shut down" };
const FULL_REASON = {
  code: 11,
  description: "The server has reached its maximum number of sessions",
};
const BUSY_REASON = {
  code: 11,
  description: "Too many connections are establishing a session; try again later",
};
const REPLACED_REASON = {
  code: 11,
  description: "The session was replaced by a new session of the same node",
};

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
  readonly #schemes: AuthenticationScheme[];
  readonly #channels = new Set<ServerChannelType>();
  readonly #serving = new Set<Promise<void>>();
  readonly #handling = new Set<Promise<Command>>();
  #tcp: TcpTransportListener | undefined;
  #websocket: WebSocketTransportListener | undefined;
  #embedded: WebSocketTransportListener | undefined;
  #stopping = false;
  #establishing = 0;

  /** Creates a server; nothing listens until {@link start}. */
  constructor(options: LimeServerOptions) {
    if (!options?.store) throw new TypeError("A LimeServer needs options.store (an AccountStore)");
    this.#options = options;
    this.domain = (options.domain ?? SERVER_DEFAULTS.domain).toLowerCase();
    this.serverNode = `postmaster@${this.domain}/${options.instance ?? SERVER_DEFAULTS.instance}`;
    const iterations = options.passwordIterations ?? DEFAULT_PBKDF2_ITERATIONS;
    const resources = new ServerResources({
      ping: pingResource,
      presence: presenceResource,
      receipt: receiptResource,
      account: accountResource(options.store, iterations),
      contacts: contactsResource(options.store),
    }, this.domain);
    // Requests in the works are tracked: shutdown waits for them, the store outlives their writes.
    const endpoint = {
      processCommand: (session: ServerSession, request: Command) => {
        const handling = resources.processCommand(session, request);
        this.#handling.add(handling);
        handling.finally(() => this.#handling.delete(handling)).catch(() => {});
        return handling;
      },
    };
    this.#router = new Router(this.registry, this.domain, `postmaster@${this.domain}`, endpoint);
    this.#schemes = [
      ...(options.guest ?? true ? ["guest" as const] : []),
      "plain",
      "key",
      "transport",
      ...(options.externalVerifier ? ["external" as const] : []),
    ];
  }

  /** Starts the configured listeners. */
  async start(): Promise<void> {
    const { tcp, websocket } = this.#options;
    const limits = { maxEnvelopeSize: this.#options.maxEnvelopeSize };
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
        ...limits,
      });
      await this.#websocket.listen();
      this.#acceptFrom(this.#websocket);
    }
  }

  /** Where the TCP listener listens (`host:port`). */
  get tcpAddress(): string | undefined {
    return this.#tcp?.address;
  }

  /** Where the WebSocket listener listens (`host:port`). */
  get websocketAddress(): string | undefined {
    return this.#websocket?.address;
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
   * A `Deno.serve` handler that accepts LIME over WebSocket on any path (Deno Deploy:
   * `Deno.serve(server.handler)`); other requests get 400.
   */
  readonly handler = (request: Request, info?: Deno.ServeHandlerInfo): Response => {
    if (!this.#embedded) {
      this.#embedded = new WebSocketTransportListener({
        maxEnvelopeSize: this.#options.maxEnvelopeSize,
        backlog: this.#options.maxSessions ?? SERVER_DEFAULTS.maxSessions,
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
    const refusal = this.#stopping
      ? SHUTDOWN_REASON
      : this.#channels.size > (options.maxSessions ?? SERVER_DEFAULTS.maxSessions)
      ? FULL_REASON
      : this.#establishing >= (options.maxEstablishing ?? SERVER_DEFAULTS.maxEstablishing)
      ? BUSY_REASON
      : undefined;
    if (refusal) {
      // At once, without waiting for `new`: a refused peer must not hold a slot.
      await channel.sendFailedSession(refusal).catch(() => {});
      return;
    }
    let scheme: AuthenticationScheme | undefined;
    const perIdentity = options.maxSessionsPerIdentity ?? SERVER_DEFAULTS.maxSessionsPerIdentity;
    this.#establishing++;
    let result: EstablishmentResult;
    try {
      result = await channel.establishSession({
        register: (candidate) => {
          // The authenticator already refused identities of other domains.
          const node = assignNode(candidate, this.domain);
          if (!node) return undefined;
          const sessions = this.registry.byIdentity(node.slice(0, node.indexOf("/")));
          const replaces = this.registry.byNode(node) !== undefined;
          return !replaces && perIdentity > 0 && sessions.size >= perIdentity ? undefined : node;
        },
        schemeOptions: this.#schemes,
        authenticator: serverAuthenticator({
          domain: this.domain,
          store: options.store,
          guest: options.guest ?? true,
          plainWithoutTls: options.plainWithoutTls ?? "loopback",
          externalVerifier: options.externalVerifier,
          onAuthenticated: (used) => scheme = used,
        }),
      });
    } finally {
      this.#establishing--;
    }
    if (!result.established) return;
    const session = new ServerSession(channel, result.node, result.domainRole, scheme === "guest");
    const replaced = this.registry.add(session);
    replaced?.channel.sendFailedSession(REPLACED_REASON).catch(() => {});
    const limiter = new RateLimiter(
      options.channel?.clock ?? systemClock,
      options.rateLimit ?? SERVER_DEFAULTS.rateLimit,
    );
    const route = (envelope: Envelope) => {
      if (limiter.take()) this.#router.route(session, envelope);
      else {
        this.#router.refuse(session, envelope, {
          code: 34,
          description: "The session sends more envelopes per second than it may",
        });
      }
    };
    channel.onMessage(route);
    channel.onNotification(route);
    channel.onCommand(route);
    await channel.closed;
    this.registry.remove(session);
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
    // Sessions first: closing a Deno.serve listener would cut its WebSockets before `finished`.
    // Connections arriving meanwhile are answered `failed` (shutting down) by #serve.
    await this.#tcp?.close();
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
    ]);
    await Promise.all(this.#serving);
    await Promise.allSettled([...this.#handling]);
  }

  /** `await using` shuts the server down. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
