/**
 * The server side of LIME over WebSocket on a socket this module owns (`node:net`, or `node:tls`
 * over it): frames read by {@link FrameReader}, which refuses an oversize message on its header,
 * reading paused while the receive queue is full, sends framed here and counted in the socket's
 * `writableLength`, and every close bounded in time (the socket is destroyed, not left to the
 * peer). The LIME side (one message holds envelopes, close codes) is the one of
 * `WebSocketTransport`.
 * @module
 */
import { Buffer, isAscii } from "node:buffer";
import type net from "node:net";
// Imported: Deno 2.5 has no global `setImmediate` for `deno check`.
import { setImmediate } from "node:timers";
import { TransportError } from "./errors.ts";
import { atMost, formatEndpoint, whenClosed, whenDrained } from "./tcp_io.ts";
import type { TransportOptions } from "./transport.ts";
import { TransportBase } from "./transport_base.ts";
import {
  DEFAULT_WEBSOCKET_CLOSE_TIMEOUT,
  DEFAULT_WEBSOCKET_HIGH_WATER_MARK,
  WEBSOCKET_ERROR_CLOSE_CODE,
} from "./websocket.ts";
import { encodeCloseFrame, encodeFrame, encodeTextFrames } from "./websocket_frame_writer.ts";
import {
  CLOSE_INVALID_DATA,
  CLOSE_TOO_BIG,
  type FrameEvents,
  FrameReader,
  OPCODE,
} from "./websocket_frames.ts";
import { Keepalive, type KeepaliveHooks } from "./websocket_keepalive.ts";
import { releaseHeadListeners } from "./websocket_handshake.ts";
import type { UpgradedSocket } from "./websocket_node_server.ts";
import { CLEAN_CLOSE_CODES, closedWithCode, receiveMessage } from "./websocket_message.ts";
import { dataArrived } from "./send_queue.ts";

/** How long a close after a failure waits for the peer before the socket is destroyed: 1 s. */
export const FAILURE_CLOSE_GRACE = 1000;
/**
 * Most bytes read (and dropped) while waiting for the peer's close frame; past this reading
 * stops: a peer pushing a large message after its refusal is not read on (reading megabytes only
 * to drop them leaves as much garbage for the collector: 4 × 60 MiB raised RSS by 218 MiB).
 */
