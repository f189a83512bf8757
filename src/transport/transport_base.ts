/**
 * What every transport shares: the receive queue with backpressure, the iterator and callback
 * consumers, serialized and size-checked sends, the `closed` promise. Concrete transports only
 * move bytes or text: they implement `openConnection`, `writeEnvelope` and `closeConnection`, and
 * report what arrives with `receiveFrame`, `remoteClosed` and `fail`.
 * @module
 */
import { explainLater, isUnexplained, parseEnvelope, serializeEnvelope } from "../codec_core.ts";
import type { Envelope } from "../envelope.ts";
import type { SessionCompression, SessionEncryption } from "../generated/enums.generated.ts";
import { ValidationError } from "../errors.ts";
import { type TransportCloseInfo, TransportError } from "./errors.ts";
import {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ENVELOPE_SIZE,
  DEFAULT_RECEIVE_BUFFER_SIZE,
  type PeerCertificate,
  type SignalOptions,
  type Transport,
  type TransportOptions,
} from "./transport.ts";

type State = "new" | "opening" | "open" | "closing" | "closed";

interface QueuedSend {
  text: string;
  bytes: () => Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const encoder = new TextEncoder();
const RESOLVED: Promise<void> = Promise.resolve();
const noop = () => {};
/** Most UTF-16 units of queued envelopes written at once when a transport coalesces writes. */
const COALESCE_LIMIT = 64 * 1024;

/** Throws a TransportError `aborted` when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new TransportError("aborted", `${what} was aborted`, { cause: signal.reason });
  }
}

/** Base class of the transports. */
export abstract class TransportBase implements Transport {
  /** Largest envelope, in UTF-8 bytes. */
  readonly maxEnvelopeSize: number;
  /** Deepest JSON nesting accepted. */
  readonly maxDepth: number;
  readonly #receiveBufferSize: number;
  /**
   * What to do with a received envelope that is JSON but not valid LIME (see
   * `TransportOptions.onInvalidEnvelope`); a channel may replace it to answer the peer.
   */
  invalidEnvelopePolicy: TransportOptions["onInvalidEnvelope"];

  #state: State = "new";
  #queue: Envelope[] = [];
  #waiter:
    | { resolve: (r: IteratorResult<Envelope>) => void; reject: (e: unknown) => void }
    | undefined;
  #iterating = false;
  #paused = false;
  readonly #handlers = new Set<(envelope: Envelope) => void>();
  // Sends waiting for their turn, in order, written by one pump (no promise chain per send).
  #sendQueue: (QueuedSend | undefined)[] = [];
  #sendHead = 0;
  #pumping = false;
  // A drain the connection asked for (its buffer is over the high-water mark): later sends wait.
  #drain: Promise<void> | undefined;
  // Sends taken at once but written together later in the turn (transports that batch sends).
  #batch: string[] = [];
  #batchSize = 0;
  #batchScheduled = false;
  #closeInfo: TransportCloseInfo | undefined;
  // An invalid envelope is being explained before the transport fails (see receiveFrame).
  #explaining = false;
  #resolveClosed!: (info: TransportCloseInfo) => void;

  /** Resolves once, when the transport is closed. */
  readonly closed: Promise<TransportCloseInfo> = new Promise((resolve) =>
    this.#resolveClosed = resolve
  );

  /** Current compression. */
  compression: SessionCompression = "none";
  /** Current encryption. */
  encryption: SessionEncryption = "none";

  /** Creates the base with the shared options. */
  constructor(options: TransportOptions = {}, open = false) {
    this.maxEnvelopeSize = options.maxEnvelopeSize ?? DEFAULT_MAX_ENVELOPE_SIZE;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#receiveBufferSize = options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER_SIZE;
    this.invalidEnvelopePolicy = options.onInvalidEnvelope;
    if (open) this.#state = "open";
  }

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
   * Whether {@link writeEnvelopeNow} may be given several queued envelopes at once (their texts
   * concatenated, as they would follow each other on the wire anyway): one write instead of one
   * per envelope. Only for byte-stream transports whose wire format does not depend on the write
   * boundaries. Default false.
   */
  protected get coalescesWrites(): boolean {
    return false;
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
    return this.#pumping || this.#drain !== undefined;
  }

