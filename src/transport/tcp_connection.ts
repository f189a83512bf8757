/**
 * The byte-stream stack under a TCP transport: the `node:net` socket, the TLS socket started on
 * it in-session, and the gzip streams inside TLS. It moves application bytes and reports what
 * happens; the transport decides when to switch and frames the bytes.
 * @module
 */
import type net from "node:net";
import type tls from "node:tls";
import { TransportError } from "./errors.ts";
import { peerCertificateOf } from "./tcp_certificate.ts";
import { type GunzipLimits, GunzipReader, GzipWriter } from "./tcp_gzip.ts";
import {
  afterWhitespace,
  atMost,
  END_TIMEOUT_MS,
  formatEndpoint,
  shutdown,
  whenClosed,
  whenDrained,
  writeAcknowledged,
  writeBuffered,
} from "./tcp_io.ts";
import {
  handshake,
  pauseWithConnection,
  startClientTls,
  startServerTls,
  type TlsRole,
} from "./tcp_tls.ts";
import type { PeerCertificate } from "./transport.ts";
import { httpProblem } from "./tcp_http_hint.ts";

export { afterWhitespace } from "./tcp_io.ts";

/** What a {@link TcpConnection} reports. */
export interface ConnectionEvents {
  /** Application bytes (decrypted, decompressed). Valid only during the call. */
  data(chunk: Uint8Array): void;
  /** The peer ended the connection; every byte before the end was passed to `data`. */
  end(): void;
  /** The connection failed. */
  error(error: TransportError): void;
}

/** The connection a socket (raw or TLS) belongs to, for the socket listeners every connection shares. */
const OWNER = Symbol("lime.tcpConnection");
type OwnedSocket = net.Socket & { [OWNER]?: TcpConnection };

/** A socket, optionally with TLS and gzip on it. */
export class TcpConnection {
  /** The peer's `host:port`. */
  readonly remoteEndpoint: string | undefined;
  /** The peer's certificate once TLS is on (when it sent one). */
  peerCertificate: PeerCertificate | undefined;

  // This side's `host:port` once asked for (null: not yet): a server never asks, and reading it
  // costs a system call and the socket's cached address object per connection.
  #localEndpoint: string | undefined | null = null;
  readonly #events: ConnectionEvents;
  readonly #limits: GunzipLimits;
  readonly #raw: net.Socket;
  #secure: tls.TLSSocket | undefined;
  #gzip: GzipWriter | undefined;
  #gunzip: GunzipReader | undefined;
  #inFlight: PromiseWithResolvers<void> | undefined;
  #reading = false;
  #paused = false;
  #handshaking = false;
  #closing = false;
  // Whether the first bytes were looked at (they may say the peer speaks HTTP, not LIME).
  #checked = false;

