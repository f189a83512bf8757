/**
 * A scripted peer's view of one connection: JSON objects in (as an awaited queue, so a session
 * script reads like "expect, reply"), JSON objects out, with the profile's separator after each,
 * and on TCP the in-session TLS switch. Implemented by `tcp_wire.ts` and `websocket_wire.ts`.
 * @module
 */

/** A received envelope, as plain JSON. */
export type Json = Record<string, unknown>;

/** One connection of a scripted server. */
export interface Wire {
  /** `tcp` or `ws`. */
  readonly kind: "tcp" | "ws";
  /** Whether the connection is encrypted (TLS switched on, or `wss`). */
  readonly secure: boolean;
  /** Whether this connection can switch to TLS (TCP with a certificate). */
  readonly tlsAvailable: boolean;
  /** The next envelope, or undefined once the connection is closed. */
  receive(): Promise<Json | undefined>;
  /** Writes an envelope followed by `separator`; a `lateSeparator` goes in a later segment. */
  send(envelope: Json, options?: { lateSeparator?: boolean }): void;
  /** Switches to TLS as the server, right after the confirmation (TCP only). */
  startTls(options: { requestCert: boolean }): Promise<void>;
  /** The client certificate's subject CN, once TLS is on and the client presented one. */
  readonly peerCommonName: string | undefined;
  /** Closes the connection. */
  close(): void;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;
}

/** The receive queue both wires share. */
export class Inbox {
  readonly #items: Json[] = [];
  readonly #waiters: ((item: Json | undefined) => void)[] = [];
  #ended = false;

  /** Queues an envelope (or hands it to a waiting receive). */
  put(item: Json): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  /** Ends the queue: receives resolve undefined once it is empty. */
  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  /** The next envelope, or undefined after the end. */
  take(): Promise<Json | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift());
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