  /** Sends one envelope (serialized, size-checked, written in order). */
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
    const text = serializeEnvelope(envelope);
    let bytes: Uint8Array | undefined;
    const getBytes = () => bytes ??= encoder.encode(text);
    // A UTF-8 byte is at most 3 per UTF-16 unit: skip encoding when the text cannot be too large.
    if (text.length * 3 > this.maxEnvelopeSize && getBytes().length > this.maxEnvelopeSize) {
      return Promise.reject(
        new TransportError(
          "too-large",
          `Cannot send: the envelope is ${getBytes().length} bytes, over the maximum of ${this.maxEnvelopeSize}`,
        ),
      );
    }
    // Fast path: nothing queued ahead, and the connection takes the bytes right now.
    if (!this.#pumping && this.#drain === undefined) {
      if (this.batchesSends) {
        if (this.#batchScheduled) {
          // Not the first send of this turn: taken now, written with the others at its end
          // (one write instead of one per envelope).
          this.#batch.push(text);
          this.#batchSize += text.length;
          if (this.#batchSize >= COALESCE_LIMIT) this.flushSends();
          return RESOLVED;
        }
        // The first send of a turn goes out at once (no added latency); the turn's end flushes
        // whatever follows it.
        this.#batchScheduled = true;
        this.scheduleFlush(this.#onFlushTimer);
      } else if (this.#batch.length > 0) this.flushSends(); // what was batched goes first
      const drained = this.writeEnvelopeNow(text);
      if (drained === null) return RESOLVED;
      if (drained !== undefined) {
        // Taken, but the connection's buffer is full: later sends queue behind the drain.
        this.#waitForDrain(drained);
        return drained.catch((error) => {
          throw this.#sendError(error);
        });
      }
    }
    if (this.#batch.length > 0) this.flushSends();
    return new Promise((resolve, reject) => {
      this.#sendQueue.push({ text, bytes: getBytes, resolve, reject });
      this.#pump();
    });
  }

  /**
   * Whether sends taken by the fast path are collected and written together once per turn
   * (see {@link scheduleFlush}). Default false: each is written at once.
   */
  protected get batchesSends(): boolean {
    return false;
  }

  /** Schedules the batch's write (default: a microtask; TCP waits for the end of the turn). */
  protected scheduleFlush(flush: () => void): void {
    queueMicrotask(flush);
  }

  #onFlushTimer = (): void => {
    this.#batchScheduled = false;
    this.flushSends();
  };

  /** Writes the batched sends now, in order (before a switch point, before closing). */
  protected flushSends(): void {
    if (this.#batch.length === 0) return;
    const text = this.#batch.length === 1 ? this.#batch[0] : this.#batch.join("");
    this.#batch = [];
    this.#batchSize = 0;
    if (this.#state !== "open") return;
    let drained: Promise<void> | null | undefined;
    try {
      drained = this.writeEnvelopeNow(text);
    } catch (error) {
      drained = Promise.reject(error);
    }
    if (drained === null) return;
    if (drained !== undefined) {
      this.#waitForDrain(drained);
      drained.catch((error) => this.#sendError(error)).catch(() => {});
      return;
    }
    // The connection cannot take bytes now: queue them ahead of anything sent later.
    this.#sendQueue.push({ text, bytes: () => encoder.encode(text), resolve: noop, reject: noop });
    this.#pump();
  }

  #waitForDrain(drained: Promise<void>): void {
    const drain = drained.then(
      () => {
        if (this.#drain === drain) this.#drain = undefined;
      },
      () => {
        if (this.#drain === drain) this.#drain = undefined;
      },
    );
    this.#drain = drain;
  }

  /**
   * Writes the queued sends in order: synchronously while the connection takes them (several
   * queued envelopes in one write when the transport {@link coalescesWrites}), waiting for its
   * drain when its buffer is full, through `writeEnvelope` when it cannot write now.
   */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    const queue = this.#sendQueue;
    try {
      while (this.#sendHead < queue.length) {
        if (this.#drain) {
          await this.#drain;
          continue;
        }
        if (this.#state !== "open") {
          const send = queue[this.#sendHead]!;
          queue[this.#sendHead++] = undefined;
          send.reject(new TransportError("closed", "Cannot send: the transport closed"));
          continue;
        }
        // The queued envelopes that go in one write: up to COALESCE_LIMIT UTF-16 units.
        let end = this.#sendHead + 1;
        if (this.coalescesWrites) {
          let size = queue[this.#sendHead]!.text.length;
          while (end < queue.length && (size += queue[end]!.text.length) <= COALESCE_LIMIT) end++;
        }
        const batch = queue.slice(this.#sendHead, end) as QueuedSend[];
        let drained: Promise<void> | null | undefined;
        try {
          drained = this.writeEnvelopeNow(
            batch.length === 1 ? batch[0].text : batch.map((send) => send.text).join(""),
          );
        } catch (error) {
          drained = Promise.reject(error);
        }
        if (drained === undefined) {
          // Cannot write now (a TLS or gzip switch is pending): one by one, in order.
          const send = queue[this.#sendHead]!;
          queue[this.#sendHead++] = undefined;
          try {
            await this.writeEnvelope(send.text, send.bytes);
            send.resolve();
          } catch (error) {
            send.reject(this.#sendError(error));
          }
          continue;
        }
        queue.fill(undefined, this.#sendHead, end); // the texts can be collected once written
        this.#sendHead = end;
        if (drained === null) {
          for (const send of batch) send.resolve();
        } else {
          this.#waitForDrain(drained);
          drained.then(
            () => batch.forEach((send) => send.resolve()),
            (error) => {
              const failure = this.#sendError(error);
              for (const send of batch) send.reject(failure);
            },
          );
        }
      }
    } finally {
      queue.length = 0;
      this.#sendHead = 0;
      this.#pumping = false;
    }
  }

  /** The error a failed send rejects with; an unexpected one fails the transport. */
  #sendError(error: unknown): TransportError {
    if (error instanceof TransportError) return error;
    if (this.#state === "closing" || this.#state === "closed") {
      return new TransportError("closed", "Cannot send: the transport closed", { cause: error });
    }
    const failure = new TransportError("io", `Cannot send: ${(error as Error).message}`, {
      cause: error,
    });
    this.fail(failure);
    return failure;
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
    this.#handlers.add(handler);
    // Hand over what arrived before anyone listened (unless an iterator is taking it).
    if (!this.#iterating) {
      const queued = this.#queue;
      this.#queue = [];
      for (const envelope of queued) this.#callHandlers(envelope);
      this.#updateBackpressure();
    }
    return () => this.#handlers.delete(handler);
  }

  /** Iterates over received envelopes until the transport closes (throws if it failed). */
  [Symbol.asyncIterator](): AsyncIterator<Envelope> {
    if (this.#iterating) throw new TransportError("io", "The transport already has an iterator");
    this.#iterating = true;
    return {
      next: () => {
        const envelope = this.#queue.shift();
        if (envelope !== undefined) {
          this.#updateBackpressure();
          return Promise.resolve({ value: envelope, done: false });
        }
        if (this.#closeInfo) {
          this.#iterating = false;
          return this.#closeInfo.error
            ? Promise.reject(this.#closeInfo.error)
            : Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => this.#waiter = { resolve, reject });
      },
      return: () => {
        this.#iterating = false;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  // ---------------------------------------------------------------- for subclasses

  /** Parses one framed envelope and delivers it (or applies the invalid-envelope policy). */
  protected receiveFrame(frame: Uint8Array | string): void {
    if (this.#state !== "open" && this.#state !== "opening") return;
    if (this.#explaining) return;
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(frame);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const policy = this.invalidEnvelopePolicy?.(error) ?? "close";
      if (policy === "skip") return;
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
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: envelope, done: false });
      if (this.#handlers.size) this.#callHandlers(envelope);
      return;
    }
    if (this.#handlers.size) this.#callHandlers(envelope);
    if (this.#iterating || this.#handlers.size === 0) {
      this.#queue.push(envelope);
      this.#updateBackpressure();
    }
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

  #callHandlers(envelope: Envelope): void {
    for (const handler of this.#handlers) {
      try {
        handler(envelope);
      } catch (error) {
        // A consumer's bug must not break the connection for everyone else.
        console.error("LIME transport: an onEnvelope handler threw", error);
      }
    }
  }

  #updateBackpressure(): void {
    const full = this.#queue.length >= this.#receiveBufferSize;
    if (full && !this.#paused) {
      this.#paused = true;
      this.pauseReading();
    } else if (!full && this.#paused && this.#queue.length <= this.#receiveBufferSize / 2) {
      this.#paused = false;
      this.resumeReading();
    }
  }

  #finish(info: TransportCloseInfo): void {
    if (this.#closeInfo) return;
    this.#closeInfo = info;
    if (this.#waiter && this.#queue.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      this.#iterating = false;
      if (info.error) waiter.reject(info.error);
      else waiter.resolve({ value: undefined, done: true });
    }
    this.#resolveClosed(info);
  }
}
