/**
 * The server side of LIME over WebSocket on a socket this module owns (`node:net`, or `node:tls`
 * over it): what the socket side (`WebSocketServerSocket`: frames, keepalive, close handshake)
 * reads becomes envelopes here, sends are framed here and counted in the socket's
 * `writableLength`, reading is paused while the receive queue is full, and a failure closes with
 * its WebSocket code. The LIME side (one message holds envelopes, close codes) is the one of
 * `WebSocketTransport`.
 * @module
 */
import { Buffer, isAscii } from "node:buffer";
// Imported: Deno 2.5 has no global `setImmediate` for `deno check`.
import { setImmediate } from "node:timers";
import { TransportError } from "./errors.ts";
import { formatEndpoint } from "./tcp_io.ts";
import type { TransportOptions } from "./transport.ts";
import { TransportBase } from "./transport_base.ts";
import {
  DEFAULT_WEBSOCKET_CLOSE_TIMEOUT,
  DEFAULT_WEBSOCKET_HIGH_WATER_MARK,
  WEBSOCKET_ERROR_CLOSE_CODE,
} from "./websocket.ts";
import { encodeTextFrames } from "./websocket_frame_writer.ts";
import { CLOSE_INVALID_DATA, CLOSE_TOO_BIG } from "./websocket_frames.ts";
import type { UpgradedSocket } from "./websocket_node_server.ts";
import { CLEAN_CLOSE_CODES, closedWithCode, receiveMessage } from "./websocket_message.ts";
import {
  FAILURE_CLOSE_GRACE,
  type SocketEvents,
  WebSocketServerSocket,
} from "./websocket_server_socket.ts";

export { FAILURE_CLOSE_GRACE };

/** Default `idleTimeout`: 30 s (Deno's WebSocket default). */
export const DEFAULT_WEBSOCKET_IDLE_TIMEOUT = 30;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Options of a {@link WebSocketServerTransport}. */
export interface WebSocketServerTransportOptions extends TransportOptions {
  /**
   * Sends wait while the socket holds more than this many bytes (and never past a quarter of
   * `maxQueuedBytes`, so a slow reader meets that cap with sends waiting). Default 1 MiB.
   */
  highWaterMark?: number;
  /**
   * How long a local close waits for the peer's close frame before the socket is destroyed, in
   * ms. Default 5000. (After a failure: at most {@link FAILURE_CLOSE_GRACE}.)
   */
  closeTimeout?: number;
  /**
   * Seconds of silence before a ping, and again before the connection is dropped for lack of any
   * answer (0 disables pings). Default 30. The connections with the same value share one timer
   * ticking at that period, so each wait is one to two periods.
   */
  idleTimeout?: number;
  /** Write the sends that follow the first one in an event-loop turn in one write. Default true. */
  batchSends?: boolean;
  /** Encryption of the connection. Default `none`. */
  encryption?: "none" | "tls";
  /** The peer's address (`host:port`); default the socket's. */
  remoteEndpoint?: string;
}

/**
 * A server-side LIME transport over a WebSocket whose socket it owns. Made by
 * `WebSocketTransportListener` when listening on its own port; behaves like the server side of
 * `WebSocketTransport` (close codes, `framing` errors, last words), with these differences:
 *
 * - a message larger than `receiveLimit` is refused as soon as its frame header arrives: close
 *   code 1009 and the `framing` error, without reading its payload; invalid UTF-8 in a text
 *   message closes with 1007, a broken protocol (unmasked frame, bad opcode, ...) with 1002;
 * - reading stops while the receive queue is full (real backpressure);
 * - a close after a failure waits at most {@link FAILURE_CLOSE_GRACE} for the peer, a local close
 *   at most `closeTimeout`; then the socket is destroyed, whatever the peer does.
 */
export class WebSocketServerTransport extends TransportBase {
  readonly #connection: WebSocketServerSocket;
  readonly #closeTimeout: number;
  readonly #batching: boolean;
  // Read when first asked for (null: not yet), as `TcpConnection` does: a server never asks.
  #localEndpoint: string | undefined | null = null;
  readonly #remoteEndpoint: string | undefined;
  // Told once the socket is released (see the constructor).
  readonly #onReleased: ((transport: WebSocketServerTransport) => void) | undefined;
  #failCode = WEBSOCKET_ERROR_CLOSE_CODE;
  #released: Promise<void> | undefined;

