/**
 * The server side of LIME over WebSocket: {@link WebSocketTransportListener} serves on its own
 * port with a WebSocket server of this module (`node:net`, `node:tls` for `wss`; see
 * `websocket_server_transport.ts`), or mounts in another `Deno.serve` app through its `handler`
 * (there Deno owns the socket: `Deno.upgradeWebSocket`). For a single upgrade inside your own
 * handler, use {@link upgradeLimeWebSocket}.
 * @module
 */
import { throwIfAborted, TransportError } from "./errors.ts";
import { forwardedClientAddress, forwardedProtocol } from "./forwarded.ts";
import { checkCertificateAndKey } from "./tcp_tls.ts";
import type { SignalOptions, TransportListener } from "./transport.ts";
import { LIME_SUBPROTOCOL, type WebSocketTransport } from "./websocket.ts";
import { handshakeProblem, type RequestHead } from "./websocket_handshake.ts";
import { NodeWebSocketServer } from "./websocket_node_server.ts";
import { WebSocketServerTransport } from "./websocket_server_transport.ts";
import {
  hostPort,
  type LimeUpgradeOptions,
  limeUpgradeProblem,
  upgradeLimeWebSocket,
} from "./websocket_upgrade.ts";

export {
  type LimeUpgrade,
  type LimeUpgradeOptions,
  upgradeLimeWebSocket,
} from "./websocket_upgrade.ts";

/**
 * A server-side transport the listener yields: a {@link WebSocketServerTransport} when it serves
 * on its own port, a {@link WebSocketTransport} from its `handler`.
 */
export type AcceptedWebSocket = WebSocketServerTransport | WebSocketTransport;

/** Default port: 8080, the usual LIME WebSocket port. */
export const DEFAULT_WEBSOCKET_PORT = 8080;

/** Default number of accepted transports kept for a consumer that has not taken them yet. */
export const DEFAULT_ACCEPT_BACKLOG = 64;

/** Options of a {@link WebSocketTransportListener}. */
export interface WebSocketListenerOptions extends Omit<LimeUpgradeOptions, "info"> {
  /** Interface to listen on. Default `127.0.0.1` (like the TCP listener); `0.0.0.0` for all. */
  hostname?: string;
  /** Port to listen on; 0 picks a free one (see `address`). Default 8080. */
  port?: number;
  /** Serve `wss://` with this certificate chain (PEM); needs `key`. Transports report `tls`. */
  cert?: string;
  /** The private key of `cert` (PEM). */
  key?: string;
  /** Only upgrade requests for this path (e.g. `/lime`); others get 404. Default: any path. */
  path?: string;
  /**
   * Accepted transports waiting for the consumer to take them; past this, upgrades are refused
   * with HTTP 503. Default 64.
   */
  backlog?: number;
  /**
   * Standalone only: ms a client has for the TLS handshake and its HTTP request head (at most
   * 8 KiB) before its connection is dropped. Default 10,000.
   */
  handshakeTimeout?: number;
  /**
   * Standalone only: connections from one IP address in their TLS handshake or request head at
   * once; more are answered 503 at once. Default 32; 0 = no cap.
   */
  maxUpgradingPerAddress?: number;
}

type Refusal = { status: number; body: string };

/**
 * Accepts LIME WebSocket connections and yields a server-side transport for each.
 *
 * Standalone: `await listener.listen()` serves on `hostname:port` with this module's WebSocket
 * server, which refuses an oversize message on its frame header (close 1009), pauses reading
 * when the consumer falls behind and destroys the socket of a peer that does not finish a close
 * in time; it yields {@link WebSocketServerTransport}s. Mounted: call
 * `listener.handler(request, info)` from your own `Deno.serve` handler (no `listen()`); the same
 * refusals and queue apply, and it yields {@link WebSocketTransport}s on `Deno.upgradeWebSocket`
 * (with that API's limits: `websocket_upgrade.ts`). Requests that are not WebSocket upgrades
 * asking for `lime` get HTTP 400; requests for another `path` get 404; after `close()` or with a
 * full queue, 503.
 */
export class WebSocketTransportListener implements TransportListener {
  readonly #options: WebSocketListenerOptions;
  readonly #backlog: number;
  readonly #transports = new Set<AcceptedWebSocket>();
  #queue: AcceptedWebSocket[] = [];
  #waiter: ((result: IteratorResult<AcceptedWebSocket>) => void) | undefined;
  #server: NodeWebSocketServer | undefined;
  #closed = false;

