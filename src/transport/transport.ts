/**
 * The transport interface: typed envelopes in and out over some connection (TCP, WebSocket,
 * memory). Channels get a transport passed in; nothing looks one up globally.
 * @module
 */
import type { Envelope } from "../envelope.ts";
import type { SessionCompression, SessionEncryption } from "../generated/enums.generated.ts";
import type { ValidationError } from "../errors.ts";
import type { TransportCloseInfo, TransportError } from "./errors.ts";

/** An option bag for calls that can wait. */
export interface SignalOptions {
  /** Aborts the wait; the call rejects with a TransportError of code `aborted`. */
  signal?: AbortSignal;
}

/** The certificate the TLS peer presented. */
export interface PeerCertificate {
  /** Subject common names (CN). */
  readonly commonNames: readonly string[];
  /** Subject alternative DNS names. */
  readonly dnsNames: readonly string[];
  /** The subject, as a one-line string. */
  readonly subject: string;
  /** The issuer, as a one-line string. */
  readonly issuer: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string;
  /** Whether the chain was verified against the configured certificate authorities. */
  readonly verified: boolean;
}

/** Limits and policies every transport shares. */
export interface TransportOptions {
  /** Largest envelope in either direction, in UTF-8 bytes. Default 8 MiB (8,388,608). */
  maxEnvelopeSize?: number;
  /** Deepest JSON nesting accepted in an incoming envelope. Default 64. */
  maxDepth?: number;
  /**
   * Most object members (`"key": value` pairs, all objects together) in an incoming envelope,
   * counted before it is parsed: `JSON.parse` time grows with the number of keys, not the bytes
   * (one object of 100,000 distinct keys: about 30 ms; of 600,000: about 280 ms). Default
   * 100,000.
   */
  maxMembers?: number;
  /**
   * Envelopes kept for a consumer that is not reading before the transport stops reading from the
   * connection (backpressure). Default 64.
   */
  receiveBufferSize?: number;
  /**
   * What to do with an incoming envelope that is well-formed JSON but not valid LIME: `close`
   * (default) closes the transport with an `invalid-envelope` error whose cause is the
   * ValidationError; `skip` drops it; an envelope (a repaired form of the invalid one, validated
   * by the policy) is delivered in its place, in order. Called with the error either way.
   */
  onInvalidEnvelope?: (error: ValidationError) => "close" | "skip" | Envelope;
  /**
   * Most bytes this side may hold for a peer that does not take them: everything accepted for
   * sending and not yet taken by the peer (the send queue, the sends batched for the end of the
   * turn, and what the connection buffers: a socket's `writableLength` with its TLS and gzip
   * buffers, a WebSocket's `bufferedAmount`). A send that has to wait and would bring the figure
   * past this closes the transport with a `slow-reader` TransportError; every send still waiting
   * rejects with it. 0 means no cap. Default {@link DEFAULT_MAX_QUEUED_BYTES} (8 MiB) for
   * transports that start open (accepted by a listener, `WebSocketTransport.fromSocket`, memory
   * pairs), 0 for client transports connected with `open()`: a client's sends are its own
   * application's, which can wait for them.
   */
  maxQueuedBytes?: number;
}

/** Default maximum envelope size: 8 MiB, like lime-csharp's JsonBuffer. */
export const DEFAULT_MAX_ENVELOPE_SIZE = 8 * 1024 * 1024;
/** Default maximum JSON nesting depth. */
export const DEFAULT_MAX_DEPTH = 64;
/**
 * Default `maxMembers`: `JSON.parse` of one object with 100,000 distinct keys takes about 30 ms
 * here, and the cost grows faster than the count (600,000 keys: 280 ms).
 */
export const DEFAULT_MAX_MEMBERS = 100_000;
/** Default receive buffer, in envelopes. */
export const DEFAULT_RECEIVE_BUFFER_SIZE = 64;
/** Default `maxQueuedBytes` of transports that start open (server side): 8 MiB. */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * A connection that carries LIME envelopes.
 *
 * Receive either with `for await (const envelope of transport)` or with `onEnvelope(handler)`.
 * Envelopes that arrive before any consumer attaches are kept (up to `receiveBufferSize`, then
 * reading pauses), so nothing is lost to a late consumer.
 */
