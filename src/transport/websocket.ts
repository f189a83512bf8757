/**
 * LIME over WebSocket (lime-protocol §5.4), on the standard `WebSocket` API only, so the same code
 * runs in Deno and in browsers. The subprotocol is `lime`; each envelope is sent as one text
 * message; encryption is given by the URI scheme (`wss` ⇒ `tls`) and cannot change in session, and
 * compression is `none` only, so LIME servers skip negotiation.
 * @module
 */
import { TransportError } from "./errors.ts";
import type { TransportOptions } from "./transport.ts";
import { TransportBase } from "./transport_base.ts";
import { CLEAN_CLOSE_CODES, closedWithCode, receiveMessage } from "./websocket_message.ts";

/** The WebSocket subprotocol LIME clients request and servers select. */
export const LIME_SUBPROTOCOL = "lime";
/** Default `highWaterMark`: 1 MiB. */
export const DEFAULT_WEBSOCKET_HIGH_WATER_MARK = 1024 * 1024;
/** Default `closeTimeout`: 5 s, like lime-csharp's graceful close. */
export const DEFAULT_WEBSOCKET_CLOSE_TIMEOUT = 5000;

/** The close code sent when this side closes the socket because of an error (private range). */
export const WEBSOCKET_ERROR_CLOSE_CODE = 4000;

// These readyState values are fixed by the standard; spelled out so no global is needed.
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;
const MAX_POLL_DELAY = 32;
// Set only while fromSocket constructs: that transport starts open.
let adopting = false;

/** Options of a WebSocket transport. */
export interface WebSocketTransportOptions extends TransportOptions {
  /**
   * A send resolves only once the socket's `bufferedAmount` is at most this many bytes (polled
   * with a timer), so a fast sender cannot fill memory. Default 1 MiB.
   */
  highWaterMark?: number;
  /** How long a close waits for the peer's close frame, in ms. Default 5000. */
  closeTimeout?: number;
  /**
   * Makes the client socket; default `new WebSocket(url, protocol)`. For runtime-specific
   * options, e.g. in Deno a private CA:
   * `(url, protocol) => new WebSocket(url, { protocols: [protocol], client })`.
   */
  createSocket?: (url: string, protocol: string) => WebSocket;
}

/** Extra options of {@link WebSocketTransport.fromSocket}. */
export interface WebSocketSocketOptions extends WebSocketTransportOptions {
  /** Encryption of the connection. Default: `tls` when the socket's URL is `wss:`, else `none`. */
  encryption?: "none" | "tls";
  /** This side's address (`host:port`), when the caller knows it. */
  localEndpoint?: string;
  /** The peer's address (`host:port`), when the caller knows it (e.g. from the HTTP server). */
  remoteEndpoint?: string;
}

/**
 * A LIME transport over a WebSocket.
 *
 * Client: `new WebSocketTransport(options)` then `open("ws://host:8080")`; it requests the `lime`
 * subprotocol and fails to open (TransportError `io`) unless the server selects it. Server:
 * {@link WebSocketTransport.fromSocket} wraps an accepted socket (`upgradeLimeWebSocket` does, in
 * an app's own HTTP server); the standalone listener uses `WebSocketServerTransport` instead, on
 * a socket it owns, which lifts the limits below.
 *
 * Receiving: text messages are the norm; binary messages are accepted too and read as UTF-8 JSON
 * (strictly: invalid UTF-8 is an invalid envelope). A message may hold several envelopes and
 * whitespace; it may not end inside an envelope, nor exceed `maxEnvelopeSize` as a whole (the
 * transport then closes with a `framing` error).
 *
 * Backpressure: the standard WebSocket API cannot stop reading, so when the consumer falls
 * behind, received envelopes keep queueing in memory past `receiveBufferSize`: the receive buffer
 * is unbounded on this transport. Sends wait while `bufferedAmount` is over `highWaterMark`; what
 * is held for a peer that does not read (`bufferedAmount` plus the sends queued behind it) is
 * capped by `maxQueuedBytes` (8 MiB on server-side transports): past it the transport fails with
 * `slow-reader` and closes with 4000. That close frame waits behind what Deno buffered, so a peer
 * that never reads keeps its connection, and at most the cap, until it goes away (see
 * `websocket_upgrade.ts` for why the API cannot drop it sooner).
 *
 * Closing: a local close sends 1000 (normal closure) and waits up to `closeTimeout` for the
 * peer's close frame. A failure found here (framing, invalid envelope) closes with code 4000 and
 * the error message as reason; `closed` resolves once the socket has closed. A peer close with
 * 1000, 1001 or 1005 is a `remote` close; any other code (or a dropped connection) is an `io`
 * error naming the code and reason.
 */