  /**
   * Creates a listener; nothing is served until `listen()` or `handler` is called. Throws a
   * TypeError when `cert` and `key` are not both given, cannot be read or do not belong together.
   */
  constructor(options: WebSocketListenerOptions = {}) {
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("WebSocketTransportListener needs both cert and key, or neither");
    }
    if (options.cert !== undefined) {
      checkCertificateAndKey("WebSocketTransportListener", options.cert, options.key!);
    }
    this.#options = options.cert === undefined ? options : { ...options, encryption: "tls" };
    this.#backlog = options.backlog ?? DEFAULT_ACCEPT_BACKLOG;
  }

  /** `host:port` it serves on (the real port when 0 was asked), once listening. */
  get address(): string | undefined {
    return this.#server?.address;
  }

  /** The `ws://` (or `wss://`) URL it serves on, once listening. */
  get url(): string | undefined {
    if (this.address === undefined) return undefined;
    const scheme = this.#options.cert === undefined ? "ws" : "wss";
    return `${scheme}://${this.address}${this.#options.path ?? "/"}`;
  }

  /** The transports it made that are still open. */
  get transports(): ReadonlySet<AcceptedWebSocket> {
    return this.#transports;
  }

  /** Serves on `hostname:port` (TLS with `cert`); resolves once the port is bound. */
  async listen(options: SignalOptions = {}): Promise<void> {
    if (this.#closed) throw new TransportError("closed", "Cannot listen: the listener is closed");
    if (this.#server) throw new TransportError("io", "Cannot listen: already listening");
    throwIfAborted(options.signal, "Listening");
    const { cert, key, hostname, port, handshakeTimeout, maxUpgradingPerAddress } = this.#options;
    this.#server = await NodeWebSocketServer.listen({
      hostname: hostname ?? "127.0.0.1",
      port: port ?? DEFAULT_WEBSOCKET_PORT,
      cert,
      key,
      handshakeTimeout,
      maxPendingPerAddress: maxUpgradingPerAddress,
    }, {
      protocol: LIME_SUBPROTOCOL,
      refusal: (head) => this.#refusal(head.pathname, head.headers) ?? this.#badHandshake(head),
      accepted: (upgraded, head) => {
        const forwarded = this.#options.trustProxy
          ? forwardedClientAddress(head.headers)
          : undefined;
        const proxiedTls = this.#options.trustProxyTls &&
          forwardedProtocol(head.headers) === "https";
        this.#add(
          new WebSocketServerTransport(upgraded, {
            ...this.#options,
            remoteEndpoint: this.#options.remoteEndpoint ??
              (forwarded !== undefined ? hostPort(forwarded, 0) : undefined),
            ...(proxiedTls ? { encryption: "tls" as const } : {}),
          }, this.#released),
        );
      },
    });
  }

  /** Handles one HTTP request: the listener's logic, to mount in any `Deno.serve` app. */
  readonly handler = (request: Request, info?: Deno.ServeHandlerInfo): Response => {
    const refusal = this.#refusal(new URL(request.url).pathname);
    if (refusal) return text(refusal.status, refusal.body);
    const { response, transport } = upgradeLimeWebSocket(request, { ...this.#options, info });
    if (transport !== undefined) {
      this.#add(transport);
      transport.closed.then(() => this.#transports.delete(transport));
    }
    return response;
  };

  /** Why a request is refused before the upgrade checks (404, 503), with `headers` those too. */
  #refusal(pathname: string, headers?: Headers): Refusal | undefined {
    const path = this.#options.path;
    if (path !== undefined && pathname !== path) {
      return { status: 404, body: `Not found; LIME over WebSocket is served at ${path}` };
    }
    if (this.#closed) return { status: 503, body: "The LIME listener is closed" };
    if (this.#queue.length >= this.#backlog) {
      return { status: 503, body: "The LIME listener is busy; try again later" };
    }
    const problem = headers && limeUpgradeProblem({ headers });
    return problem === undefined ? undefined : { status: 400, body: problem };
  }

  #badHandshake(head: RequestHead): Refusal | undefined {
    const problem = handshakeProblem(head);
    return problem === undefined ? undefined : { status: 400, body: problem };
  }

  // Forgets a transport of its own port once it is released (one function for all of them).
  readonly #released = (transport: WebSocketServerTransport): void => {
    this.#transports.delete(transport);
  };

  #add(transport: AcceptedWebSocket): void {
    this.#transports.add(transport);
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: transport, done: false });
    } else {
      this.#queue.push(transport);
    }
  }

  /**
   * Stops accepting (connections still in their upgrade are dropped). Transports never taken
   * from the queue are closed; with `closeTransports`, every transport it made is closed too,
   * and the call resolves once their connections are gone. (Taken transports stay open
   * otherwise, as with the TCP listener.)
   */
  async close(options: { closeTransports?: boolean } = {}): Promise<void> {
    this.#closed = true;
    const untaken = this.#queue;
    this.#queue = [];
    this.#waiter?.({ value: undefined, done: true });
    this.#waiter = undefined;
    const closing = options.closeTransports ? [...this.#transports] : untaken;
    await Promise.allSettled([
      ...closing.map((transport) => transport.close()),
      this.#server?.close(),
    ]);
    if (options.closeTransports) await this.#server?.stopped;
  }

  /** `await using` closes the listener and its transports. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close({ closeTransports: true });
  }

  /** Yields accepted transports until the listener closes. */
  [Symbol.asyncIterator](): AsyncIterator<AcceptedWebSocket> {
    return {
      next: () => {
        const transport = this.#queue.shift();
        if (transport) return Promise.resolve({ value: transport, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiter = resolve);
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
