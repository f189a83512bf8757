/**
 * The socket side of a server WebSocket (`WebSocketServerTransport` is the LIME side): the socket
 * (a `node:net` one, or `node:tls` over it) taken over from the upgrade, its frames read by
 * {@link FrameReader}, reading paused and resumed, the keepalive, control frames, and the close
 * handshake bounded in time (the socket is destroyed, not left to the peer).
 *
 * A server keeps one per idle session, so nothing here is a closure per connection: the socket
 * listeners are shared (the socket knows its connection), reading starts from a shared function,
 * and the frame reader and the socket report to one events object of the transport's.
 * @module
 */
import type net from "node:net";
import { atMost, whenClosed, whenDrained } from "./tcp_io.ts";
import { encodeCloseFrame, encodeFrame } from "./websocket_frame_writer.ts";
import { type FrameEvents, FrameReader, OPCODE } from "./websocket_frames.ts";
import { Keepalive, type KeepaliveHooks } from "./websocket_keepalive.ts";
import { releaseHeadListeners } from "./websocket_handshake.ts";
import type { UpgradedSocket } from "./websocket_node_server.ts";
import { dataArrived } from "./send_queue.ts";

/** How long a close after a failure waits for the peer before the socket is destroyed: 1 s. */
export const FAILURE_CLOSE_GRACE = 1000;
/**
 * Most bytes read (and dropped) while waiting for the peer's close frame; past this reading
 * stops: a peer pushing a large message after its refusal is not read on (reading megabytes only
 * to drop them leaves as much garbage for the collector: 4 × 60 MiB raised RSS by 218 MiB).
 */
const CLOSING_READ_BUDGET = 256 * 1024;

// The socket's connection, for the socket listeners every connection shares.
const OWNER = Symbol("lime.webSocketServerSocket");
type OwnedSocket = net.Socket & { [OWNER]?: WebSocketServerSocket };

/** What a {@link WebSocketServerSocket} reports: its frames, and the ends the socket sees. */
export interface SocketEvents extends FrameEvents {
  /** The socket ended or failed without a close frame first (`error` when it failed). */
  gone(error?: unknown): void;
  /** The peer answered no ping for two periods of `seconds`. */
  dead(seconds: number): void;
}

/** How a {@link WebSocketServerSocket} reads and writes. */
export interface SocketSettings {
  /** Largest data message, in bytes (see `FrameReader.maxMessageSize`). */
  maxMessageSize: number;
  /** Writes wait for a drain while the sockets hold more than this many bytes. */
  highWaterMark: number;
  /** Seconds of silence before a keepalive ping (0: none). */
  idleTimeout: number;
}

/** The socket of an accepted WebSocket upgrade, owned until its {@link end}. */
export class WebSocketServerSocket {
  /** The socket that carries the frames (the TLS socket with TLS). */
  readonly socket: net.Socket;
  /** The TCP socket under a TLS socket. */
  readonly raw: net.Socket | undefined;
  readonly #events: SocketEvents;
  readonly #reader: FrameReader;
  readonly #highWaterMark: number;
  // The peer is done (its close frame arrived or the socket ended), and who waits for that.
  #peerDone = false;
  #peerWaiter: (() => void) | undefined;
  #closeSent = false;
  #closeReceived = false;
  #ending = false;
  #paused = false;
  #starting: ReturnType<typeof setTimeout> | undefined;
  // The bytes that came with the upgrade, until reading starts (an end before then reads them).
  #head: Uint8Array | undefined;
  #keepalive: Keepalive<WebSocketServerSocket> | undefined;
  #closingRead = 0;

