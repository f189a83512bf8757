/**
 * The transport under an HTTP identity's session (`edge_session.ts`): nothing crosses a wire.
 * What the server sends the session (routed messages, notifications, command responses) goes to
 * a sink: a waiting HTTP request, or the identity's webhook outbox. Session envelopes are the
 * session's own bookkeeping and go nowhere. A send settles as the sink says: at once when taken,
 * rejected when refused (the router then tells the sender `failed`), or later.
 * @module
 */
import type { Envelope } from "../envelope.ts";
import { isSession, Session } from "../envelope.ts";
import { TransportError } from "../transport/errors.ts";
import type { SignalOptions, TransportOptions } from "../transport/transport.ts";
import { TransportBase } from "../transport/transport_base.ts";

/** Where an edge session's outgoing envelopes go. */
export type EdgeSink = (envelope: Envelope) => Promise<void>;

/** A transport whose peer is the server's HTTP edge. */
export class EdgeTransport extends TransportBase {
  readonly #sink: EdgeSink;
  readonly #label: string;

  /** A transport named `label` (the node) whose sends go to `sink`. */
  constructor(label: string, sink: EdgeSink, options: TransportOptions = {}) {
    super(options, true);
    this.#label = label;
    this.#sink = sink;
  }

  /** Plays the client's `new` (the session is established without authentication: see caller). */
  start(node: string): void {
    this.deliver(new Session("new", { from: node }));
  }

  /** Hands the envelope to the sink (session envelopes are dropped). */
  override send(envelope: Envelope, options: SignalOptions = {}): Promise<void> {
    if (!this.isConnected) {
      return Promise.reject(new TransportError("closed", "Cannot send: the session ended"));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new TransportError("aborted", "Sending was aborted"));
    }
    if (isSession(envelope)) return Promise.resolve();
    try {
      return this.#sink(envelope);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends never wait for a connection. */
  override get sendsWaiting(): boolean {
    return false;
  }

  /** Nothing is held for a peer here (the webhook outbox keeps its own budget). */
  override get queuedBytes(): number {
    return 0;
  }

  /** Not counted: nothing is read by a peer at its own pace. */
  override get sentBytes(): number {
    return 0;
  }

  /** `http:<node>`. */
  override get localEndpoint(): string {
    return `http:${this.#label}`;
  }

  /** Nothing to connect. */
  protected openConnection(): Promise<void> {
    return Promise.resolve();
  }

  /** Unused: {@link send} hands envelopes to the sink. */
  protected writeEnvelope(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to release. */
  protected closeConnection(): Promise<void> {
    return Promise.resolve();
  }
}
