/**
 * Messages sent but not yet confirmed, for resending (lime-csharp's ResendMessagesChannelModule):
 * a message with an id stays tracked until a notification with a confirming event arrives for
 * it; unconfirmed ones are resent after a reconnection and, while connected, after
 * `window × (resends + 1)`, with `#resentCount` in metadata, up to `maxResends` times; then they
 * are dead letters. A `failed` notification with a routing reason (41–44: the destination is
 * not there yet) keeps the message for a later resend; any other `failed` ends its tracking.
 * @module
 */
import type { Message, Notification } from "../envelope.ts";
import type { NotificationEvent } from "../generated/enums.generated.ts";

/** How unconfirmed messages are resent. */
export interface ResendOptions {
  /** Events that confirm a message. Default: accepted, dispatched, received, consumed. */
  confirmEvents?: readonly NotificationEvent[];
  /** Resends before a message becomes a dead letter. Default 5; 0 disables tracking. */
  maxResends?: number;
  /** Milliseconds before an unconfirmed message is resent while connected. Default 5,000. */
  window?: number;
  /** Most messages tracked at once; beyond it the oldest becomes a dead letter. Default 10,000. */
  limit?: number;
}

/** The defaults above. */
export const RESEND_DEFAULTS: Readonly<{
  confirmEvents: readonly NotificationEvent[];
  maxResends: number;
  window: number;
  limit: number;
}> = Object.freeze({
  confirmEvents: Object.freeze(["accepted", "dispatched", "received", "consumed"] as const),
  maxResends: 5,
  window: 5_000,
  limit: 10_000,
});

/** Most messages resent per window while connected. */
export const MAX_RESENDS_PER_ROUND = 500;

interface Entry {
  message: Message;
  sentAt: number;
  resends: number;
}

/** A message given up on, and why. */
export interface DeadLetter {
  /** The message (as last sent). */
  message: Message;
  /**
   * Why: `max-resends` (never confirmed), `overflow` (too many tracked), `closed` (the client
   * closed before it was sent or confirmed).
   */
  reason: "max-resends" | "overflow" | "closed";
}

/** The tracked messages. */
export class ResendTracker {
  readonly #entries = new Map<string, Entry>();
  readonly #confirm: ReadonlySet<NotificationEvent>;
  readonly #maxResends: number;
  readonly #window: number;
  readonly #limit: number;

  /** A tracker with the given options. */
  constructor(options: ResendOptions = {}) {
    this.#confirm = new Set(options.confirmEvents ?? RESEND_DEFAULTS.confirmEvents);
    this.#maxResends = options.maxResends ?? RESEND_DEFAULTS.maxResends;
    this.#window = options.window ?? RESEND_DEFAULTS.window;
    this.#limit = options.limit ?? RESEND_DEFAULTS.limit;
  }

  /** How many messages wait for confirmation. */
  get size(): number {
    return this.#entries.size;
  }

  /** The resend window, in ms. */
  get window(): number {
    return this.#window;
  }

  /** Tracks a sent message (only with an id); returns a dead letter when the oldest overflowed. */
  track(message: Message, now: number): DeadLetter | undefined {
    if (!message.id || this.#maxResends === 0) return undefined;
    const existing = this.#entries.get(message.id);
    this.#entries.delete(message.id);
    this.#entries.set(message.id, { message, sentAt: now, resends: existing?.resends ?? 0 });
    if (this.#entries.size <= this.#limit) return undefined;
    const [oldestId, oldest] = this.#entries.entries().next().value!;
    this.#entries.delete(oldestId);
    return { message: oldest.message, reason: "overflow" };
  }

  /** Applies a received notification; true when it settled a tracked message. */
  settle(notification: Notification): boolean {
    const id = notification.id;
    if (!id || !this.#entries.has(id)) return false;
    if (this.#confirm.has(notification.event)) {
      this.#entries.delete(id);
      return true;
    }
    if (notification.event === "failed") {
      const code = notification.reason?.code ?? 0;
      if (code >= 41 && code <= 44) return false; // not routable yet: keep for a resend
      this.#entries.delete(id);
      return true;
    }
    return false;
  }

  /**
   * The messages to resend now (all of them after a reconnection, else those past their window),
   * each with `#resentCount` in metadata, and those that used up their resends.
   */
  due(now: number, all: boolean): { resend: Message[]; dead: DeadLetter[] } {
    const resend: Message[] = [];
    const dead: DeadLetter[] = [];
    for (const [id, entry] of this.#entries) {
      if (!all && now - entry.sentAt < this.#window * (entry.resends + 1)) continue;
      // While connected, resend a bounded batch per window: when confirmations lag behind the
      // window, resending the whole backlog every time would only add to the lag.
      if (!all && resend.length >= MAX_RESENDS_PER_ROUND) break;
      if (entry.resends >= this.#maxResends) {
        this.#entries.delete(id);
        dead.push({ message: entry.message, reason: "max-resends" });
        continue;
      }
      entry.resends++;
      entry.sentAt = now;
      entry.message = {
        ...entry.message,
        metadata: { ...entry.message.metadata, "#resentCount": String(entry.resends) },
      } as Message;
      resend.push(entry.message);
    }
    return { resend, dead };
  }

  /** Forgets everything (the client closed). */
  clear(): Message[] {
    const left = [...this.#entries.values()].map((e) => e.message);
    this.#entries.clear();
    return left;
  }
}
