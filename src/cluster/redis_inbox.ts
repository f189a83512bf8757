/**
 * A server's inbox: one Redis stream (`inbox:<server>`) with one consumer group, read by its
 * server with blocking `XREADGROUP` on a connection of its own. Each entry is checked
 * (`inbox_entry.ts`) and handed to the handler; it is acknowledged (`XACK`, batched per turn)
 * once the handler is done with it: for an envelope, once it was written to the destination
 * session. Until then it stays pending in the group, so if this server dies another one claims
 * it (`redis_rescue.ts`). A malformed entry is logged and acknowledged. Acknowledged entries are
 * trimmed away (`XTRIM MINID`) on every heartbeat. At most `maxUnackedChars` of entries are in
 * the works at once; reading waits beyond that.
 * @module
 */
import {
  type InboxEntry,
  InboxEntryError,
  type InboxLimits,
  readInboxEntry,
} from "./inbox_entry.ts";
import type { RedisLink } from "./redis_link.ts";

/** The consumer group of every inbox. */
export const INBOX_GROUP = "lime";

/** Handles one checked entry; the entry is acknowledged when the result settles. */
export type InboxHandler = (entry: InboxEntry, id: string) => void | Promise<void>;

/** What an inbox needs. */
export interface RedisInboxOptions {
  /** The connections. */
  link: RedisLink;
  /** The stream's key. */
  stream: string;
  /** This server's id (the consumer's name). */
  consumer: string;
  /** Limits on entries. */
  limits: InboxLimits;
  /** Entries read at once. Default 64. */
  readCount?: number;
  /** Characters of entries in the works at once (read, not acknowledged). Default 32 Mi. */
  maxUnackedChars?: number;
  /** The handler. */
  handle: InboxHandler;
}

type StreamReply = [string, [string, unknown][]][] | null;

/** Counts of what the inbox did. */
export interface InboxCounts {
  /** Entries handled. */
  handled: number;
  /** Malformed entries acknowledged without acting on them. */
  malformed: number;
}

/** The characters of an entry's fields (what it holds in memory, roughly). */
function weight(fields: unknown): number {
  let chars = 0;
  for (const field of fields as string[]) chars += field.length;
  return chars;
}

/** A server's inbox. */
export class RedisInbox {
  readonly #o: RedisInboxOptions;
  readonly #inWork = new Map<string, number>();
  readonly #maxChars: number;
  #inWorkChars = 0;
  #toAck: string[] = [];
  #ackScheduled = false;
  #room: PromiseWithResolvers<void> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #lastRead = "";
  #reportWindow = 0;
  #reported = 0;
  #suppressed = 0;
  /** What the inbox did so far. */
  readonly counts: InboxCounts = { handled: 0, malformed: 0 };

  /** An inbox with these options (not read until {@link start}). */
  constructor(options: RedisInboxOptions) {
    this.#o = options;
    this.#maxChars = options.maxUnackedChars ?? 32 * 1024 * 1024;
  }

  /** Creates the stream and its group when missing (after a start, or a Redis restart). */
  async ensureGroup(): Promise<void> {
    try {
      await this.#o.link.call(["XGROUP", "CREATE", this.#o.stream, INBOX_GROUP, "0", "MKSTREAM"]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("BUSYGROUP")) throw error;
    }
  }

