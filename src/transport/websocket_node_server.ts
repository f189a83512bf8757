/**
 * The socket side of a standalone WebSocket listener: a `node:net` server (with `node:tls` on
 * each connection for `wss`), each connection's TLS handshake and HTTP request head under one
 * deadline, the plain HTTP refusals, and the 101 that hands the socket over.
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { TransportError } from "./errors.ts";
import { afterServerTimers, atMost, formatEndpoint, LISTEN_BACKLOG, whenClosed } from "./tcp_io.ts";
import { handshake, pauseWithConnection } from "./tcp_tls.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  ignoreError,
  MAX_UPGRADE_HEAD,
  plainResponse,
  readRequestHead,
  type RequestHead,
  switchingProtocols,
} from "./websocket_handshake.ts";

/** How long a refused client has to read the answer before its socket is destroyed. */
const REFUSAL_LINGER = 1000;

/** The socket of an accepted WebSocket upgrade. */
export interface UpgradedSocket {
  /** The socket that carries the frames (the TLS socket with TLS). */
  socket: net.Socket;
  /** The TCP socket under a TLS socket. */
  raw?: net.Socket;
  /** Bytes that arrived after the request head (frames the client sent at once). */
  head?: Uint8Array;
}

/** Where and how a {@link NodeWebSocketServer} listens. */
export interface NodeWebSocketServerOptions {
  /** Interface to listen on. */
  hostname: string;
  /** Port (0: any free one). */
  port: number;
  /** Certificate chain (PEM) for `wss`; with `key`. */
  cert?: string;
  /** Private key (PEM) of `cert`. */
  key?: string;
  /** Time for the TLS handshake and the request head, in ms. Default 10 s. */
  handshakeTimeout?: number;
  /** Largest request head, in bytes. Default 8 KiB. */
  maxHeadSize?: number;
  /**
   * Connections from one IP address still in their TLS handshake or request head at once; more
   * are answered 503 and closed at once. Default 32 (a LIME server's per-address cap on
   * establishing sessions applies only once the upgrade is done).
   */
  maxPendingPerAddress?: number;
}

/** What the server asks its owner about each upgrade request. */
export interface UpgradeHost {
  /** A refusal (status and plain-text reason) for this request, or undefined to accept it. */
  refusal(head: RequestHead): { status: number; body: string } | undefined;
  /** The subprotocol to select (the request asked for it). */
  readonly protocol: string;
  /** The upgrade is done: the socket is the caller's now. */
  accepted(upgraded: UpgradedSocket, head: RequestHead): void;
}

/** A listening socket that turns accepted connections into upgraded WebSocket sockets. */
export class NodeWebSocketServer {
  readonly #server: net.Server;
  readonly #options: NodeWebSocketServerOptions;
  readonly #host: UpgradeHost;
  // Connections still in their handshake (or being refused), and when each is done.
  readonly #pending = new Map<net.Socket, Promise<void>>();
  readonly #pendingByAddress = new Map<string, number>();
  // Every accepted connection until it closes: `stopped` counts them itself, since Deno 2.5's
  // net.Server miscounts destroyed connections (to -1) and never calls close's callback.
  readonly #sockets = new Set<net.Socket>();
  #allClosed: (() => void) | undefined;
  #closed: Promise<void> | undefined;
  /** `host:port` it listens on. */
  readonly address: string;