  /**
   * Takes over the socket of an accepted upgrade; the transport is open at once. Reading starts
   * on the next macrotask, so that whoever takes the transport can lower `receiveLimit` first.
   * `released` is called once its sockets have closed, just before `closed` resolves: what a
   * listener uses to forget it (a reaction on `closed` costs a promise, a closure and their
   * context per connection).
   */
  constructor(
    upgraded: UpgradedSocket,
    options: WebSocketServerTransportOptions = {},
    released?: (transport: WebSocketServerTransport) => void,
  ) {
    super(options, true);
    this.#onReleased = released;
    const highWaterMark = options.highWaterMark ?? DEFAULT_WEBSOCKET_HIGH_WATER_MARK;
    this.#closeTimeout = options.closeTimeout ?? DEFAULT_WEBSOCKET_CLOSE_TIMEOUT;
    this.#batching = options.batchSends ?? true;
    this.encryption = options.encryption ?? "none";
    const tcp = upgraded.raw ?? upgraded.socket;
    this.#remoteEndpoint = options.remoteEndpoint ??
      formatEndpoint(tcp.remoteAddress, tcp.remotePort);
    this.#connection = new WebSocketServerSocket(
      upgraded,
      new WebSocketServerTransport.#Events(this),
      {
        maxMessageSize: this.receiveLimit,
        highWaterMark: this.maxQueuedBytes > 0
          ? Math.min(highWaterMark, this.maxQueuedBytes / 4)
          : highWaterMark,
        idleTimeout: options.idleTimeout ?? DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
      },
    );
  }

  /**
   * What its socket side reports, passed on to the transport: one small object per transport
   * (a closure per event and connection would live as long as the connection).
   */
  static readonly #Events = class implements SocketEvents {
    readonly #transport: WebSocketServerTransport;
    constructor(transport: WebSocketServerTransport) {
      this.#transport = transport;
    }
    message(payload: Uint8Array, text: boolean): void {
      this.#transport.#onMessage(payload, text);
    }
    ping(payload: Uint8Array): void {
      this.#transport.#connection.answerPing(payload);
    }
    pong(): void {}
    close(code: number, reason: string): void {
      this.#transport.#onClose(code, reason);
    }
    error(code: number, reason: string): void {
      this.#transport.#onProtocolError(code, reason);
    }
    gone(error?: unknown): void {
      this.#transport.#onSocketGone(error);
    }
    dead(seconds: number): void {
      this.#transport.fail(
        new TransportError("io", `No answer to a WebSocket ping within ${seconds} s`),
      );
    }
  };

  /** This side's `host:port`, read when first asked for (undefined if the socket was gone then). */
  override get localEndpoint(): string | undefined {
    if (this.#localEndpoint === null) {
      const tcp = this.#connection.raw ?? this.#connection.socket;
      this.#localEndpoint = formatEndpoint(tcp.localAddress, tcp.localPort);
    }
    return this.#localEndpoint;
  }

  /** The peer's `host:port` (from `X-Forwarded-For` with port 0 when the listener trusts it). */
  override get remoteEndpoint(): string | undefined {
    return this.#remoteEndpoint;
  }

  /** Clients connected with `open()` only. */
  protected openConnection(): Promise<void> {
    return Promise.reject(new TransportError("io", "Cannot open: the transport is server-side"));
  }

  /** Whether the transport is done with its connection (ending it, or closed). */
  get #done(): boolean {
    return this.#connection.ending || this.isClosing;
  }

  // ---------------------------------------------------------------- reading

  #onMessage(payload: Uint8Array, text: boolean): void {
    if (this.#done) return;
    let data: string | Uint8Array | undefined = payload;
    if (text) {
      data = decodeText(payload);
      if (data === undefined) {
        return this.#failWith(CLOSE_INVALID_DATA, "The WebSocket text message is not UTF-8");
      }
    }
    const limits = {
      maxEnvelopeSize: this.receiveLimit,
      maxDepth: this.maxDepth,
      maxMembers: this.maxMembers,
    };
    const error = receiveMessage(data, limits, (frame) => {
      if (!this.#done) this.receiveFrame(frame);
    });
    if (error) this.fail(error);
  }

  /** The peer's close frame: the answer to ours, or its own close (echoed, then hung up). */
  #onClose(code: number, reason: string): void {
    this.#connection.peerClosed();
    if (this.#done) return;
    this.#connection.writeClose(code, "");
    if (CLEAN_CLOSE_CODES.has(code)) this.remoteClosed();
    else {
      const error = closedWithCode(code, reason);
      this.#released ??= this.#teardown(code, "", 0);
      this.#released.then(() => super.fail(error));
    }
  }

  #onProtocolError(code: number, reason: string): void {
    if (this.#done) {
      if (code !== CLOSE_TOO_BIG) this.#connection.destroy(); // out of step while closing: done
      return;
    }
    this.#failWith(code, code === CLOSE_TOO_BIG ? reason : `WebSocket protocol error: ${reason}`);
  }

  /** The connection ended (or failed) under the WebSocket, without a close frame first. */
  #onSocketGone(error?: unknown): void {
    if (this.#done) return;
    const detail = error instanceof Error ? `: ${error.message}` : "";
    const failure = new TransportError(
      "io",
      `The WebSocket closed with code 1006 (no close frame${detail})`,
      error instanceof Error ? { cause: error } : undefined,
    );
    this.#released ??= this.#teardown(WEBSOCKET_ERROR_CLOSE_CODE, "", 0);
    this.#released.then(() => super.fail(failure));
  }

  /** The receive limit applies from the next message's header on. */
  protected override receiveLimitChanged(bytes: number): void {
    this.#connection.maxMessageSize = bytes;
  }

  /** Stops reading the socket (the receive queue is full). */
  protected override pauseReading(): void {
    this.#connection.pauseReading();
  }

  /** Reads again. */
  protected override resumeReading(): void {
    this.#connection.resumeReading();
  }

  // ---------------------------------------------------------------- writing

  /** Frames and writes one envelope when the socket is open (see TransportBase). */
  protected override writeEnvelopeNow(text: string): Promise<void> | null | undefined {
    return this.#connection.write(encodeTextFrames([text]));
  }

  /** Frames each envelope (one text message each) and writes them in one write. */
  protected override writeEnvelopesNow(texts: readonly string[]): Promise<void> | null | undefined {
    return this.#connection.write(encodeTextFrames(texts));
  }

  /** Used only while closing: the connection takes nothing more. */
  protected writeEnvelope(): Promise<void> {
    return Promise.reject(new TransportError("closed", "Cannot send: the WebSocket is closing"));
  }

  /** Several queued envelopes may go in one write (each still its own message). */
  protected override get coalescesWrites(): boolean {
    return true;
  }

  /** The sends after the first one in a turn go out together at its end. */
  protected override get batchesSends(): boolean {
    return this.#batching && !this.#connection.closeSent;
  }

  /** Writes the batch at the end of the turn. */
  protected override scheduleFlush<Q>(flush: (queue: Q) => void, queue: Q): void {
    setImmediate(flush, queue);
  }

  /** What the sockets hold for the peer (counted against `maxQueuedBytes`). */
  protected override connectionQueuedBytes(): number {
    return this.#connection.queuedBytes();
  }

  // ---------------------------------------------------------------- closing

  /** Closes: a close frame (1000), up to `closeTimeout` for the peer's, then the socket goes. */
  override async close(): Promise<void> {
    // A remote close or a failure is being torn down: wait for it rather than claim it.
    if (this.#connection.ending && !this.isClosing) await this.closed;
    else await super.close();
  }

  /** Releases the connection (once); resolves when the socket has closed. */
  protected closeConnection(): Promise<void> {
    return this.#released ??= this.#teardown(1000, "", this.#closeTimeout);
  }

  /** The peer closed cleanly: `closed` resolves once the socket is released. */
  protected override remoteClosed(): void {
    if (this.#done) return;
    this.closeConnection().then(() => super.remoteClosed());
  }

  /**
   * A failure: the last words (a server's `failed`), a close frame with 4000 (or the WebSocket
   * code of the failure) and the reason, then at most {@link FAILURE_CLOSE_GRACE} for the peer.
   */
  protected override fail(error: TransportError): void {
    if (this.#done) return;
    this.flushSends();
    this.sayLastWords(error);
    this.#released ??= this.#teardown(this.#failCode, error.message, FAILURE_CLOSE_GRACE);
    this.#released.then(() => super.fail(error));
  }

  #failWith(code: number, message: string): void {
    this.#failCode = code;
    this.fail(new TransportError("framing", message));
  }

  /** Ends the connection (see `WebSocketServerSocket.end`); then tells `released`. */
  async #teardown(code: number, reason: string, wait: number): Promise<void> {
    try {
      await this.#connection.end(code, reason, wait);
    } finally {
      this.#onReleased?.(this);
    }
  }
}

/** A text message's string; undefined when it is not UTF-8. */
function decodeText(payload: Uint8Array): string | undefined {
  // Most envelopes are ASCII: read as Latin-1 that is 4× cheaper than a (strict) UTF-8 decode.
  if (isAscii(payload)) {
    const buffer = payload instanceof Buffer
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    return buffer.toString("latin1");
  }
  try {
    return utf8.decode(payload);
  } catch {
    return undefined;
  }
}
