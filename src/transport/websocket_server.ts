/**
 * The server side of LIME over WebSocket for Deno: {@link WebSocketTransportListener} serves on
 * its own port with `Deno.serve`, or mounts in another `Deno.serve` app through its `handler`.
 * For a single upgrade inside your own handler, use {@link upgradeLimeWebSocket}.
 * @module
 */
import { TransportError } from "./errors.ts";
import type { SignalOptions, TransportListener } from "./transport.ts";
import { throwIfAborted } from "./transport_base.ts";
import type { WebSocketTransport } from "./websocket.ts";
import { hostPort, type LimeUpgradeOptions, upgradeLimeWebSocket } from "./websocket_upgrade.ts";

export {
  type LimeUpgrade,
  type LimeUpgradeOptions,
  upgradeLimeWebSocket,
} from "./websocket_upgrade.ts";

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
}

/**
 * Accepts LIME WebSocket connections and yields a server-side transport for each.
 *
 * Standalone: `await listener.listen()` serves with `Deno.serve` on `hostname:port`. Mounted:
 * call `listener.handler(request, info)` from your own `Deno.serve` handler (no `listen()`); the
 * same refusals and queue apply. Requests that are not WebSocket upgrades asking for `lime` get
 * HTTP 400; requests for another `path` get 404; after `close()` or with a full queue, 503.
 */
export class WebSocketTransportListener implements TransportListener {
  readonly #options: WebSocketListenerOptions;
  readonly #backlog: number;
  readonly #transports = new Set<WebSocketTransport>();
  #queue: WebSocketTransport[] = [];
  #waiter: ((result: IteratorResult<WebSocketTransport>) => void) | undefined;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #address: string | undefined;
  #closed = false;

  /** Creates a listener; nothing is served until `listen()` or `handler` is called. */
  constructor(options: WebSocketListenerOptions = {}) {
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("WebSocketTransportListener needs both cert and key, or neither");
    }
    this.#options = options.cert === undefined ? options : { ...options, encryption: "tls" };
    this.#backlog = options.backlog ?? DEFAULT_ACCEPT_BACKLOG;
  }

  /** `host:port` it serves on (the real port when 0 was asked), once listening. */
  get address(): string | undefined {
    return this.#address;
  }

  /** The `ws://` (or `wss://`) URL it serves on, once listening. */
  get url(): string | undefined {
    if (this.#address === undefined) return undefined;
    const scheme = this.#options.cert === undefined ? "ws" : "wss";
    return `${scheme}://${this.#address}${this.#options.path ?? "/"}`;
  }

  /** The transports it made that are still open. */
  get transports(): ReadonlySet<WebSocketTransport> {
    return this.#transports;
  }

  /** Serves with `Deno.serve`; resolves once the port is bound. */
  async listen(options: SignalOptions = {}): Promise<void> {
    if (this.#closed) throw new TransportError("closed", "Cannot listen: the listener is closed");
    if (this.#server) throw new TransportError("io", "Cannot listen: already listening");
    throwIfAborted(options.signal, "Listening");
    const hostname = this.#options.hostname ?? "127.0.0.1";
    const port = this.#options.port ?? DEFAULT_WEBSOCKET_PORT;
    const bound = Promise.withResolvers<Deno.NetAddr>();
    try {
      const { cert, key } = this.#options;
      const tls = cert !== undefined && key !== undefined ? { cert, key } : {};
      this.#server = Deno.serve({ hostname, port, onListen: bound.resolve, ...tls }, this.handler);
    } catch (error) {
      throw new TransportError(
        "io",
        `Cannot listen on ${hostPort(hostname, port)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const addr = await bound.promise;
    this.#address = hostPort(addr.hostname, addr.port);
  }

  /** Handles one HTTP request: the listener's logic, to mount in any `Deno.serve` app. */
  readonly handler = (request: Request, info?: Deno.ServeHandlerInfo): Response => {
    const path = this.#options.path;
    if (path !== undefined && new URL(request.url).pathname !== path) {
      return text(404, `Not found; LIME over WebSocket is served at ${path}`);
    }
    if (this.#closed) return text(503, "The LIME listener is closed");
    if (this.#queue.length >= this.#backlog) {
      return text(503, "The LIME listener is busy; try again later");
    }
    const { response, transport } = upgradeLimeWebSocket(request, { ...this.#options, info });
    if (transport === undefined) return response;
    this.#transports.add(transport);
    transport.closed.then(() => this.#transports.delete(transport));
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: transport, done: false });
    } else {
      this.#queue.push(transport);
    }
    return response;
  };

  /**
   * Stops accepting and shuts the server down (Deno closes open WebSockets with 1001 then). With
   * `closeTransports`, first closes every transport it made. Transports never taken from the
   * queue are closed either way.
   */
  async close(options: { closeTransports?: boolean } = {}): Promise<void> {
    this.#closed = true;
    const untaken = this.#queue;
    this.#queue = [];
    this.#waiter?.({ value: undefined, done: true });
    this.#waiter = undefined;
    const closing = options.closeTransports ? [...this.#transports] : untaken;
    await Promise.allSettled(closing.map((transport) => transport.close()));
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      await server.shutdown();
      await server.finished;
    }
  }

  /** `await using` closes the listener and its transports. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close({ closeTransports: true });
  }

  /** Yields accepted transports until the listener closes. */
  [Symbol.asyncIterator](): AsyncIterator<WebSocketTransport> {
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
