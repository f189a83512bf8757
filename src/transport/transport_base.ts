/**
 * What every transport shares: the life cycle (open, close, failures, the `closed` promise and
 * the last words before a protocol failure), parsing what arrives and serializing and
 * size-checking what leaves. The receive queue with its consumers and backpressure is in
 * `receive_queue.ts`; the send path (fast path, batching, pump, the `maxQueuedBytes` cap) in
 * `send_queue.ts`. Concrete transports only move bytes or text: they implement
 * `openConnection`, `writeEnvelope` and `closeConnection`, and report what arrives with
 * `receiveFrame`, `remoteClosed` and `fail`.
 * @module
 */
import { explainLater, isUnexplained, parseEnvelope, serializeEnvelope } from "../codec_core.ts";
import type { Envelope } from "../envelope.ts";
import type { SessionCompression, SessionEncryption } from "../generated/enums.generated.ts";
import { ValidationError } from "../errors.ts";
import { throwIfAborted, type TransportCloseInfo, TransportError } from "./errors.ts";
import { ReceiveQueue } from "./receive_queue.ts";
import { SendQueue, type SendSink } from "./send_queue.ts";
import {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ENVELOPE_SIZE,
  DEFAULT_MAX_MEMBERS,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_RECEIVE_BUFFER_SIZE,
  type PeerCertificate,
  type SignalOptions,
  type Transport,
  type TransportOptions,
} from "./transport.ts";

type State = "new" | "opening" | "open" | "closing" | "closed";

/** Base class of the transports. */
export abstract class TransportBase implements Transport {
  /** Largest envelope, in UTF-8 bytes. */
  readonly maxEnvelopeSize: number;
  /** Deepest JSON nesting accepted. */
  readonly maxDepth: number;
  /** Most object members in one incoming envelope (see `TransportOptions.maxMembers`). */
  readonly maxMembers: number;
  #receiveLimit: number;
  /** Most bytes held for a peer that does not take them (0: no cap); see `TransportOptions`. */
  readonly maxQueuedBytes: number;
  /**
   * What to do with a received envelope that is JSON but not valid LIME (see
   * `TransportOptions.onInvalidEnvelope`); a channel may replace it to answer the peer.
   */
  invalidEnvelopePolicy: TransportOptions["onInvalidEnvelope"];

  #state: State = "new";
  #receivedBytes = 0;
  /** Why reading is paused: the receive queue is full, and/or the owner held it. */
  #full = false;
  #held = false;
  readonly #received: ReceiveQueue<TransportBase>;
  readonly #sends: SendQueue<TransportBase>;
  #closeInfo: TransportCloseInfo | undefined;
  // An invalid envelope is being explained before the transport fails (see receiveFrame).
  #explaining = false;
  // Made when first asked for: a server's transports are not watched through it.
  #closed: Promise<TransportCloseInfo> | undefined;
  #resolveClosed: ((info: TransportCloseInfo) => void) | undefined;

  /** Current compression. */
  compression: SessionCompression = "none";
  /** Current encryption. */
  encryption: SessionEncryption = "none";

