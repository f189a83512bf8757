/**
 * What a server sent to other servers and still waits to hear about: every message with an id
 * and every command request with an id that crossed to another server's inbox is tracked here
 * until that server reports its outcome (written to the session, or failed with a reason), so
 * its sender gets `dispatched` or `failed` (or a failure response) as if the destination were
 * local. One not heard of within `timeout` (its server died and nobody could re-route it, Redis
 * lost it) is reported failed (44): nothing is dropped silently. At most `max` are tracked; past
 * that, a new one is refused at once.
 * @module
 */
import { Command, type Envelope, isMessage, Message } from "../envelope.ts";
import type { ServerSession } from "../server/server_session.ts";

/** One tracked envelope. */
export interface HopPending {
  /** Who sent it. */
  readonly sender: ServerSession;
  /** What receipts and refusals need of it: its id, `to`, and method for a command. */
  readonly shell: Envelope;
  /** When it left, ms. */
  readonly at: number;
}

/** The tracked envelopes of one server. */
export class HopLedger {
  readonly #pending = new Map<string, HopPending>();
  readonly #max: number;
  readonly #timeout: number;
  #next = 0;

  /** A ledger of at most `max` envelopes, each given `timeout` ms. */
  constructor(max: number, timeout: number) {
    this.#max = max;
    this.#timeout = timeout;
  }

  /** Whether an envelope must be tracked: a message with an id, a command request with an id. */
  static tracks(envelope: Envelope): boolean {
    if (!envelope.id) return false;
    return isMessage(envelope) || ("method" in envelope && envelope.status === undefined);
  }

  /** Tracks an envelope; its tracking id, or undefined when the ledger is full. */
  add(sender: ServerSession, envelope: Envelope, now: number): string | undefined {
    if (this.#pending.size >= this.#max) return undefined;
    const track = (this.#next++).toString(36);
    const init = { id: envelope.id, ...(envelope.to ? { to: envelope.to } : {}) };
    const shell = isMessage(envelope)
      ? new Message(envelope.type, "", init)
      : new Command((envelope as Command).method, undefined, init);
    this.#pending.set(track, { sender, shell, at: now });
    return track;
  }

  /** Takes a tracked envelope (its outcome arrived). */
  take(track: string): HopPending | undefined {
    const pending = this.#pending.get(track);
    if (pending) this.#pending.delete(track);
    return pending;
  }

  /** Takes those older than the timeout (in the order they left). */
  expired(now: number): HopPending[] {
    const expired: HopPending[] = [];
    for (const [track, pending] of this.#pending) {
      if (now - pending.at < this.#timeout) break;
      this.#pending.delete(track);
      expired.push(pending);
    }
    return expired;
  }

  /** Envelopes tracked. */
  get size(): number {
    return this.#pending.size;
  }

  /** Forgets everything (the server stopped). */
  clear(): void {
    this.#pending.clear();
  }
}