const CLOSING_READ_BUDGET = 256 * 1024;
/** Default `idleTimeout`: 30 s (Deno's WebSocket default). */
export const DEFAULT_WEBSOCKET_IDLE_TIMEOUT = 30;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// The socket's transport, for the socket listeners every transport shares.
const OWNER = Symbol("lime.webSocketServerTransport");
type OwnedSocket = net.Socket & { [OWNER]?: WebSocketServerTransport };

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
  readonly #socket: net.Socket;
  readonly #raw: net.Socket | undefined;
  readonly #reader: FrameReader;
  readonly #highWaterMark: number;
  readonly #closeTimeout: number;
  readonly #batching: boolean;
  // Read when first asked for (null: not yet), as `TcpConnection` does: a server never asks.
  #localEndpoint: string | undefined | null = null;
  readonly #remoteEndpoint: string | undefined;
  // The peer is done (its close frame arrived or the socket ended), and who waits for that.
  #peerDone = false;
  #peerWaiter: (() => void) | undefined;
  // Told once the socket is released (see the constructor).
  readonly #onReleased: ((transport: WebSocketServerTransport) => void) | undefined;
  #failCode = WEBSOCKET_ERROR_CLOSE_CODE;
  #closeSent = false;
  #closeReceived = false;
  #ending = false;
  #released: Promise<void> | undefined;
  #paused = false;
  #starting: ReturnType<typeof setTimeout> | undefined;
  // The bytes that came with the upgrade, until reading starts (a close before then reads them).
  #head: Uint8Array | undefined;
  #keepalive: Keepalive<WebSocketServerTransport> | undefined;
  #closingRead = 0;

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
    const { socket, raw, head } = upgraded;
    this.#onReleased = released;
    this.#socket = socket;
    this.#raw = raw;
    const highWaterMark = options.highWaterMark ?? DEFAULT_WEBSOCKET_HIGH_WATER_MARK;
    this.#highWaterMark = this.maxQueuedBytes > 0
      ? Math.min(highWaterMark, this.maxQueuedBytes / 4)
      : highWaterMark;
    this.#closeTimeout = options.closeTimeout ?? DEFAULT_WEBSOCKET_CLOSE_TIMEOUT;
    this.#batching = options.batchSends ?? true;
    this.encryption = options.encryption ?? "none";
    const tcp = raw ?? socket;
    tcp.setNoDelay(true);
    this.#remoteEndpoint = options.remoteEndpoint ??
      formatEndpoint(tcp.remoteAddress, tcp.remotePort);
    this.#reader = new FrameReader(
      new WebSocketServerTransport.#FrameEvents(this),
      this.receiveLimit,
    );
    socket.pause();
    (socket as OwnedSocket)[OWNER] = this;
    socket.on("error", WebSocketServerTransport.#onSocketEnd);
    socket.on("end", WebSocketServerTransport.#onSocketEnd);
    socket.on("close", WebSocketServerTransport.#onSocketEnd);
    if (head?.length) this.#head = head;
    this.#starting = setTimeout(
      WebSocketServerTransport.#start,
      0,
      this,
      options.idleTimeout ?? DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
    );
  }

  // What the transport does with its socket and frames is shared by every transport: `this` (or
  // the argument) is the socket or the transport. A closure per listener and connection would
  // live as long as the connection.

  static #start(transport: WebSocketServerTransport, seconds: number): void {
    transport.#starting = undefined;
    const socket = transport.#socket;
    transport.#read();
    const head = transport.#head;
    transport.#head = undefined;
    if (head) transport.#onData(head);
    if (!transport.#paused) socket.resume();
    if (transport.#ending) return; // the early bytes already ended it: nothing to keep alive
    transport.#keepalive = new Keepalive(
      seconds,
      transport,
      WebSocketServerTransport.#keepaliveHooks,
    );
  }

  /**
   * Reads the socket: its data listener, and (all of its listeners now there) the upgrade's
   * inert ones released, so that each event keeps one listener and no array.
   */
  #read(): void {
    this.#socket.on("data", WebSocketServerTransport.#onSocketData);
    releaseHeadListeners(this.#socket);
  }

  static readonly #onSocketData = function (this: OwnedSocket, chunk: Uint8Array): void {
    this[OWNER]!.#onData(chunk);
  };

  static readonly #onSocketEnd = function (this: OwnedSocket, error?: unknown): void {
    this[OWNER]!.#onSocketGone(error);
  };

  static readonly #keepaliveHooks: KeepaliveHooks<WebSocketServerTransport> = {
    sendPing: (transport) => transport.#writeControl(encodeFrame(OPCODE.ping, new Uint8Array(0))),
    paused: (transport) => transport.#paused,
    dead: (transport, seconds) =>
      transport.fail(
        new TransportError("io", `No answer to a WebSocket ping within ${seconds} s`),
      ),
  };

  /** What its frame reader reports, passed on to the transport: one small object per transport. */
  static readonly #FrameEvents = class implements FrameEvents {
    readonly #transport: WebSocketServerTransport;
    constructor(transport: WebSocketServerTransport) {
      this.#transport = transport;
    }
    message(payload: Uint8Array, text: boolean): void {
      this.#transport.#onMessage(payload, text);
    }
    ping(payload: Uint8Array): void {
      this.#transport.#onPing(payload);
    }
    pong(): void {}
    close(code: number, reason: string): void {
      this.#transport.#onClose(code, reason);
    }
    error(code: number, reason: string): void {
      this.#transport.#onProtocolError(code, reason);
    }
  };

  /** This side's `host:port`, read when first asked for (undefined if the socket was gone then). */
  override get localEndpoint(): string | undefined {
    if (this.#localEndpoint === null) {
      const tcp = this.#raw ?? this.#socket;
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

  // ---------------------------------------------------------------- reading

  #onData(chunk: Uint8Array): void {
    dataArrived();
    this.#keepalive?.heard();
    if (this.#ending && (this.#closingRead += chunk.length) > CLOSING_READ_BUDGET) {
      this.#socket.pause(); // the peer sends on instead of closing: the deadline will end it
    }
    this.#reader.push(chunk);
  }

  #onMessage(payload: Uint8Array, text: boolean): void {
    if (this.#ending || this.isClosing) return;
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
      if (!this.#ending && !this.isClosing) this.receiveFrame(frame);
    });
    if (error) this.fail(error);
  }

  /**
   * Answers a ping, unless the socket already holds more than the high-water mark for a peer
   * that is not reading (RFC 6455 lets an endpoint answer only the latest ping): pongs bypass the
   * send queue, so a peer pinging without reading must not make them pile up.
   */
  #onPing(payload: Uint8Array): void {
    if (this.connectionQueuedBytes() <= this.#highWaterMark) {
      this.#writeControl(encodeFrame(OPCODE.pong, payload));
    }
  }

  /** The peer's close frame: the answer to ours, or its own close (echoed, then hung up). */
  #onClose(code: number, reason: string): void {
    this.#closeReceived = true;
    this.#peerHeard();
    if (this.#ending || this.isClosing) return;
    this.#writeClose(code, "");
    if (CLEAN_CLOSE_CODES.has(code)) this.remoteClosed();
    else {
      const error = closedWithCode(code, reason);
      this.#released ??= this.#teardown(code, "", 0);
      this.#released.then(() => super.fail(error));
    }
  }

  #onProtocolError(code: number, reason: string): void {
    if (this.#ending || this.isClosing) {
      if (code !== CLOSE_TOO_BIG) this.#socket.destroy(); // out of step while closing: done
      return;
    }
    this.#failWith(code, code === CLOSE_TOO_BIG ? reason : `WebSocket protocol error: ${reason}`);
  }

  /** The peer is done: its close frame arrived, or its socket ended. */
  #peerHeard(): void {
    this.#peerDone = true;
    this.#peerWaiter?.();
  }

  /** The connection ended (or failed) under the WebSocket, without a close frame first. */
  #onSocketGone(error?: unknown): void {
    this.#peerHeard();
    if (this.#ending || this.isClosing) return;
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
    this.#reader.maxMessageSize = bytes;
  }

  /** Stops reading the socket (the receive queue is full). */
  protected override pauseReading(): void {
    this.#paused = true;
    if (!this.#ending) this.#socket.pause();
  }

  /** Reads again. */
  protected override resumeReading(): void {
    this.#paused = false;
    if (this.#starting === undefined) this.#socket.resume();
  }

  // ---------------------------------------------------------------- writing

  /** Frames and writes one envelope when the socket is open (see TransportBase). */
  protected override writeEnvelopeNow(text: string): Promise<void> | null | undefined {
    return this.#write(encodeTextFrames([text]));
  }

  /** Frames each envelope (one text message each) and writes them in one write. */
  protected override writeEnvelopesNow(texts: readonly string[]): Promise<void> | null | undefined {
    return this.#write(encodeTextFrames(texts));
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
    return this.#batching && !this.#closeSent;
  }

  /** Writes the batch at the end of the turn. */
  protected override scheduleFlush<Q>(flush: (queue: Q) => void, queue: Q): void {
    setImmediate(flush, queue);
  }

  /** What the sockets hold for the peer (counted against `maxQueuedBytes`). */
  protected override connectionQueuedBytes(): number {
    return this.#socket.writableLength + (this.#raw?.writableLength ?? 0);
  }

  #write(bytes: Uint8Array): Promise<void> | null | undefined {
    const socket = this.#socket;
    if (this.#closeSent || !socket.writable) return undefined;
    const room = socket.write(bytes);
    return room || this.connectionQueuedBytes() <= this.#highWaterMark ? null : whenDrained(socket);
  }

  #writeControl(frame: Uint8Array): void {
    if (!this.#closeSent && this.#socket.writable) this.#socket.write(frame);
  }

  #writeClose(code: number, reason: string): void {
    this.#writeControl(encodeCloseFrame(code, reason));
    this.#closeSent = true;
  }

  // ---------------------------------------------------------------- closing

  /** Closes: a close frame (1000), up to `closeTimeout` for the peer's, then the socket goes. */
  override async close(): Promise<void> {
    // A remote close or a failure is being torn down: wait for it rather than claim it.
    if (this.#ending && !this.isClosing) await this.closed;
    else await super.close();
  }

  /** Releases the connection (once); resolves when the socket has closed. */
  protected closeConnection(): Promise<void> {
    return this.#released ??= this.#teardown(1000, "", this.#closeTimeout);
  }

  /** The peer closed cleanly: `closed` resolves once the socket is released. */
  protected override remoteClosed(): void {
    if (this.#ending || this.isClosing) return;
    this.closeConnection().then(() => super.remoteClosed());
  }

  /**
   * A failure: the last words (a server's `failed`), a close frame with 4000 (or the WebSocket
   * code of the failure) and the reason, then at most {@link FAILURE_CLOSE_GRACE} for the peer.
   */
  protected override fail(error: TransportError): void {
    if (this.#ending || this.isClosing) return;
    this.flushSends();
    this.sayLastWords(error);
    this.#released ??= this.#teardown(this.#failCode, error.message, FAILURE_CLOSE_GRACE);
    this.#released.then(() => super.fail(error));
  }

  #failWith(code: number, message: string): void {
    this.#failCode = code;
    this.fail(new TransportError("framing", message));
  }

  /**
   * Sends the close frame (unless sent), waits up to `wait` ms for the peer's (reading on, data
   * skipped), then ends the socket: gracefully when the peer answered, else destroyed.
   */
  async #teardown(code: number, reason: string, wait: number): Promise<void> {
    try {
      await this.#endSocket(code, reason, wait);
    } finally {
      this.#onReleased?.(this);
    }
  }

  async #endSocket(code: number, reason: string, wait: number): Promise<void> {
    this.#ending = true;
    this.#keepalive?.stop();
    const socket = this.#socket;
    this.#reader.dropData = true;
    if (this.#starting !== undefined) {
      // Closed before reading started: read now, for the peer's close frame (data is skipped),
      // what came with the upgrade first.
      clearTimeout(this.#starting);
      this.#starting = undefined;
      this.#read();
      const head = this.#head;
      this.#head = undefined;
      if (head) this.#onData(head);
    }
    if (!this.#closeSent) this.#writeClose(code, reason);
    if (!this.#closeReceived && !socket.destroyed && wait > 0) {
      // After a failure, hang up at once (the close frame, then FIN). Either way, read on for
      // the peer's close frame (data is skipped, not kept), even if reading was paused.
      if (code !== 1000) socket.end();
      socket.resume();
      await atMost(
        this.#peerDone ? Promise.resolve() : new Promise<void>((done) => this.#peerWaiter = done),
        wait,
      );
    }
    if (this.#closeReceived && !socket.destroyed) {
      // The close handshake is complete: the server hangs up first (RFC 6455 §7.1.1).
      socket.end();
      await atMost(whenClosed(socket), FAILURE_CLOSE_GRACE);
    }
    socket.destroy();
    this.#raw?.destroy();
    this.#reader.stop();
    await Promise.all([whenClosed(socket), this.#raw && whenClosed(this.#raw)]);
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