  /**
   * Creates the base with the shared options; `open` for a transport that starts open (accepted
   * or adopted: the server side), which also caps `maxQueuedBytes` by default.
   */
  constructor(options: TransportOptions = {}, open = false) {
    this.maxEnvelopeSize = options.maxEnvelopeSize ?? DEFAULT_MAX_ENVELOPE_SIZE;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxMembers = options.maxMembers ?? DEFAULT_MAX_MEMBERS;
    this.#receiveLimit = this.maxEnvelopeSize;
    this.maxQueuedBytes = options.maxQueuedBytes ?? (open ? DEFAULT_MAX_QUEUED_BYTES : 0);
    this.invalidEnvelopePolicy = options.onInvalidEnvelope;
    this.#received = new ReceiveQueue<TransportBase>(
      options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER_SIZE,
      TransportBase.#queueFull,
      this,
    );
    this.#sends = new SendQueue(this, TransportBase.#sinkHooks, this.maxQueuedBytes);
    if (open) this.#state = "open";
  }

  /** Resolves once, when the transport is closed. */
  get closed(): Promise<TransportCloseInfo> {
    return this.#closed ??= this.#closeInfo
      ? Promise.resolve(this.#closeInfo)
      : new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /**
   * The largest envelope accepted from the peer now (at most `maxEnvelopeSize`); see
   * `Transport.receiveLimit`. Takes effect from the next envelope.
   */
  get receiveLimit(): number {
    return this.#receiveLimit;
  }

  set receiveLimit(bytes: number) {
    if (!(bytes > 0)) throw new RangeError(`receiveLimit must be positive, got ${bytes}`);
    this.#receiveLimit = Math.min(bytes, this.maxEnvelopeSize);
    this.receiveLimitChanged(this.#receiveLimit);
  }

  /** Called when `receiveLimit` changes (a framer that holds the limit updates it). */
  protected receiveLimitChanged(_bytes: number): void {}

  /** What the receive queue says when it fills up or is down to half (shared by every transport). */
  static readonly #queueFull = (full: boolean, t: TransportBase): void =>
    t.#setPaused("full", full);

  /**
   * What the send queue writes to: this transport's hooks, shared by every transport (a sink of
   * closures per transport cost a server ten objects per session).
   */
  static readonly #sinkHooks: SendSink<TransportBase> = {
    isOpen: (t) => t.#state === "open",
    batches: (t) => t.batchesSends,
    coalesces: (t) => t.coalescesWrites,
    writeNow: (t, text) => t.writeEnvelopeNow(text),
    writeManyNow: (t, texts) => t.writeEnvelopesNow(texts),
    write: (t, text, bytes) => t.writeEnvelope(text, bytes),
    scheduleFlush: (t, flush, queue) => t.scheduleFlush(flush, queue),
    connectionBytes: (t) => t.connectionQueuedBytes(),
    fail: (t, error) => t.fail(error),
  };

  // ---------------------------------------------------------------- what subclasses implement

  /** Connects (client transports). */
  protected abstract openConnection(
    uri: URL | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void>;
  /** Writes one serialized envelope; `bytes` is its UTF-8 encoding, made lazily. */
  protected abstract writeEnvelope(text: string, bytes: () => Uint8Array): Promise<void>;
  /** Releases the connection; nothing may be delivered afterwards. */
  protected abstract closeConnection(): Promise<void>;
  /**
   * Writes a serialized envelope synchronously when the connection can take it right now (called
   * only when no other write is queued). Returns `null` when written with room to spare, a promise
   * of the drain when written into a full buffer, `undefined` when it cannot write now (the
   * envelope then goes through {@link writeEnvelope}, in order). The default never writes now.
   */
  protected writeEnvelopeNow(_text: string): Promise<void> | null | undefined {
    return undefined;
  }
  /**
   * Writes several serialized envelopes at once, in order, like {@link writeEnvelopeNow} (the
   * sends batched in one turn, or queued ones when {@link coalescesWrites}). The default writes
   * their texts concatenated, as they follow each other on a byte stream anyway; a transport
   * with message boundaries (WebSocket) frames each.
   */
  protected writeEnvelopesNow(texts: readonly string[]): Promise<void> | null | undefined {
    return this.writeEnvelopeNow(texts.join(""));
  }
  /**
   * Whether {@link writeEnvelopesNow} may be given several queued envelopes at once: one write
   * instead of one per envelope. Default false.
   */
  protected get coalescesWrites(): boolean {
    return false;
  }
  /**
   * Bytes of the envelopes received so far (framed bytes: after TLS and gzip; UTF-16 units for a
   * text WebSocket message). A server reads the difference per envelope to shape by bytes.
   */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  /**
   * Whether {@link pauseReceiving} can stop reading from the connection (TCP, memory); the
   * standard WebSocket API cannot. Subclasses that can say so.
   */
  protected get canPauseReading(): boolean {
    return false;
  }

  /**
   * Stops reading from the connection until {@link resumeReceiving} (a server slowing a sender
   * down); what was read already is still delivered. Returns false, changing nothing, when this
   * transport cannot stop reading.
   */
  pauseReceiving(): boolean {
    if (!this.canPauseReading) return false;
    this.#setPaused("held", true);
    return true;
  }

  /** Reads again after {@link pauseReceiving} (unless the receive queue is full). */
  resumeReceiving(): void {
    this.#setPaused("held", false);
  }

  #setPaused(reason: "full" | "held", paused: boolean): void {
    const before = this.#full || this.#held;
    if (reason === "full") this.#full = paused;
    else this.#held = paused;
    const after = this.#full || this.#held;
    if (after && !before) this.pauseReading();
    else if (!after && before) this.resumeReading();
  }

  /** Stops reading from the connection (backpressure); reading resumes with `resumeReading`. */
  protected pauseReading(): void {}
  /** Resumes reading after `pauseReading`. */
  protected resumeReading(): void {}

  /** Local address. */
  get localEndpoint(): string | undefined {
    return undefined;
  }
  /** Peer address. */
  get remoteEndpoint(): string | undefined {
    return undefined;
  }
  /** Peer TLS certificate. */
  get peerCertificate(): PeerCertificate | undefined {
    return undefined;
  }
  /** Compression modes available. */
  supportedCompression(): readonly SessionCompression[] {
    return ["none"];
  }
  /** Encryption modes available. */
  supportedEncryption(): readonly SessionEncryption[] {
    return [this.encryption];
  }
  /** Switches compression; the base supports only staying as it is. */
  setCompression(compression: SessionCompression, _options?: SignalOptions): Promise<void> {
    if (compression === this.compression) return Promise.resolve();
    return Promise.reject(
      new TransportError("unsupported", `Compression "${compression}" is not supported`),
    );
  }
  /** Switches encryption; the base supports only staying as it is. */
  setEncryption(encryption: SessionEncryption, _options?: SignalOptions): Promise<void> {
    if (encryption === this.encryption) return Promise.resolve();
    return Promise.reject(
      new TransportError("unsupported", `Encryption "${encryption}" is not supported`),
    );
  }

  // ---------------------------------------------------------------- public API

  /** Whether envelopes can flow now. */
  get isConnected(): boolean {
    return this.#state === "open";
  }

  /** Connects. */
  async open(uri?: string | URL, options: SignalOptions = {}): Promise<void> {
    if (this.#state !== "new") {
      throw new TransportError("io", `Cannot open: the transport is ${this.#state}`);
    }
    throwIfAborted(options.signal, "Opening the transport");
    this.#state = "opening";
    try {
      await this.openConnection(uri === undefined ? undefined : new URL(uri), options.signal);
    } catch (error) {
      this.#state = "closed";
      const failure = error instanceof TransportError
        ? error
        : new TransportError("io", `Cannot open ${uri}: ${(error as Error).message}`, {
          cause: error,
        });
      this.#finish({ by: "error", error: failure });
      throw failure;
    }
    if ((this.#state as State) === "opening") this.#state = "open";
  }

  /**
   * Set by a server channel: when the incoming stream breaks the protocol (a `framing` or
   * `invalid-envelope` failure), the envelope it returns (a `failed` session with the reason) is
   * written right before the transport closes, so the peer learns why.
   */
  lastWords: ((error: TransportError) => Envelope | undefined) | undefined;

  /** Writes the last words for `error`, when there are any and the connection takes them now. */
  protected sayLastWords(error: TransportError): void {
    const lastWords = this.lastWords;
    this.lastWords = undefined;
    if (!lastWords || (error.code !== "framing" && error.code !== "invalid-envelope")) return;
    if (this.#state !== "open") return;
    try {
      const envelope = lastWords(error);
      if (envelope) this.writeFinal(serializeEnvelope(envelope));
    } catch {
      // The connection is going anyway.
    }
  }

  /** Writes one envelope synchronously if the connection can take it (last words). */
  protected writeFinal(text: string): void {
    this.writeEnvelopeNow(text);
  }

  /** Whether sends are waiting for the connection (a full buffer, or queued behind one). */
  get sendsWaiting(): boolean {
    return this.#sends.waiting;
  }

  /**
   * Bytes accepted for sending that the peer has not taken yet: queued and batched sends plus
   * what the connection buffers (see `TransportOptions.maxQueuedBytes`).
   */
  get queuedBytes(): number {
    return this.#sends.queuedBytes;
  }

  /** Bytes (UTF-16 units of JSON) of the envelopes accepted for sending so far. */
  get sentBytes(): number {
    return this.#sends.sentBytes;
  }

  /**
   * Sends one envelope (serialized, size-checked, written in order). Rejects with `too-large`
   * (the transport stays usable), `closed`, or `slow-reader` when the peer is not taking what is
   * sent and this send would pass `maxQueuedBytes` (the transport then closes).
   */
  send(envelope: Envelope, options: SignalOptions = {}): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(
        new TransportError(
          this.#state === "new" ? "not-open" : "closed",
          `Cannot send: the transport is ${this.#state}`,
        ),
      );
    }
    if (options.signal?.aborted) {
      return Promise.reject(new TransportError("aborted", "Sending was aborted"));
    }
    return this.#sends.sendEnvelope(envelope, this.maxEnvelopeSize);
  }

  /**
   * Whether sends taken by the fast path are collected and written together once per turn
   * (see {@link scheduleFlush}). Default false: each is written at once.
   */
  protected get batchesSends(): boolean {
    return false;
  }

  /** Schedules the batch's write (default: a microtask; TCP waits for the end of the turn). */
  protected scheduleFlush<Q>(flush: (queue: Q) => void, queue: Q): void {
    queueMicrotask(() => flush(queue));
  }

  /** See `Transport.holdSends`. */
  holdSends(): void {
    this.#sends.hold();
  }

  /** Writes the batched sends now, in order (before a switch point, before closing). */
  protected flushSends(): void {
    this.#sends.flush();
  }

  /**
   * Bytes the connection holds that the peer has not taken yet (socket buffers, a WebSocket's
   * `bufferedAmount`), counted against `maxQueuedBytes`. Default 0.
   */
  protected connectionQueuedBytes(): number {
    return 0;
  }

  /** Closes the transport. */
  async close(_options: SignalOptions = {}): Promise<void> {
    if (this.#state === "closed" || this.#state === "closing") {
      await this.closed;
      return;
    }
    this.flushSends();
    this.#state = "closing";
    try {
      await this.closeConnection();
    } finally {
      this.#state = "closed";
      this.#finish({ by: "local" });
    }
  }

  /** `await using` closes the transport. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Adds a receive callback; returns its remover. */
  onEnvelope(handler: (envelope: Envelope) => void): () => void {
    return this.#received.onEnvelope(handler);
  }

  /** Iterates over received envelopes until the transport closes (throws if it failed). */
  [Symbol.asyncIterator](): AsyncIterator<Envelope> {
    return this.#received.iterator();
  }

  // ---------------------------------------------------------------- for subclasses

  /** Parses one framed envelope and delivers it (or applies the invalid-envelope policy). */
  protected receiveFrame(frame: Uint8Array | string): void {
    if (this.#state !== "open" && this.#state !== "opening") return;
    if (this.#explaining) return;
    this.#receivedBytes += frame.length;
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(frame);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const policy = this.invalidEnvelopePolicy?.(error) ?? "close";
      if (policy === "skip") return;
      if (policy !== "close") {
        this.deliver(policy);
        return;
      }
      if (isUnexplained(error)) {
        // The explainer is not loaded (browser client bundle): load it, then fail with the full
        // error. Nothing received after the invalid envelope is delivered meanwhile.
        this.#explaining = true;
        explainLater(error).then((explained) => this.#failInvalid(explained));
        return;
      }
      this.#failInvalid(error);
      return;
    }
    this.deliver(envelope);
  }

  #failInvalid(error: ValidationError): void {
    this.fail(
      new TransportError("invalid-envelope", `Received an invalid envelope: ${error.message}`, {
        cause: error,
      }),
    );
  }

  /** Delivers one received envelope. */
  protected deliver(envelope: Envelope): void {
    if (this.#state === "closed") return;
    this.#received.deliver(envelope);
  }

  /** The peer closed the connection. */
  protected remoteClosed(): void {
    if (this.#state === "closed" || this.#state === "closing") return;
    this.#state = "closed";
    this.closeConnection().catch(() => {});
    this.#finish({ by: "remote" });
  }

  /** A failure closes the transport. */
  protected fail(error: TransportError): void {
    if (this.#state === "closed" || this.#state === "closing") return;
    this.sayLastWords(error);
    this.#state = "closed";
    this.closeConnection().catch(() => {});
    this.#finish({ by: "error", error });
  }

  /** Whether the transport is closing or closed (subclasses stop reading then). */
  protected get isClosing(): boolean {
    return this.#state === "closing" || this.#state === "closed";
  }

  // ---------------------------------------------------------------- internals

  #finish(info: TransportCloseInfo): void {
    if (this.#closeInfo) return;
    this.#closeInfo = info;
    this.#received.finish(info);
    this.#resolveClosed?.(info);
  }
}
