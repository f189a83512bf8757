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

/**
 * Dropped chunks kept for the next ones needed, at most: a record that keeps up holds 4 to 8
 * chunks and drops 4 at a trim, so it makes no new chunk (and grows no array) once it has these.
 * A record drops only once it holds 8,192 entries and keeps 4,096, so its spare chunks are never
 * more than its live ones.
 */
export const SPARE_CHUNKS = 4;

/**
 * Up to {@link CHUNK} entries, as parallel arrays: made full-size, but for a record's first chunk,
 * whose arrays grow as plain arrays do (most sessions get a few messages with ids, if any).
 */
class Chunk {
  senders: (ServerSession | undefined)[];
  ids: (string | undefined)[];
  // `null`: the session's own node (as most messages are addressed; not kept per message).
  tos: (string | null | undefined)[];
  marks: number[];

  constructor(size: number) {
    this.senders = new Array(size);
    this.ids = new Array(size);
    this.tos = new Array(size);
    this.marks = new Array(size);
  }
}

/** Entries in the order they were pushed; the oldest can be dropped. */
export class UnreadRecord {
  /** Every chunk but the last is full; the first starts at {@link #start}. */
  #chunks: Chunk[] = [];
  #start = 0;
  #length = 0;
  /** The last chunk, and how many of its slots were written. */
  #tail: Chunk | undefined;
  #tailFill = 0;
  /** Dropped chunks, kept for the next ones needed (see {@link SPARE_CHUNKS}). */
  #spares: Chunk[] = [];

  /** How many entries it holds. */
  get length(): number {
    return this.#length;
  }

  /** How many entries its chunks can hold (the spare ones included). */
  get capacity(): number {
    let slots = 0;
    for (const chunk of this.#chunks) slots += chunk.ids.length;
    for (const chunk of this.#spares) slots += chunk.ids.length;
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
    let chunk = this.#tail;
    let offset = this.#tailFill;
    if (chunk === undefined || offset === CHUNK) {
      chunk = this.#tail = this.#spares.pop() ?? new Chunk(this.#chunks.length > 0 ? CHUNK : 0);
      this.#chunks.push(chunk);
      offset = 0;
    }
    chunk.senders[offset] = sender;
    chunk.ids[offset] = id;
    chunk.tos[offset] = to === node ? null : to;
    chunk.marks[offset] = mark;
    this.#tailFill = offset + 1;
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
      const { senders, ids, tos } = chunk;
      // A loop: `fill` with bounds took ten times as long here.
      for (let i = start; i < end; i++) senders[i] = ids[i] = tos[i] = undefined;
      left -= end - start;
      start = end;
      if (start === CHUNK) {
        this.#chunks.shift();
        // Full, so if it was the tail, the next push starts another one.
        if (this.#spares.length < SPARE_CHUNKS) this.#spares.push(chunk);
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
    this.#tail = undefined;
    this.#start = 0;
    this.#length = 0;
    this.#spares = [];
    return taken;
  }
}