export class WebSocketTransport extends TransportBase {
  readonly #highWaterMark: number;
  readonly #closeTimeout: number;
  readonly #createSocket: (url: string, protocol: string) => WebSocket;
  #socket: WebSocket | undefined;
  #localEndpoint: string | undefined;
  #remoteEndpoint: string | undefined;
  #opening = false;
  #failure: TransportError | undefined;
  #socketClosed!: Promise<void>;
  #wake: (() => void) | undefined;

  /** Creates a client transport; connect it with `open(uri)`. */
  constructor(options: WebSocketTransportOptions = {}) {
    super(options, adopting);
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_WEBSOCKET_HIGH_WATER_MARK;
    this.#closeTimeout = options.closeTimeout ?? DEFAULT_WEBSOCKET_CLOSE_TIMEOUT;
    this.#createSocket = options.createSocket ??
      ((url, protocol) => new WebSocket(url, protocol));
  }

  /**
   * Wraps a socket a server accepted (or any socket made elsewhere); the transport is open at
   * once. A socket still connecting is fine: sends wait for its `open` event. The subprotocol is
   * not checked here: the code that accepted the socket chose it.
   */
  static fromSocket(socket: WebSocket, options: WebSocketSocketOptions = {}): WebSocketTransport {
    adopting = true;
    let transport: WebSocketTransport;
    try {
      transport = new WebSocketTransport(options);
    } finally {
      adopting = false;
    }
    transport.#open(socket, options);
    return transport;
  }

  /** The underlying socket (once opening started), for `protocol`, `extensions` and the like. */
  get socket(): WebSocket | undefined {
    return this.#socket;
  }

  /** This side's address, when known (the WebSocket API does not tell it). */
  override get localEndpoint(): string | undefined {
    return this.#localEndpoint;
  }

  /** The peer's address: the URI's `host:port` for a client. */
  override get remoteEndpoint(): string | undefined {
    return this.#remoteEndpoint;
  }

