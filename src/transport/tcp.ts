/**
 * The TCP transport: `net.tcp://host:port` (default port 55321), envelopes written back to back
 * as UTF-8 JSON and split by brace counting (lime-protocol §5.1), on `node:net` sockets.
 *
 * **TLS and gzip switch in-session** (§4.4, §5.2): right after the negotiation confirmation, the
 * server writes the confirmation in clear and the client reads it; then both start TLS on the
 * same socket (server side with `tls.TLSSocket`, client side with `tls.connect({ socket })`) and,
 * when negotiated, one gzip stream per direction inside TLS (bytes → gzip → TLS → TCP; wire
 * format in `tcp_gzip.ts`). The transport recognises the confirmation itself (the server when
 * sending it, the client when receiving it) and from that moment reads nothing more from the
 * socket and holds back further sends, until `setCompression`/`setEncryption` have switched.
 * The first of those calls applies everything the confirmation announced (TLS, then gzip).
 * Called without a confirmation (tests, other flows), each call switches at once; a peer must
 * then not send across the boundary before this side switched.
 *
 * A client always offers TLS (`supportedEncryption()` is `["none", "tls"]`), checking the server
 * certificate against `tls.caCerts`, or the default root store when none are given. A server
 * offers TLS when it has a certificate; it asks for a client certificate and reports it in
 * `peerCertificate`, `verified` when its chain leads to one of `tls.caCerts`.
 * @module
 */
import type net from "node:net";
// Imported: Deno 2.5 has no global `setImmediate` for `deno check`.
import { setImmediate } from "node:timers";
import { serializeEnvelope } from "../codec_core.ts";
import type { Envelope } from "../envelope.ts";
import type { SessionCompression, SessionEncryption } from "../generated/enums.generated.ts";
import { TransportError } from "./errors.ts";
import { EnvelopeFramer } from "./framing.ts";
import { asciiSpans, MIN_ASCII_CHUNK } from "./ascii_chunk.ts";
import { type ConnectionEvents, TcpConnection } from "./tcp_connection.ts";
import type { GunzipLimits } from "./tcp_gzip.ts";
import { connectSocket, parseTcpUri } from "./tcp_io.ts";
import { clientTlsRole, serverTlsRole, type TlsRole } from "./tcp_tls.ts";
import {
  canSwitch,
  closedError,
  confirmedModes,
  type ConnectionModes,
  requestSwitch,
  SwitchPoint,
  type SwitchRequestHost,
} from "./tcp_upgrade.ts";
import type { PeerCertificate, SignalOptions } from "./transport.ts";
import { TransportBase } from "./transport_base.ts";
import {
  DEFAULT_TCP_PORT,
  gunzipLimits,
  type TcpServerTransportOptions,
  type TcpTransportOptions,
} from "./tcp_options.ts";
import { dataArrived } from "./send_queue.ts";

export {
  DEFAULT_TCP_PORT,
  type TcpClientTlsOptions,
  type TcpServerTlsOptions,
  type TcpServerTransportOptions,
  type TcpTransportOptions,
} from "./tcp_options.ts";

let accepting:
  | {
    socket: net.Socket;
    options: TcpServerTransportOptions;
    released: ((transport: TcpTransport) => void) | undefined;
  }
  | undefined;

/** What a TCP transport offers by default (shared: never changed). */
const DEFAULT_COMPRESSIONS: readonly SessionCompression[] = Object.freeze(["none", "gzip"]);

/** A LIME connection over TCP, optionally with TLS and gzip. */
export class TcpTransport extends TransportBase {
  readonly #server: boolean;
  /** How this side starts TLS (a server without a certificate: none); a client's gets its host. */
  #tls: TlsRole | undefined;
  readonly #compressions: readonly SessionCompression[];
  readonly #framer: EnvelopeFramer;
  readonly #inflationLimits: GunzipLimits;
  #connection: TcpConnection | undefined;
  /** Bytes that arrived after the negotiation confirmation, before the switch. */
  #stash: Uint8Array | undefined;
  // Made at the first switch (most connections never switch).
  #switch: SwitchPoint | undefined;
  #ending = false;
  readonly #batching: boolean | undefined;
  #released: Promise<void> | undefined;
  // Told once the connection is released (see `accept`).
  readonly #onReleased: ((transport: TcpTransport) => void) | undefined;

