/**
 * Accepts TCP connections and yields a server-side {@link TcpTransport} for each.
 * @module
 */
import net from "node:net";
import type { SessionCompression } from "../generated/enums.generated.ts";
import { throwIfAborted, TransportError } from "./errors.ts";
import { DEFAULT_TCP_PORT, TcpTransport } from "./tcp.ts";
import { afterServerTimers, formatEndpoint, LISTEN_BACKLOG } from "./tcp_io.ts";
import type { InflationLimits } from "./tcp_gzip.ts";
import { checkCertificateAndKey, type TcpServerTlsOptions } from "./tcp_tls.ts";
import type { SignalOptions, Transport, TransportListener, TransportOptions } from "./transport.ts";

/** Options of a {@link TcpTransportListener}; the transport options apply to every connection. */
export interface TcpTransportListenerOptions extends TransportOptions, InflationLimits {
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port to listen on; 0 picks a free one (see `address`). Default 55321. */
  port?: number;
  /** Certificate and key for TLS (offered in the negotiation); without them no TLS. */
  tls?: TcpServerTlsOptions;
  /** Compression modes offered. Default `["none", "gzip"]`. */
  compression?: readonly SessionCompression[];
  /**
   * Accepted connections kept until the iterator takes them. Further connections are closed at
   * once while that many wait. Default 64.
   */
  acceptQueueSize?: number;
}

type Waiter = (result: IteratorResult<TcpTransport>) => void;

/** A TCP listener: `for await (const transport of listener)` yields each accepted connection. */
export class TcpTransportListener implements TransportListener {
  readonly #options: TcpTransportListenerOptions;
  readonly #queueSize: number;
  #server: net.Server | undefined;
  #address: string | undefined;
  #closed = false;
  #serverClosed: Promise<void> | undefined;
  // Every accepted connection until it closes: close counts them itself, since Deno 2.5's
  // net.Server miscounts destroyed connections and never calls close's callback.
  readonly #sockets = new Set<net.Socket>();
  #allClosed: (() => void) | undefined;
  readonly #queue: TcpTransport[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #transports = new Set<TcpTransport>();
  readonly #released = (transport: TcpTransport): void => {
    this.#transports.delete(transport);
  };

  /**
   * Creates a listener; call `listen()` to start accepting. Throws a TypeError when the TLS
   * certificate or key cannot be read or do not belong together.
   */
  constructor(options: TcpTransportListenerOptions = {}) {
    if (options.tls) {
      checkCertificateAndKey("Listener TLS options", options.tls.cert, options.tls.key);
    }
    this.#options = options;
    this.#queueSize = options.acceptQueueSize ?? 64;
  }

  /** Starts listening; resolves once the port is bound. */
  async listen(options: SignalOptions = {}): Promise<void> {
    if (this.#closed) throw new TransportError("closed", "Cannot listen: the listener is closed");
    if (this.#server) throw new TransportError("io", "Cannot listen: already listening");
    throwIfAborted(options.signal, "Listening");
    // One listener for every socket (`this` is the socket; a socket emits close once): a
    // closure and a `once` wrapper per connection would live as long as it.
    const sockets = this.#sockets;
    const allClosed = () => this.#allClosed?.();
    const forget = function (this: net.Socket) {
      sockets.delete(this);
      if (sockets.size === 0) allClosed();
    };
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("close", forget);
      this.#accept(socket);
    });
    this.#server = server;
    const host = this.#options.hostname ?? "127.0.0.1";
    const port = this.#options.port ?? DEFAULT_TCP_PORT;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      this.#server = undefined;
      throw new TransportError(
        "io",
        `Cannot listen on ${host}:${port}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    // Accept failures (e.g. out of file descriptors) must not crash the process.
    server.on("error", () => {});
    const bound = server.address() as net.AddressInfo;
    this.#address = formatEndpoint(bound.address, bound.port);
  }

  /** `host:port` it listens on (with the real port when 0 was asked); undefined before `listen`. */
  get address(): string | undefined {
    return this.#address;
  }

  /** The transports it accepted that are still open. */
  get transports(): ReadonlySet<Transport> {
    return this.#transports;
  }

  #accept(socket: net.Socket): void {
    if (this.#closed || this.#queue.length >= this.#queueSize) {
      socket.on("error", () => {});
      socket.destroy();
      return;
    }
    const transport = TcpTransport.accept(socket, this.#options, this.#released);
    this.#transports.add(transport);
    const waiter = this.#waiters.shift();
    if (waiter) waiter({ value: transport, done: false });
    else this.#queue.push(transport);
  }

  /** Yields accepted transports until the listener closes. */
  [Symbol.asyncIterator](): AsyncIterator<TcpTransport> {
    return {
      next: () => {
        const transport = this.#queue.shift();
        if (transport) return Promise.resolve({ value: transport, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /**
   * Stops accepting; connections not yet taken from the iterator are closed. With
   * `closeTransports`, also closes every transport it made and waits for them.
   */
  async close(options: { closeTransports?: boolean } = {}): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const server = this.#server;
      if (server) {
        this.#serverClosed = new Promise<void>((resolve) => {
          this.#allClosed = resolve;
          server.close(() => resolve());
          if (this.#sockets.size === 0) resolve();
        }).then(afterServerTimers);
      }
      for (const waiter of this.#waiters.splice(0)) waiter({ value: undefined, done: true });
      await Promise.all(this.#queue.splice(0).map((transport) => transport.close()));
    }
    if (options.closeTransports) {
      await Promise.all([...this.#transports].map((transport) => transport.close()));
      // With every connection closed, the server reports itself closed.
      await this.#serverClosed;
    }
  }

  /** `await using` closes the listener and every transport it made. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close({ closeTransports: true });
  }
}
