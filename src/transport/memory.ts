/**
 * An in-memory transport pair for unit tests: what one side sends, the other receives, through
 * the same serialize → parse path as a real connection, with backpressure (a sender waits while
 * the receiver's buffer is full) and close propagation.
 * @module
 */
import type { SessionCompression, SessionEncryption } from "../generated/enums.generated.ts";
import { TransportError } from "./errors.ts";
import type { SignalOptions, TransportOptions } from "./transport.ts";
import { TransportBase } from "./transport_base.ts";

/** Options of a memory pair. */
export interface MemoryTransportOptions extends TransportOptions {
  /**
   * Compression modes each side claims to support (default `["none"]`). Switching only records
   * the mode: nothing is compressed. For negotiation tests.
   */
  compression?: readonly SessionCompression[];
  /** Encryption modes each side claims to support (default `["none"]`); like `compression`. */
  encryption?: readonly SessionEncryption[];
}

let pairs = 0;

/** One side of an in-memory connection. */
export class MemoryTransport extends TransportBase {
  #peer: MemoryTransport | undefined;
  #gate: Promise<void> | undefined;
  #openGate: (() => void) | undefined;
  readonly #name: string;
  readonly #compressions: readonly SessionCompression[];
  readonly #encryptions: readonly SessionEncryption[];

  private constructor(name: string, options: MemoryTransportOptions) {
    super(options, true);
    this.#name = name;
    this.#compressions = options.compression ?? ["none"];
    this.#encryptions = options.encryption ?? ["none"];
  }

  /** A connected pair: `[client, server]`. */
  static pair(options: MemoryTransportOptions = {}): [MemoryTransport, MemoryTransport] {
    const id = ++pairs;
    const client = new MemoryTransport(`memory:${id}:client`, options);
    const server = new MemoryTransport(`memory:${id}:server`, options);
    client.#peer = server;
    server.#peer = client;
    return [client, server];
  }

  /** Nothing to connect: a pair is born connected. */
  protected openConnection(): Promise<void> {
    return Promise.resolve();
  }

  /** Hands the envelope text to the peer, waiting while its buffer is full. */
  protected async writeEnvelope(text: string): Promise<void> {
    const peer = this.#peer;
    if (!peer || peer.isClosing) throw new TransportError("closed", "Cannot send: the peer closed");
    while (peer.#gate) {
      await peer.#gate;
      if (peer.isClosing) throw new TransportError("closed", "Cannot send: the peer closed");
    }
    // Deliver on a later turn, like a socket would.
    await Promise.resolve();
    peer.receiveFrame(text);
  }

  /** Hands a last envelope to the peer at once (before an error close). */
  protected override writeFinal(text: string): void {
    const peer = this.#peer;
    if (peer && !peer.isClosing) peer.receiveFrame(text);
  }

  /** Detaches from the peer, which then sees a remote close. */
  protected closeConnection(): Promise<void> {
    const peer = this.#peer;
    this.#peer = undefined;
    this.resumeReading(); // the peer's waiting sends see the close
    if (peer) queueMicrotask(() => peer.remoteClosed());
    return Promise.resolve();
  }

  /** It can stop reading (see `pauseReceiving`). */
  protected override get canPauseReading(): boolean {
    return true;
  }

  /** Makes the peer's sends wait (backpressure). */
  protected override pauseReading(): void {
    this.#gate ??= new Promise((resolve) => this.#openGate = resolve);
  }

  /** Lets the peer's sends through again. */
  protected override resumeReading(): void {
    const open = this.#openGate;
    this.#gate = undefined;
    this.#openGate = undefined;
    open?.();
  }

  /** This side's name (`memory:<pair>:client|server`). */
  override get localEndpoint(): string {
    return this.#name;
  }

  /** The peer's name, while connected. */
  override get remoteEndpoint(): string | undefined {
    return this.#peer ? this.#peer.#name : undefined;
  }

  /** The compression modes the pair was configured with. */
  override supportedCompression(): readonly SessionCompression[] {
    return this.#compressions;
  }

  /** The encryption modes the pair was configured with. */
  override supportedEncryption(): readonly SessionEncryption[] {
    return this.#encryptions;
  }

  /** Records the compression mode (nothing is compressed). */
  override setCompression(
    compression: SessionCompression,
    _options?: SignalOptions,
  ): Promise<void> {
    if (!this.#compressions.includes(compression)) return super.setCompression(compression);
    this.compression = compression;
    return Promise.resolve();
  }

  /** Records the encryption mode (nothing is encrypted). */
  override setEncryption(encryption: SessionEncryption, _options?: SignalOptions): Promise<void> {
    if (!this.#encryptions.includes(encryption)) return super.setEncryption(encryption);
    this.encryption = encryption;
    return Promise.resolve();
  }
}