  /** A client transport; connect it with `open("net.tcp://host:port")`. */
  constructor(options: TcpTransportOptions = {}) {
    const accepted = accepting;
    accepting = undefined;
    super(options, accepted !== undefined);
    this.#server = accepted !== undefined;
    this.#onReleased = accepted?.released;
    this.#batching = accepted ? accepted.options.batchSends : options.batchSends;
    this.#tls = accepted ? serverTlsRole(accepted.options.tls) : clientTlsRole(options.tls ?? {});
    this.#compressions = options.compression ?? DEFAULT_COMPRESSIONS;
    this.#inflationLimits = gunzipLimits(options, accepted !== undefined);
    this.#framer = new EnvelopeFramer({
      maxEnvelopeSize: this.maxEnvelopeSize,
      maxDepth: this.maxDepth,
      maxMembers: this.maxMembers,
    });
    if (accepted) this.#attach(accepted.socket);
  }

  /**
   * Wraps a socket accepted by a server (what `TcpTransportListener` does): the transport is
   * open at once and owns the socket. `released` is called once its sockets have closed, just
   * before `closed` resolves: what a listener uses to forget it (a reaction on `closed` would
   * cost a promise, a closure and their context per connection).
   */
  static accept(
    socket: net.Socket,
    options: TcpServerTransportOptions = {},
    released?: (transport: TcpTransport) => void,
  ): TcpTransport {
    accepting = { socket, options, released };
    try {
      return new TcpTransport(options as TcpTransportOptions);
    } finally {
      accepting = undefined;
    }
  }

  /** Connects to the URI's host and port (default `net.tcp://127.0.0.1:55321`). */
  protected async openConnection(uri: URL | undefined, signal?: AbortSignal): Promise<void> {
    const { host, port } = parseTcpUri(uri ?? new URL(`net.tcp://127.0.0.1:${DEFAULT_TCP_PORT}`));
    if (this.#tls && !this.#tls.server) this.#tls.host = host; // a client's role is its own
    this.#attach(await connectSocket(host, port ?? DEFAULT_TCP_PORT, signal));
  }

  #attach(socket: net.Socket): void {
    const events = new TcpTransport.#ConnectionEvents(this);
    this.#connection = new TcpConnection(socket, events, this.#inflationLimits);
    this.#connection.start();
  }

  // ---------------------------------------------------------------- reading

  /**
   * What its connection reports, passed on to the transport: one small object per connection
   * (three closures and their context cost a server five times as much per session).
   */
  static readonly #ConnectionEvents = class implements ConnectionEvents {
    readonly #transport: TcpTransport;
    constructor(transport: TcpTransport) {
      this.#transport = transport;
    }
    data(chunk: Uint8Array): void {
      this.#transport.#read(chunk);
    }
    end(): void {
      this.#transport.#ended();
    }
    error(error: TransportError): void {
      this.#transport.fail(error);
    }
  };

  #read(chunk: Uint8Array): void {
    if (this.#ending || this.isClosing) return;
    dataArrived();
    const onFrame = (frame: string | Uint8Array) => {
      this.receiveFrame(frame);
      return this.#switch?.target === undefined && !this.#ending;
    };
    let used: number;
    try {
      used = this.#framer.push(
        chunk,
        onFrame,
        chunk.length < MIN_ASCII_CHUNK ? undefined : asciiSpans(chunk, onFrame),
      );
    } catch (error) {
      this.fail(
        error instanceof TransportError
          ? error
          : new TransportError("io", `Cannot read: ${(error as Error).message}`, { cause: error }),
      );
      return;
    }
    // The rest belongs after the switch (e.g. gzip bytes right after the confirmation).
    if (used < chunk.length && this.#switch?.target) this.#stash = chunk.slice(used);
  }

  #ended(): void {
    if (this.#ending || this.isClosing) return;
    if (this.#framer.inObject) {
      this.fail(
        new TransportError(
          "io",
          `The connection closed in the middle of an envelope (${this.#framer.buffered} bytes received)`,
        ),
      );
    } else {
      this.remoteClosed();
    }
  }

  /** The framer refuses larger envelopes from the next one on. */
  protected override receiveLimitChanged(bytes: number): void {
    this.#framer.maxEnvelopeSize = bytes;
  }

  /** It can stop reading (see `pauseReceiving`). */
  protected override get canPauseReading(): boolean {
    return true;
  }

  /** Stops taking bytes from the connection (the receive queue is full). */
  protected override pauseReading(): void {
    this.#connection?.pause();
  }

  /** Takes bytes again. */
  protected override resumeReading(): void {
    this.#connection?.resume();
  }

  // ---------------------------------------------------------------- writing

  /** Writes at once when no switch is pending (see TransportBase). */
  protected override writeEnvelopeNow(text: string): Promise<void> | null | undefined {
    if (this.#switch?.target !== undefined || this.#ending || !this.#connection) return undefined;
    return this.#connection.writeNow(text);
  }

  /**
   * TCP is a byte stream: queued envelopes may go out in one write. With gzip that write ends
   * with one sync flush, after its last envelope: a call into zlib per envelope made gzip run at
   * 0.39× plain TCP.
   */
  protected override get coalescesWrites(): boolean {
    return true;
  }

  /**
   * Outside a switch, the envelopes sent in one turn of the event loop go out in one write at its
   * end (a write per envelope cost 40% of a server's time routing messages). With gzip clients
   * batch too: one sync flush for the turn's envelopes instead of a call into zlib for each (a
   * client streaming envelopes ran at 0.60x plain TCP without it).
   */
  protected override get batchesSends(): boolean {
    return (this.#batching ?? (this.#server || this.compression === "gzip")) &&
      this.#switch?.target === undefined && !this.#ending;
  }

  /** What the socket, TLS and gzip hold for the peer (counted against `maxQueuedBytes`). */
  protected override connectionQueuedBytes(): number {
    return this.#connection?.queuedBytes ?? 0;
  }

  /** Writes the batch at the end of the turn. */
  protected override scheduleFlush<Q>(flush: (queue: Q) => void, queue: Q): void {
    setImmediate(flush, queue);
  }

  /** Writes one envelope in order, after any pending TLS or gzip switch. */
  protected async writeEnvelope(text: string): Promise<void> {
    await this.#switch?.beforeWrite();
    if (this.#ending || this.isClosing) throw closedError();
    try {
      // Around a TLS or gzip switch every write is acknowledged; otherwise writes coalesce.
      await this.#connection!.write(text, this.#switch?.target !== undefined);
    } catch (error) {
      if (this.#ending || this.isClosing) throw closedError();
      throw error;
    }
    this.#switch?.afterWrite(text);
  }

  // ---------------------------------------------------------------- switching

  /** Sends one envelope; a server's negotiation confirmation also marks the switch point. */
  override send(envelope: Envelope, options: SignalOptions = {}): Promise<void> {
    if (this.#server && !this.#switch?.target && this.isConnected && !options.signal?.aborted) {
      const target = confirmedModes(envelope, this);
      if (target && this.#canSwitch(target)) {
        this.flushSends(); // what was sent before the confirmation goes out before it
        this.#hold(target, serializeEnvelope(envelope));
      }
    }
    return super.send(envelope, options);
  }

  /** Delivers one received envelope; a client's received confirmation marks the switch point. */
  protected override deliver(envelope: Envelope): void {
    if (!this.#server && !this.#switch?.target) {
      const target = confirmedModes(envelope, this);
      if (target && this.#canSwitch(target)) this.#hold(target);
    }
    super.deliver(envelope);
  }

  #canSwitch(target: ConnectionModes): boolean {
    return canSwitch(target, this, this.supportedCompression(), this.supportedEncryption());
  }

  /** Stops reading (and, without a confirmation still to write, sending) until the switch. */
  #hold(target: ConnectionModes, confirmation?: string): void {
    (this.#switch ??= new SwitchPoint()).hold(target, confirmation);
    this.#connection!.stop();
  }

  /**
   * Switches compression. After a negotiation confirmation this applies everything it announced
   * (TLS first when both). `gzip` cannot be turned off again.
   */
  override setCompression(
    compression: SessionCompression,
    options: SignalOptions = {},
  ): Promise<void> {
    return this.#switchTo({ compression }, options.signal);
  }

  /**
   * Switches encryption: `tls` runs the TLS handshake on the open socket (rejects with `tls`
   * when it fails, and the transport closes). After a negotiation confirmation this applies
   * everything it announced. TLS cannot be turned off again.
   */
  override setEncryption(
    encryption: SessionEncryption,
    options: SignalOptions = {},
  ): Promise<void> {
    return this.#switchTo({ encryption }, options.signal);
  }

  #switchTo(change: Partial<ConnectionModes>, signal: AbortSignal | undefined): Promise<void> {
    if (this.#ending || this.isClosing || !this.#connection) {
      return Promise.reject(closedError(this.#connection ? "closed" : "not open"));
    }
    return requestSwitch(this.#switchHost(), change, signal);
  }

  /** What a switch needs from this transport (made per switch: most never switch). */
  #switchHost(): SwitchRequestHost {
    return {
      point: this.#switch ??= new SwitchPoint(),
      current: () => ({ compression: this.compression, encryption: this.encryption }),
      compressions: () => this.supportedCompression(),
      encryptions: () => this.supportedEncryption(),
      hold: (target) => this.#hold(target),
      connection: () => this.#connection!,
      framer: () => this.#framer,
      closing: () => this.#ending || this.isClosing,
      takeStash: () => {
        const stash = this.#stash;
        this.#stash = undefined;
        return stash;
      },
      tlsRole: () => this.#tls!,
      switched: (modes) => Object.assign(this, modes),
      fail: (error) => {
        this.fail(error);
        return error;
      },
    };
  }

  // ---------------------------------------------------------------- closing

  /** Closes the connection (gracefully: gzip trailer, TLS close_notify, FIN). */
  override async close(options: SignalOptions = {}): Promise<void> {
    // A remote close or a failure is being torn down: wait for it rather than claim it.
    if (this.#ending && !this.isClosing) await this.closed;
    else await super.close(options);
  }

  /** Releases the connection (once); resolves when the sockets have closed. */
  protected closeConnection(): Promise<void> {
    return this.#released ??= this.#teardown();
  }

  /** The peer closed: `closed` resolves once the sockets are released. */
  protected override remoteClosed(): void {
    if (this.#ending || this.isClosing) return;
    this.closeConnection().catch(() => {}).then(() => super.remoteClosed());
  }

  /** A failure closes the transport; `closed` resolves once the sockets are released. */
  protected override fail(error: TransportError): void {
    if (this.#ending || this.isClosing) return;
    this.sayLastWords(error);
    // A slow reader gets no graceful end: it would only hold the buffers until that timed out.
    this.#released ??= this.#teardown(error.code === "slow-reader");
    this.#released.catch(() => {}).then(() => super.fail(error));
  }

  async #teardown(abrupt = false): Promise<void> {
    this.#ending = true;
    this.#switch?.release();
    try {
      await this.#connection?.close(abrupt);
    } finally {
      this.#onReleased?.(this);
    }
  }

  // ---------------------------------------------------------------- properties

  /** This side's `host:port`. */
  override get localEndpoint(): string | undefined {
    return this.#connection?.localEndpoint;
  }

  /** The peer's `host:port`. */
  override get remoteEndpoint(): string | undefined {
    return this.#connection?.remoteEndpoint;
  }

  /**
   * The peer's certificate once TLS is on: on a server the client certificate (when sent), on a
   * client the server certificate (always `verified`: the handshake checked it).
   */
  override get peerCertificate(): PeerCertificate | undefined {
    return this.#connection?.peerCertificate;
  }

  /** The compression modes offered (option `compression`). */
  override supportedCompression(): readonly SessionCompression[] {
    return this.#compressions;
  }

  /** `["none", "tls"]` on a client and on a server with a certificate, else `["none"]`. */
  override supportedEncryption(): readonly SessionEncryption[] {
    return this.#tls ? ["none", "tls"] : ["none"];
  }
}