  /**
   * Takes over the socket of an accepted upgrade, paused; reading starts on the next macrotask,
   * so that whoever takes the transport can lower its receive limit first.
   */
  constructor(upgraded: UpgradedSocket, events: SocketEvents, settings: SocketSettings) {
    const { socket, raw, head } = upgraded;
    this.socket = socket;
    this.raw = raw;
    this.#events = events;
    this.#highWaterMark = settings.highWaterMark;
    this.#reader = new FrameReader(events, settings.maxMessageSize);
    (raw ?? socket).setNoDelay(true);
    socket.pause();
    (socket as OwnedSocket)[OWNER] = this;
    socket.on("error", WebSocketServerSocket.#onSocketEnd);
    socket.on("end", WebSocketServerSocket.#onSocketEnd);
    socket.on("close", WebSocketServerSocket.#onSocketEnd);
    if (head?.length) this.#head = head;
    this.#starting = setTimeout(WebSocketServerSocket.#start, 0, this, settings.idleTimeout);
  }

  static #start(connection: WebSocketServerSocket, seconds: number): void {
    connection.#starting = undefined;
    connection.#read();
    if (!connection.#paused) connection.socket.resume();
    if (connection.#ending) return; // the early bytes already ended it: nothing to keep alive
    connection.#keepalive = new Keepalive(seconds, connection, WebSocketServerSocket.#hooks);
  }

  /**
   * Reads the socket: its data listener, and (all of its listeners now there) the upgrade's
   * inert ones released, so that each event keeps one listener and no array; then the bytes that
   * came with the upgrade.
   */
  #read(): void {
    this.socket.on("data", WebSocketServerSocket.#onSocketData);
    releaseHeadListeners(this.socket);
    const head = this.#head;
    this.#head = undefined;
    if (head) this.#onData(head);
  }

  static readonly #onSocketData = function (this: OwnedSocket, chunk: Uint8Array): void {
    this[OWNER]!.#onData(chunk);
  };

  static readonly #onSocketEnd = function (this: OwnedSocket, error?: unknown): void {
    const connection = this[OWNER]!;
    connection.#peerHeard();
    connection.#events.gone(error);
  };

  static readonly #hooks: KeepaliveHooks<WebSocketServerSocket> = {
    sendPing: (connection) => connection.writeControl(encodeFrame(OPCODE.ping, new Uint8Array(0))),
    paused: (connection) => connection.#paused,
    dead: (connection, seconds) => connection.#events.dead(seconds),
  };

  #onData(chunk: Uint8Array): void {
    dataArrived();
    this.#keepalive?.heard();
    if (this.#ending && (this.#closingRead += chunk.length) > CLOSING_READ_BUDGET) {
      this.socket.pause(); // the peer sends on instead of closing: the deadline will end it
    }
    this.#reader.push(chunk);
  }

  /** Whether it is ending (its {@link end} began). */
  get ending(): boolean {
    return this.#ending;
  }

  /** Whether its close frame was sent (nothing else is written after it). */
  get closeSent(): boolean {
    return this.#closeSent;
  }

  /** The largest data message read from the next message's header on. */
  set maxMessageSize(bytes: number) {
    this.#reader.maxMessageSize = bytes;
  }

  /** The peer's close frame arrived (the answer to ours, or its own close). */
  peerClosed(): void {
    this.#closeReceived = true;
    this.#peerHeard();
  }

  /** The peer is done: its close frame arrived, or its socket ended. */
  #peerHeard(): void {
    this.#peerDone = true;
    this.#peerWaiter?.();
  }

  /** Stops reading the socket (the receive queue is full). */
  pauseReading(): void {
    this.#paused = true;
    if (!this.#ending) this.socket.pause();
  }

  /** Reads again. */
  resumeReading(): void {
    this.#paused = false;
    if (this.#starting === undefined) this.socket.resume();
  }

  // ---------------------------------------------------------------- writing

  /** What the sockets hold for the peer. */
  queuedBytes(): number {
    return this.socket.writableLength + (this.raw?.writableLength ?? 0);
  }

  /**
   * Writes data frames: null when the sockets took them within the high-water mark, the drain
   * to wait for when over it, undefined when nothing can be written any more.
   */
  write(bytes: Uint8Array): Promise<void> | null | undefined {
    const socket = this.socket;
    if (this.#closeSent || !socket.writable) return undefined;
    const room = socket.write(bytes);
    return room || this.queuedBytes() <= this.#highWaterMark ? null : whenDrained(socket);
  }

  /** Writes a control frame (unless the close frame was sent). */
  writeControl(frame: Uint8Array): void {
    if (!this.#closeSent && this.socket.writable) this.socket.write(frame);
  }

  /**
   * Answers a ping, unless the socket already holds more than the high-water mark for a peer
   * that is not reading (RFC 6455 lets an endpoint answer only the latest ping): pongs bypass the
   * send queue, so a peer pinging without reading must not make them pile up.
   */
  answerPing(payload: Uint8Array): void {
    if (this.queuedBytes() <= this.#highWaterMark) {
      this.writeControl(encodeFrame(OPCODE.pong, payload));
    }
  }

  /** Sends the close frame; nothing is written after it. */
  writeClose(code: number, reason: string): void {
    this.writeControl(encodeCloseFrame(code, reason));
    this.#closeSent = true;
  }

  /** Out of step with the peer while ending: the socket goes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  // ---------------------------------------------------------------- ending

  /**
   * Sends the close frame (unless sent), waits up to `wait` ms for the peer's (reading on, data
   * skipped), then ends the socket: gracefully when the peer answered, else destroyed. Resolves
   * once the sockets have closed.
   */
  async end(code: number, reason: string, wait: number): Promise<void> {
    this.#ending = true;
    this.#keepalive?.stop();
    const socket = this.socket;
    this.#reader.dropData = true;
    if (this.#starting !== undefined) {
      // Ended before reading started: read now, for the peer's close frame (data is skipped).
      clearTimeout(this.#starting);
      this.#starting = undefined;
      this.#read();
    }
    if (!this.#closeSent) this.writeClose(code, reason);
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
    this.raw?.destroy();
    this.#reader.stop();
    await Promise.all([whenClosed(socket), this.raw && whenClosed(this.raw)]);
  }
}