export interface Transport extends AsyncIterable<Envelope>, AsyncDisposable {
  /** Connects a client transport; server-side transports are open already. */
  open(uri?: string | URL, options?: SignalOptions): Promise<void>;
  /** Closes the connection; pending sends reject with a `closed` TransportError. */
  close(options?: SignalOptions): Promise<void>;
  /**
   * Sends one envelope. Rejects with a `too-large` TransportError (and stays usable) when the
   * envelope is over the maximum size, with `closed` when the transport is closed.
   */
  send(envelope: Envelope, options?: SignalOptions): Promise<void>;
  /** Calls `handler` for every received envelope; returns a function that removes it. */
  onEnvelope(handler: (envelope: Envelope) => void): () => void;
  /** Resolves once, when the transport is closed, with who closed it and why. */
  readonly closed: Promise<TransportCloseInfo>;
  /**
   * Replaces the `onInvalidEnvelope` policy of the options (optional: a server channel installs
   * one that answers the peer with the error's reason).
   */
  invalidEnvelopePolicy?: TransportOptions["onInvalidEnvelope"];
  /**
   * The envelope to write when the incoming stream breaks the protocol, right before the
   * transport closes (optional: a server channel sets it to a `failed` session with the reason).
   */
  lastWords?: ((error: TransportError) => Envelope | undefined) | undefined;
  /**
   * Whether sends are waiting for the connection (its buffer is full, or sends are queued behind
   * it). Optional: channels use it to skip watching sends that completed at once.
   */
  readonly sendsWaiting?: boolean;
  /**
   * Bytes accepted for sending that the peer has not taken yet (see
   * `TransportOptions.maxQueuedBytes`), for metrics. Optional.
   */
  readonly queuedBytes?: number;
  /**
   * The largest envelope accepted from the peer now, in UTF-8 bytes: `maxEnvelopeSize` unless
   * lowered (a server keeps it small until the session is established, so an unauthenticated
   * peer cannot make it parse megabytes). Optional: transports without it accept up to their
   * maximum always.
   */
  receiveLimit?: number;
  /** Bytes of the envelopes received so far (optional; a server shapes senders by it). */
  readonly receivedBytes?: number;
  /**
   * Bytes of the envelopes accepted for sending so far (UTF-16 units of their JSON): with
   * `queuedBytes`, how far into what was sent the peer must at least have got (optional).
   */
  readonly sentBytes?: number;
  /**
   * Holds the sends that follow in this event-loop turn and writes them together at its end (one
   * write where there would be one per envelope), on transports that batch sends (server-side
   * TCP and WebSocket); does nothing elsewhere, or when sends are already waiting. For a sender
   * that knows several envelopes go out at once (a server's negotiation confirmation followed by
   * its authentication offer).
   */
  holdSends?(): void;
  /**
   * Stops reading from the connection until `resumeReceiving`; false when the transport cannot
   * (the standard WebSocket API). Optional.
   */
  pauseReceiving?(): boolean;
  /** Reads again after `pauseReceiving`. Optional. */
  resumeReceiving?(): void;
  /** Whether envelopes can be sent and received now. */
  readonly isConnected: boolean;
  /** Compression modes this transport can switch to. */
  supportedCompression(): readonly SessionCompression[];
  /** Encryption modes this transport can switch to. */
  supportedEncryption(): readonly SessionEncryption[];
  /** Current compression. */
  readonly compression: SessionCompression;
  /** Current encryption. */
  readonly encryption: SessionEncryption;
  /** Switches compression (right after the negotiation confirmation). */
  setCompression(compression: SessionCompression, options?: SignalOptions): Promise<void>;
  /** Switches encryption, e.g. starts TLS (right after the negotiation confirmation). */
  setEncryption(encryption: SessionEncryption, options?: SignalOptions): Promise<void>;
  /** This side's address (`host:port`), when known. */
  readonly localEndpoint: string | undefined;
  /** The peer's address (`host:port`), when known. */
  readonly remoteEndpoint: string | undefined;
  /** The peer's TLS certificate, when TLS is on and the peer presented one. */
  readonly peerCertificate: PeerCertificate | undefined;
}

/** Accepts connections and yields a server-side {@link Transport} for each. */
export interface TransportListener extends AsyncIterable<Transport>, AsyncDisposable {
  /** Starts listening. */
  listen(options?: SignalOptions): Promise<void>;
  /** The address it listens on (`host:port`, with the real port when 0 was asked). */
  readonly address: string | undefined;
  /** The transports it made that are still open. */
  readonly transports: ReadonlySet<Transport>;
  /** Stops accepting; with `closeTransports`, also closes every transport it made. */
  close(options?: { closeTransports?: boolean }): Promise<void>;
}