  private constructor(server: net.Server, options: NodeWebSocketServerOptions, host: UpgradeHost) {
    this.#server = server;
    this.#options = options;
    this.#host = host;
    const bound = server.address() as net.AddressInfo;
    this.address = formatEndpoint(bound.address, bound.port)!;
    const maxPerAddress = options.maxPendingPerAddress ?? 32;
    // One listener for every socket (`this` is the socket; a socket emits close once): a
    // closure and a `once` wrapper per connection would live as long as it.
    const sockets = this.#sockets;
    const allClosed = () => this.#allClosed?.();
    const forget = function (this: net.Socket): void {
      sockets.delete(this);
      if (sockets.size === 0) allClosed();
    };
    server.on("connection", (socket: net.Socket) => {
      sockets.add(socket);
      socket.on("close", forget);
      const address = socket.remoteAddress ?? "";
      const pending = this.#pendingByAddress.get(address) ?? 0;
      if (maxPerAddress > 0 && pending >= maxPerAddress) {
        socket.on("error", ignoreError);
        socket.end(
          plainResponse(503, "Too many connections from your address are upgrading; try again"),
          () => socket.destroy(),
        );
        setTimeout(() => socket.destroy(), REFUSAL_LINGER);
        return;
      }
      this.#pendingByAddress.set(address, pending + 1);
      // Nothing that goes wrong with one connection may escape: it is dropped.
      const handling = this.#onConnection(socket).catch(() => void socket.destroy());
      this.#pending.set(socket, handling);
      handling.finally(() => {
        this.#pending.delete(socket);
        const left = (this.#pendingByAddress.get(address) ?? 1) - 1;
        if (left > 0) this.#pendingByAddress.set(address, left);
        else this.#pendingByAddress.delete(address);
      });
    });
    // Accept failures (e.g. out of file descriptors) must not crash the process.
    server.on("error", () => {});
  }

  /** Listens; rejects with an `io` TransportError when the address cannot be bound. */
  static async listen(
    options: NodeWebSocketServerOptions,
    host: UpgradeHost,
  ): Promise<NodeWebSocketServer> {
    const server = net.createServer({ pauseOnConnect: true });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(
          { host: options.hostname, port: options.port, backlog: LISTEN_BACKLOG },
          () => {
            server.off("error", reject);
            resolve();
          },
        );
      });
    } catch (error) {
      throw new TransportError(
        "io",
        `Cannot listen on ${formatEndpoint(options.hostname, options.port)}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    return new NodeWebSocketServer(server, options, host);
  }

  /**
   * Stops accepting and drops the connections still in their handshake (resolves once they are
   * gone); upgraded connections are their transports' to close.
   */
  async close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      this.#server.close(() => resolve());
      if (this.#sockets.size === 0) resolve();
    }).then(afterServerTimers);
    for (const socket of this.#pending.keys()) socket.destroy();
    await Promise.all(this.#pending.values());
  }

  /** After {@link close}: resolves once every connection the server accepted has closed. */
  get stopped(): Promise<void> {
    return this.#closed ?? Promise.resolve();
  }

  async #onConnection(raw: net.Socket): Promise<void> {
    raw.on("error", ignoreError); // whoever owns the socket next reports its errors
    if (this.#closed) return void raw.destroy();
    const timeout = this.#options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const deadline = setTimeout(() => raw.destroy(), timeout);
    try {
      const started = performance.now();
      let socket = raw;
      const { cert, key } = this.#options;
      if (cert !== undefined && key !== undefined) {
        const secure = new tls.TLSSocket(raw, { isServer: true, cert, key });
        secure.on("error", ignoreError);
        // Deno's TLS sockets keep reading while paused: pausing must stop the TCP socket too.
        pauseWithConnection(secure, raw);
        try {
          await handshake(secure, true);
        } catch {
          return void raw.destroy();
        }
        socket = secure;
      }
      const left = Math.max(1, timeout - (performance.now() - started));
      const result = await readRequestHead(
        socket,
        this.#options.maxHeadSize ?? MAX_UPGRADE_HEAD,
        left,
      );
      if ("dropped" in result) return void raw.destroy();
      if ("refused" in result) return await this.#refuse(socket, raw, result.refused);
      const refusal = this.#host.refusal(result.head);
      if (refusal) return await this.#refuse(socket, raw, refusal);
      const wsKey = result.head.headers.get("sec-websocket-key")!;
      socket.write(switchingProtocols(wsKey, this.#host.protocol));
      this.#host.accepted({
        socket,
        raw: socket === raw ? undefined : raw,
        head: result.rest,
      }, result.head);
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Answers with a plain-text refusal and hangs up; the socket goes within a second. */
  async #refuse(
    socket: net.Socket,
    raw: net.Socket,
    refusal: { status: number; body: string },
  ): Promise<void> {
    socket.end(plainResponse(refusal.status, refusal.body));
    socket.resume(); // whatever else the client sends is read and dropped
    await atMost(whenClosed(socket), REFUSAL_LINGER);
    socket.destroy();
    raw.destroy();
  }
}
