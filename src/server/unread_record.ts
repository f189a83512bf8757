/**
 * The record a session keeps of the messages with ids handed to it that it may not have read (see
 * `ServerSession.handedOver`), oldest first. A session under load keeps tens of thousands of
 * entries; as objects in an array, each was an object made per message and kept long enough to be
 * copied out of the young generation, and dropping the oldest moved the whole array. Here the
 * entries are slots of parallel arrays in chunks of {@link CHUNK}: pushing writes four slots,
 * dropping moves an index and lets go of whole chunks, and nothing is ever copied (a ring that
 * grew and shrank with the record re-made and copied its arrays at every swing of a record under
 * load, between a few thousand entries and tens of thousands).
 * @module
 */
import type { ServerSession } from "./server_session.ts";

/**
 * A message handed to a session that it may not have read: what its `failed` receipt needs, not
 * the message (kept for thousands of messages per session, whole messages would outlive the young
 * generation and be copied out of it).
 */
export interface UnreadMessage {
  /** Who sent it. */
  sender: ServerSession;
  /** The message's id. */
  id: string;
  /** Its destination as the sender wrote it. */
  to: string | undefined;
  /** The transport's `sentBytes` when it was handed over: the message ends at or before it. */
  mark: number;
}

/** Entries per chunk. */
export const CHUNK = 1024;

/** Up to {@link CHUNK} entries, as parallel arrays (they grow as a plain array does). */
class Chunk {
  senders: (ServerSession | undefined)[] = [];
  ids: (string | undefined)[] = [];
  // `null`: the session's own node (as most messages are addressed; not kept per message).
  tos: (string | null | undefined)[] = [];
  marks: number[] = [];
}

/** Entries in the order they were pushed; the oldest can be dropped. */
export class UnreadRecord {
  /** Every chunk but the last is full; the first starts at {@link #start}. */
  #chunks: Chunk[] = [];
  #start = 0;
  #length = 0;
  /** A dropped full chunk, kept for the next one needed (a record under load needs one soon). */
  #spare: Chunk | undefined;

  /** How many entries it holds. */
  get length(): number {
    return this.#length;
  }

  /** How many entries its chunks can hold (the spare one included). */
  get capacity(): number {
    let slots = this.#spare?.ids.length ?? 0;
    for (const chunk of this.#chunks) slots += chunk.ids.length;
    return slots;
  }

  /** Appends an entry; `to` equal to `node` (the session's own) is not kept. */
  push(
    sender: ServerSession,
    id: string,
    to: string | undefined,
    node: string,
    mark: number,
  ): void {
    const end = this.#start + this.#length;
    const offset = end % CHUNK;
    let chunk: Chunk;
    if (offset === 0 && end / CHUNK === this.#chunks.length) {
      chunk = this.#spare ?? new Chunk();
      this.#spare = undefined;
      this.#chunks.push(chunk);
    } else chunk = this.#chunks[(end - offset) / CHUNK];
    chunk.senders[offset] = sender;
    chunk.ids[offset] = id;
    chunk.tos[offset] = to === node ? null : to;
    chunk.marks[offset] = mark;
    this.#length++;
  }

  /** The `mark` of the `index`-th oldest entry (`index` below {@link length}). */
  markAt(index: number): number {
    const at = this.#start + index;
    return this.#chunks[Math.floor(at / CHUNK)].marks[at % CHUNK];
  }

  /** Drops the `count` oldest entries (and what they held on to); all of them at most. */
  dropOldest(count: number): void {
    if (!(count > 0)) return; // 0, negative or NaN: nothing, as `splice` did
    count = Math.min(Math.floor(count), this.#length);
    let start = this.#start;
    let left = count;
    while (left > 0) {
      const chunk = this.#chunks[0];
      const end = Math.min(CHUNK, start + left);
      chunk.senders.fill(undefined, start, end);
      chunk.ids.fill(undefined, start, end);
      chunk.tos.fill(undefined, start, end);
      left -= end - start;
      start = end;
      if (start === CHUNK) {
        this.#chunks.shift();
        this.#spare = chunk;
        start = 0;
      }
    }
    this.#length -= count;
    this.#start = start;
  }

  /** Every entry, oldest first, as objects (`node` as in `push`); the record is left empty. */
  take(node: string): UnreadMessage[] {
    const taken: UnreadMessage[] = [];
    for (let i = 0; i < this.#length; i++) {
      const at = this.#start + i;
      const chunk = this.#chunks[Math.floor(at / CHUNK)];
      const offset = at % CHUNK;
      const to = chunk.tos[offset];
      taken.push({
        sender: chunk.senders[offset]!,
        id: chunk.ids[offset]!,
        to: to === null ? node : to,
        mark: chunk.marks[offset],
      });
    }
    this.#chunks = [];
    this.#start = 0;
    this.#length = 0;
    this.#spare = undefined;
    return taken;
  }
}
