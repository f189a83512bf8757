/**
 * Rescue of a dead server's inbox. When a server's liveness key has been gone for two
 * heartbeats in a row, one live server (whoever takes the lock `rescue:<server>` first) claims
 * what the dead one had read and not acknowledged (`XAUTOCLAIM`) and reads what it never read
 * (`XREADGROUP` as a consumer of its own), hands every entry to `handle` (envelopes are routed on
 * to where their node is now, or failed back to their origin: nothing is dropped silently),
 * acknowledges them, and finally deletes the stream and the server's membership. It stops at
 * once if the server turns out to be alive (its key came back).
 * @module
 */
import {
  type InboxEntry,
  InboxEntryError,
  type InboxLimits,
  readInboxEntry,
} from "./inbox_entry.ts";
import { INBOX_GROUP } from "./redis_inbox.ts";
import type { RedisLink } from "./redis_link.ts";

/** What rescue needs. */
export interface RescueOptions {
  /** The connections. */
  link: RedisLink;
  /** Key prefix. */
  prefix: string;
  /** This server's id. */
  me: string;
  /** How long the lock is held at most, ms. */
  lockTtl: number;
  /** Limits on entries. */
  limits: InboxLimits;
  /** Handles a rescued entry; it is acknowledged when the result settles. */
  handle(entry: InboxEntry): void | Promise<void>;
}

type Raw = [string, unknown][];

/** Rescues of dead servers' inboxes. */
export class InboxRescue {
  readonly #o: RescueOptions;
  readonly #running = new Map<string, Promise<number>>();

  /** Rescues with these options. */
  constructor(options: RescueOptions) {
    this.#o = options;
  }

  /** Rescues `server`'s inbox (once at a time); resolves with the entries handled. */
  rescue(server: string): Promise<number> {
    let running = this.#running.get(server);
    if (!running) {
      running = this.#rescue(server).finally(() => this.#running.delete(server));
      this.#running.set(server, running);
    }
    return running;
  }

  /** Rescues in progress. */
  get active(): Promise<unknown> {
    return Promise.allSettled([...this.#running.values()]);
  }

  async #rescue(server: string): Promise<number> {
    const { link, prefix, me } = this.#o;
    const lock = `${prefix}rescue:${server}`;
    const stream = `${prefix}inbox:${server}`;
    if (await link.call(["SET", lock, me, "NX", "PX", this.#o.lockTtl]) === null) return 0;
    const consumer = `${me}:rescue`;
    let handled = 0;
    try {
      for (;;) {
        if (await link.call<number>(["EXISTS", `${prefix}srv:${server}`]) === 1) return handled;
        const [, claimed] = await link.call<[string, Raw, string[]]>([
          "XAUTOCLAIM",
          stream,
          INBOX_GROUP,
          consumer,
          0,
          "0-0",
          "COUNT",
          100,
        ]);
        const fresh = await link.call<[string, Raw][] | null>([
          "XREADGROUP",
          "GROUP",
          INBOX_GROUP,
          consumer,
          "COUNT",
          100,
          "STREAMS",
          stream,
          ">",
        ]);
        const batch = [...claimed, ...(fresh?.[0]?.[1] ?? [])].filter(([, fields]) => fields);
        if (batch.length === 0) break;
        await Promise.all(batch.map(([, fields]) => this.#handle(fields)));
        await link.call(["XACK", stream, INBOX_GROUP, ...batch.map(([id]) => id)]);
        await link.call(["PEXPIRE", lock, this.#o.lockTtl]);
        handled += batch.length;
      }
    } catch (error) {
      if (!/^(NOGROUP|ERR no such key)/.test(String((error as Error)?.message))) {
        console.error(`LIME cluster: rescuing the inbox of ${server} failed`, error);
        await link.call(["DEL", lock]).catch(() => {});
        return handled;
      }
    }
    await link.call(["DEL", stream]);
    await link.call(["SREM", `${prefix}servers`, server]);
    await link.call(["DEL", lock]);
    if (handled > 0) console.error(`LIME cluster: rescued ${handled} entries of ${server}`);
    return handled;
  }

  async #handle(fields: unknown): Promise<void> {
    let entry: InboxEntry;
    try {
      entry = readInboxEntry(fields, this.#o.limits);
    } catch (error) {
      if (!(error instanceof InboxEntryError)) throw error;
      return;
    }
    await this.#o.handle(entry);
  }
}
