/**
 * The presence and receipts a resilient client sets on every session: those of its options, then
 * whatever it set through `setResource` and the server accepted.
 * @module
 */
import type { ClientChannel } from "../channel/client_channel.ts";
import type { Command } from "../envelope.ts";

/** Presence and receipts to set again after every (re)establishment. */
export class SessionSettings {
  #presence: unknown;
  #receipts: unknown;

  /** Starts from the options' presence and receipt events. */
  constructor(presence: unknown, receiptEvents: readonly string[] | undefined) {
    this.#presence = presence;
    this.#receipts = receiptEvents ? { events: receiptEvents } : undefined;
  }

  /** Remembers an accepted `set /presence` or `set /receipt`. */
  remember(request: Command): void {
    if (request.method !== "set" || !request.uri) return;
    const path = request.uri.replace(/^lime:\/\/[^/]*/, "").split("?")[0];
    if (path === "/presence") this.#presence = request.resource;
    if (path === "/receipt") this.#receipts = request.resource;
  }

  /** Sets them on a new session (a refusal rejects with `CommandFailedError`). */
  async apply(channel: ClientChannel): Promise<void> {
    if (this.#presence) {
      await channel.setResource("/presence", "application/vnd.lime.presence+json", this.#presence);
    }
    if (this.#receipts) {
      await channel.setResource("/receipt", "application/vnd.lime.receipt+json", this.#receipts);
    }
  }
}