  /** Connects to a `ws://` or `wss://` URI, requesting the `lime` subprotocol. */
  protected async openConnection(
    uri: URL | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (uri === undefined) {
      throw new TransportError("io", "Cannot open: a ws:// or wss:// URI is required");
    }
    if (uri.protocol !== "ws:" && uri.protocol !== "wss:") {
      throw new TransportError(
        "unsupported",
        `Cannot open ${uri}: the scheme must be ws: or wss:, not ${uri.protocol}`,
      );
    }
    const port = uri.port || (uri.protocol === "wss:" ? "443" : "80");
    this.#opening = true;
    try {
      const socket = this.#createSocket(uri.href, LIME_SUBPROTOCOL);
      this.#open(socket, {
        encryption: uri.protocol === "wss:" ? "tls" : "none",
        remoteEndpoint: `${uri.hostname}:${port}`,
      });
      const failure = await this.#handshake(socket, uri, signal);
      if (failure) {
        await this.#closeSocket(1000, "");
        throw failure;
      }
    } finally {
      this.#opening = false;
    }
  }

  /** Sends one text message, then waits while `bufferedAmount` is over the high-water mark. */
  protected async writeEnvelope(text: string): Promise<void> {
    const socket = this.#socket!;
    if (socket.readyState === CONNECTING) {
      await new Promise<void>((resolve) => {
        socket.addEventListener("open", () => resolve(), { once: true });
        this.#socketClosed.then(resolve);
      });
    }
    if (socket.readyState !== OPEN || this.#failure) {
      throw new TransportError("closed", "Cannot send: the WebSocket is closing");
    }
    socket.send(text);
    await this.#drained(socket);
  }

  /**
   * Sends at once when the socket is open: resolved (`null`) while `bufferedAmount` stays under
   * the high-water mark, else a promise of its drain; `undefined` while connecting or closing.
   */
  protected override writeEnvelopeNow(text: string): Promise<void> | null | undefined {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN || this.#failure) return undefined;
    socket.send(text);
    return socket.bufferedAmount > this.#highWaterMark ? this.#drained(socket) : null;
  }

  /** Waits while `bufferedAmount` is over the high-water mark (polling, backing off). */
  async #drained(socket: WebSocket): Promise<void> {
    let delay = 1;
    while (socket.bufferedAmount > this.#highWaterMark) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, delay);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
      if (socket.readyState !== OPEN) {
        throw new TransportError("closed", "Cannot send: the WebSocket closed while sending");
      }
      delay = Math.min(delay * 2, MAX_POLL_DELAY);
    }
  }

  /** The socket's `bufferedAmount`: sent and not yet handed to the network. */
  protected override connectionQueuedBytes(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  /** Sends a last text message when the socket is open (before an error close). */
  protected override writeFinal(text: string): void {
    if (this.#socket?.readyState === OPEN) this.#socket.send(text);
  }

  /** Closes with 1000 (normal closure) and waits for the peer's close frame. */
  protected closeConnection(): Promise<void> {
    return this.#closeSocket(1000, "");
  }

  /** Closes the socket with an error code first; `closed` resolves once the socket has closed. */
  protected override fail(error: TransportError): void {
    if (this.isClosing || this.#failure) return;
    this.sayLastWords(error);
    if (this.#socket === undefined || this.#socket.readyState === CLOSED) {
      super.fail(error);
      return;
    }
    this.#failure = error;
    this.#closeSocket(WEBSOCKET_ERROR_CLOSE_CODE, error.message).then(() => super.fail(error));
  }

  #open(socket: WebSocket, options: WebSocketSocketOptions): void {
    this.#socket = socket;
    this.encryption = options.encryption ?? (socket.url.startsWith("wss:") ? "tls" : "none");
    this.#localEndpoint = options.localEndpoint;
    this.#remoteEndpoint = options.remoteEndpoint;
    socket.binaryType = "arraybuffer";
    this.#socketClosed = new Promise((resolve) =>
      socket.addEventListener("close", () => resolve(), { once: true })
    );
    socket.addEventListener("message", (event) => this.#onMessage(event));
    socket.addEventListener("close", (event) => this.#onClose(event));
    if (socket.readyState === CLOSED) {
      super.fail(new TransportError("closed", "The WebSocket was already closed"));
    }
  }

  /** Waits for the opening handshake; returns why it failed, if it did. */
  #handshake(
    socket: WebSocket,
    uri: URL,
    signal: AbortSignal | undefined,
  ): Promise<TransportError | undefined> {
    return new Promise((resolve) => {
      let errorMessage = "";
      const onError = (event: Event) => errorMessage = (event as ErrorEvent).message ?? "";
      const onAbort = () =>
        finish(
          new TransportError("aborted", "Opening the transport was aborted", {
            cause: signal?.reason,
          }),
        );
      const onOpen = () =>
        finish(
          socket.protocol === LIME_SUBPROTOCOL ? undefined : new TransportError(
            "io",
            `Cannot open ${uri}: the server did not select the "${LIME_SUBPROTOCOL}" subprotocol (it selected "${socket.protocol}")`,
          ),
        );
      const onClose = (event: Event) => {
        const { code } = event as CloseEvent;
        const detail = errorMessage || `closed with code ${code}`;
        finish(new TransportError("io", `Cannot open ${uri}: ${detail}`));
      };
      const finish = (failure: TransportError | undefined) => {
        socket.removeEventListener("open", onOpen);
        socket.removeEventListener("error", onError);
        socket.removeEventListener("close", onClose);
        signal?.removeEventListener("abort", onAbort);
        resolve(failure);
      };
      socket.addEventListener("open", onOpen);
      socket.addEventListener("error", onError);
      socket.addEventListener("close", onClose);
      signal?.addEventListener("abort", onAbort);
    });
  }

  #limits(): { maxEnvelopeSize: number; maxDepth: number; maxMembers: number } {
    return {
      maxEnvelopeSize: this.receiveLimit,
      maxDepth: this.maxDepth,
      maxMembers: this.maxMembers,
    };
  }

  #onMessage(event: MessageEvent): void {
    if (this.#failure || this.isClosing) return;
    const data = event.data;
    let message: string | Uint8Array;
    if (typeof data === "string") message = data;
    else if (data instanceof ArrayBuffer) message = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) {
      message = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      this.fail(new TransportError("framing", "Received a WebSocket message of an unknown type"));
      return;
    }
    const error = receiveMessage(message, this.#limits(), (frame) => {
      if (!this.#failure && !this.isClosing) this.receiveFrame(frame);
    });
    if (error) this.fail(error);
  }

  #onClose(event: CloseEvent): void {
    this.#wake?.();
    if (this.#opening) return; // the handshake reports it
    if (this.#failure) {
      super.fail(this.#failure);
    } else if (!this.isClosing) {
      if (CLEAN_CLOSE_CODES.has(event.code)) {
        this.remoteClosed();
      } else {
        super.fail(closedWithCode(event.code, event.reason));
      }
    }
  }

  /** Closes the socket (if still open) and waits for its close event, at most `closeTimeout`. */
  #closeSocket(code: number, reason: string): Promise<void> {
    this.#wake?.();
    const socket = this.#socket;
    if (socket === undefined || socket.readyState === CLOSED) return Promise.resolve();
    if (socket.readyState === CONNECTING || socket.readyState === OPEN) {
      socket.close(code, truncateReason(reason));
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#closeTimeout);
      this.#socketClosed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const encoder = new TextEncoder();

/** A close reason is at most 123 UTF-8 bytes. */
function truncateReason(reason: string): string {
  if (reason.length <= 40) return reason;
  let out = reason.slice(0, 123);
  while (encoder.encode(out).length > 123) out = out.slice(0, -1);
  return out;
}