  /**
   * Takes over a connected socket; call {@link start} to read. `limits` apply to the peer's gzip
   * stream once gzip is on (the inflation limits, and the envelope size below which the ratio is
   * not checked).
   */
  constructor(socket: net.Socket, events: ConnectionEvents, limits: GunzipLimits = {}) {
    this.#raw = socket;
    this.#events = events;
    this.#limits = limits;
    socket.setNoDelay(true);
    this.remoteEndpoint = formatEndpoint(socket.remoteAddress, socket.remotePort);
    (socket as OwnedSocket)[OWNER] = this;
    socket.on("error", TcpConnection.#onRawError);
    socket.on("close", TcpConnection.#onClose);
  }

  // The socket listeners, shared by every connection: `this` is the socket, which knows its
  // connection. A closure per listener and connection would live as long as the connection.
  static readonly #onData = function (this: OwnedSocket, chunk: Uint8Array): void {
    this[OWNER]!.#data(chunk);
  };
  static readonly #onEnd = function (this: OwnedSocket): void {
    const connection = this[OWNER]!;
    if (connection.#gunzip) connection.#gunzip.sourceEnded();
    else connection.#events.end();
  };
  // A close without an end: the peer vanished (an error, when there was one, came first).
  static readonly #onClose = function (this: OwnedSocket): void {
    const connection = this[OWNER]!;
    if (!connection.#closing && !connection.#handshaking) connection.#events.end();
  };
  static readonly #onRawError = function (this: OwnedSocket, error: Error): void {
    this[OWNER]!.#failed(error, "io");
  };
  static readonly #onTlsError = function (this: OwnedSocket, error: Error): void {
    this[OWNER]!.#failed(error, "tls");
  };

  /** Application bytes read from the socket (the first ones checked for HTTP once). */
  #data(chunk: Uint8Array): void {
    if (!this.#checked) {
      this.#checked = true;
      const problem = httpProblem(chunk);
      if (problem) return this.#events.error(problem);
    }
    this.#events.data(chunk);
  }

  /** This side's `host:port`, read when first asked for (undefined if the socket was gone then). */
  get localEndpoint(): string | undefined {
    if (this.#localEndpoint === null) {
      this.#localEndpoint = formatEndpoint(this.#raw.localAddress, this.#raw.localPort);
    }
    return this.#localEndpoint;
  }

  /** Whether TLS is on. */
  get secure(): boolean {
    return this.#secure !== undefined;
  }

  /** Whether gzip is on. */
  get compressed(): boolean {
    return this.#gzip !== undefined;
  }

  /**
   * Bytes written and not yet handed to the kernel: the socket's buffer, the TLS socket's and
   * the compressor's (input not compressed yet and output not written yet).
   */
  get queuedBytes(): number {
    return this.#raw.writableLength + (this.#secure?.writableLength ?? 0) +
      (this.#gzip?.queuedBytes ?? 0);
  }

  get #top(): net.Socket {
    return this.#secure ?? this.#raw;
  }

  /** Starts reading from the current top of the stack; `pending` bytes are read first. */
  start(pending?: Uint8Array): void {
    if (this.#reading) return;
    this.#reading = true;
    const top = this.#top;
    top.on("end", TcpConnection.#onEnd);
    if (this.#gzip) {
      const events = this.#events;
      this.#gunzip = new GunzipReader(
        top,
        pending,
        (chunk) => events.data(chunk),
        () => events.end(),
        (error) =>
          this.#events.error(
            error instanceof TransportError ? error : new TransportError(
              "framing",
              `Cannot decompress: ${error.message}`,
              { cause: error },
            ),
          ),
        this.#limits,
      );
      if (this.#paused) this.#gunzip.pause();
      return;
    }
    if (pending?.length) this.#data(pending);
    top.on("data", TcpConnection.#onData);
    if (!this.#paused) top.resume();
  }

  /**
   * Stops reading and detaches the reader, so that nothing more is taken from the socket (the
   * next bytes may be a TLS handshake). Not possible once gzip is on.
   */
  stop(): void {
    if (!this.#reading || this.#gunzip) return;
    this.#reading = false;
    const top = this.#top;
    top.pause();
    top.off("data", TcpConnection.#onData);
    top.off("end", TcpConnection.#onEnd);
  }

  /** Stops handing out bytes for now (backpressure). */
  pause(): void {
    this.#paused = true;
    if (!this.#reading) return;
    if (this.#gunzip) this.#gunzip.pause();
    else this.#top.pause();
  }

  /** Resumes after {@link pause}. */
  resume(): void {
    this.#paused = false;
    if (!this.#reading) return;
    if (this.#gunzip) this.#gunzip.resume();
    else this.#top.resume();
  }

  /**
   * Writes application bytes. With `acknowledged` it resolves when they were handed to the
   * kernel (used around a TLS or gzip switch); otherwise as soon as the stream buffered them,
   * waiting only while the buffer is over its high-water mark. Rejects with `closed` when the
   * connection closes first.
   */
  write(bytes: Uint8Array | string, acknowledged = false): Promise<void> {
    if (this.#closing) return Promise.reject(closedError());
    const write = Promise.withResolvers<void>();
    this.#inFlight = write;
    (this.#gzip
      ? this.#gzip.write(bytes, acknowledged)
      : acknowledged
      ? writeAcknowledged(this.#top, bytes)
      : writeBuffered(this.#top, bytes))
      .then(write.resolve, write.reject);
    return write.promise.finally(() => {
      if (this.#inFlight === write) this.#inFlight = undefined;
    });
  }

  /**
   * Writes `text` synchronously when nothing is in flight: `null` when the stream took it with
   * room to spare, a promise of the drain when its buffer is now full, `undefined` when it cannot
   * write now.
   */
  writeNow(text: string): Promise<void> | null | undefined {
    if (this.#closing || this.#inFlight) return undefined;
    if (this.#gzip) return this.#gzip.writeNow(text);
    return this.#top.write(text) ? null : whenDrained(this.#top);
  }

  /** Resolves once no write is in flight. */
  async idle(): Promise<void> {
    await this.#inFlight?.promise.catch(() => {});
  }

  /**
   * Before a switch (reading stopped): discards the whitespace the peer put after its last
   * envelope (lime-go ends every envelope with `\n`), which may arrive after the confirmation was
   * read. What is already buffered is looked at; with `untilData` (a TLS server, whose peer speaks
   * first in the handshake) it also waits, until the first other byte arrives. Bytes other than
   * whitespace are put back, to be read first after the switch, and returned (without
   * `untilData`, a caller about to start TLS refuses them: nothing may precede the handshake).
   */
  async skipWhitespace(untilData: boolean, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const raw = this.#raw;
    for (let chunk = raw.read() as Uint8Array | null; chunk; chunk = raw.read()) {
      const rest = afterWhitespace(chunk);
      if (rest.length) {
        raw.unshift(rest);
        return rest;
      }
    }
    if (!untilData) return undefined;
    return await new Promise<Uint8Array | undefined>((resolve, reject) => {
      const done = (rest?: Uint8Array, error?: unknown) => {
        raw.off("data", onData);
        raw.off("end", onEnd);
        signal?.removeEventListener("abort", onAbort);
        raw.pause();
        if (rest?.length) raw.unshift(rest);
        if (error) reject(error);
        else resolve(rest);
      };
      const onData = (chunk: Uint8Array) => {
        const rest = afterWhitespace(chunk);
        if (rest.length) done(rest);
      };
      const onEnd = () => done(undefined);
      const onAbort = () =>
        done(undefined, new TransportError("aborted", "The switch was aborted"));
      if (signal?.aborted) return onAbort();
      raw.on("data", onData);
      raw.once("end", onEnd);
      signal?.addEventListener("abort", onAbort, { once: true });
      raw.resume();
    });
  }

  /**
   * Runs the TLS handshake on the socket (reading must be stopped). Rejects with `tls` or
   * `aborted`; the connection is then unusable.
   */
  async startTls(role: TlsRole, signal?: AbortSignal): Promise<void> {
    const secure = role.server
      ? startServerTls(this.#raw, role.options)
      : startClientTls(this.#raw, role.options, role.host);
    this.#secure = secure;
    pauseWithConnection(secure, this.#raw);
    (secure as OwnedSocket)[OWNER] = this;
    secure.on("error", TcpConnection.#onTlsError);
    this.#raw.off("close", TcpConnection.#onClose);
    secure.on("close", TcpConnection.#onClose);
    this.#handshaking = true;
    try {
      await handshake(secure, role.server, signal);
    } finally {
      this.#handshaking = false;
    }
    this.peerCertificate = role.server
      ? peerCertificateOf(secure, role.authorities)
      : peerCertificateOf(secure, [], true);
  }

  /** Starts gzip in both directions, inside TLS when it is on (reading must be stopped). */
  startGzip(): void {
    this.#gzip = new GzipWriter(this.#top);
  }

  /**
   * Releases everything: finishes the gzip stream and ends the socket gracefully (TLS
   * close_notify, FIN), or abruptly when asked (`abrupt`: a peer that takes nothing would only
   * hold the buffers until the end times out) or when a write or the TLS handshake is under way
   * (the write rejects with `closed`); then waits until the sockets have closed.
   */
  async close(abrupt = false): Promise<void> {
    this.#closing = true;
    abrupt ||= this.#inFlight !== undefined || this.#handshaking;
    this.#inFlight?.reject(closedError());
    const top = this.#top;
    top.off("data", TcpConnection.#onData);
    top.off("end", TcpConnection.#onEnd);
    this.#gunzip?.destroy();
    if (this.#gzip && !abrupt) await atMost(this.#gzip.finish(), END_TIMEOUT_MS);
    this.#gzip?.destroy();
    await shutdown(top, abrupt);
    if (!this.#raw.destroyed) this.#raw.destroy();
    // Asked now, not watched from the start: a `close` listener, its promise and its array per
    // connection held for the connection's life. `whenClosed` resolves at once for a socket
    // destroyed before (its `close` event may still be on its way).
    await Promise.all([whenClosed(this.#raw), this.#secure && whenClosed(this.#secure)]);
  }

  #failed(error: Error, code: "io" | "tls"): void {
    if (this.#closing || this.#handshaking) return;
    const what = code === "tls" ? "TLS error" : "Connection error";
    this.#events.error(new TransportError(code, `${what}: ${error.message}`, { cause: error }));
  }
}

function closedError(): TransportError {
  return new TransportError("closed", "Cannot send: the transport closed");
}