  /** Starts reading. */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Reads again what was delivered to this server and not acknowledged (after a reconnection). */
  async recoverPending(): Promise<void> {
    const reply = await this.#o.link.call<StreamReply>([
      "XREADGROUP",
      "GROUP",
      INBOX_GROUP,
      this.#o.consumer,
      "COUNT",
      1_024,
      "STREAMS",
      this.#o.stream,
      "0",
    ]);
    for (const [id, fields] of reply?.[0]?.[1] ?? []) {
      if (!this.#inWork.has(id)) this.#take(id, fields);
    }
  }

  async #loop(): Promise<void> {
    const { link, stream, consumer } = this.#o;
    const count = this.#o.readCount ?? 64;
    let failures = 0;
    while (!this.#stopped) {
      if (this.#inWorkChars >= this.#maxChars) {
        this.#room = Promise.withResolvers();
        await this.#room.promise;
        continue;
      }
      let reply: StreamReply;
      try {
        reply = await link.callBlocking<StreamReply>([
          "XREADGROUP",
          "GROUP",
          INBOX_GROUP,
          consumer,
          "COUNT",
          count,
          "BLOCK",
          1_000,
          "STREAMS",
          stream,
          ">",
        ]);
        failures = 0;
      } catch (error) {
        if (this.#stopped) return;
        if (String((error as Error)?.message).startsWith("NOGROUP")) {
          await this.ensureGroup().catch(() => {});
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** failures++)));
        continue;
      }
      for (const [id, fields] of reply?.[0]?.[1] ?? []) {
        this.#lastRead = id;
        this.#take(id, fields);
      }
    }
  }

  #take(id: string, fields: unknown): void {
    let entry: InboxEntry;
    try {
      entry = readInboxEntry(fields, this.#o.limits);
    } catch (error) {
      if (!(error instanceof InboxEntryError)) throw error;
      this.counts.malformed++;
      this.#report(`inbox entry ${id} refused: ${error.message}`);
      this.#ack(id);
      return;
    }
    this.counts.handled++;
    let handled: void | Promise<void> = undefined;
    try {
      handled = this.#o.handle(entry, id);
    } catch (error) {
      console.error(`LIME cluster: inbox entry ${id} failed`, error);
    }
    if (!(handled instanceof Promise)) {
      this.#ack(id);
      return;
    }
    const chars = weight(fields);
    this.#inWork.set(id, chars);
    this.#inWorkChars += chars;
    handled.catch((error) => console.error(`LIME cluster: inbox entry ${id} failed`, error))
      .finally(() => {
        this.#inWork.delete(id);
        this.#inWorkChars -= chars;
        this.#ack(id);
        const room = this.#room;
        if (room && this.#inWorkChars < this.#maxChars / 2) {
          this.#room = undefined;
          room.resolve();
        }
      });
  }

  /** Logs a refused entry: at most 10 lines a minute (a flood of bad entries is counted). */
  #report(line: string): void {
    const now = Date.now();
    if (now - this.#reportWindow >= 60_000) {
      if (this.#suppressed > 0) {
        console.error(`LIME cluster: ${this.#suppressed} more inbox entries refused`);
      }
      this.#reportWindow = now;
      this.#reported = 0;
      this.#suppressed = 0;
    }
    if (this.#reported++ < 10) console.error(`LIME cluster: ${line}`);
    else this.#suppressed++;
  }

  #ack(id: string): void {
    this.#toAck.push(id);
    if (!this.#ackScheduled) {
      this.#ackScheduled = true;
      setImmediate(() => this.#flushAcks());
    }
  }

  #flushAcks(): void {
    this.#ackScheduled = false;
    const ids = this.#toAck;
    if (ids.length === 0) return;
    this.#toAck = [];
    this.#o.link.call(["XACK", this.#o.stream, INBOX_GROUP, ...ids]).catch(() => {
      // Still pending: read again after the reconnection (recoverPending).
    });
  }

  /** Trims entries that are acknowledged (everything before the oldest pending one). */
  async trim(): Promise<void> {
    const { link, stream } = this.#o;
    const [count, oldest] = await link.call<[number, string | null]>([
      "XPENDING",
      stream,
      INBOX_GROUP,
    ]);
    const before = count > 0 && oldest ? oldest : this.#lastRead;
    if (before) await link.call(["XTRIM", stream, "MINID", before]);
  }

  /** Entries handed to the handler and not done yet. */
  get inWork(): number {
    return this.#inWork.size;
  }

  /**
   * Stops reading and acknowledges what is done; the read in progress ends when the blocking
   * connection closes (then {@link finished} resolves).
   */
  stop(): void {
    this.#stopped = true;
    this.#room?.resolve();
    this.#flushAcks();
  }

  /** Resolves when the reading loop has ended (after {@link stop}). */
  async finished(): Promise<void> {
    await this.#running?.catch(() => {});
  }
}
