/**
 * The record a session keeps of the messages with ids handed to it that it may not have read (see
 * `ServerSession.handedOver`): a ring of parallel arrays, oldest first. A session under load keeps
 * tens of thousands of entries; as objects in an array, each was an object made per message and
 * kept long enough to be copied out of the young generation, and dropping the oldest moved the
 * whole array. Here an entry is four slots of arrays made once, and dropping moves an index.
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

/** The smallest capacity; also what an emptied record shrinks back to. */
const MIN_CAPACITY = 8;

/** Entries in the order they were pushed; the oldest can be dropped. */
export class UnreadRecord {
  #senders: (ServerSession | undefined)[] = [];
  #ids: (string | undefined)[] = [];
  // `null`: the session's own node (as most messages are addressed; not kept per message).
  #tos: (string | null | undefined)[] = [];
  #marks: number[] = [];
  /** Capacity − 1 (the capacity is a power of two). */
  #mask = -1;
  #head = 0;
  #length = 0;

  /** How many entries it holds. */
  get length(): number {
    return this.#length;
  }

  /** How many entries its arrays hold before they grow. */
  get capacity(): number {
    return this.#mask + 1;
  }

  /** Appends an entry; `to` equal to `node` (the session's own) is not kept. */
  push(
    sender: ServerSession,
    id: string,
    to: string | undefined,
    node: string,
    mark: number,
  ): void {
    if (this.#length > this.#mask) this.#resize(Math.max(MIN_CAPACITY, 2 * (this.#mask + 1)));
    const at = (this.#head + this.#length) & this.#mask;
    this.#senders[at] = sender;
    this.#ids[at] = id;
    this.#tos[at] = to === node ? null : to;
    this.#marks[at] = mark;
    this.#length++;
  }

  /** The `mark` of the `index`-th oldest entry. */
  markAt(index: number): number {
    return this.#marks[(this.#head + index) & this.#mask];
  }

  /** Drops the `count` oldest entries (and what they held on to). */
  dropOldest(count: number): void {
    count = Math.min(count, this.#length);
    for (let i = 0; i < count; i++) {
      const at = (this.#head + i) & this.#mask;
      this.#senders[at] = undefined;
      this.#ids[at] = undefined;
      this.#tos[at] = undefined;
    }
    this.#head = (this.#head + count) & this.#mask;
    this.#length -= count;
    // A burst grew the arrays: give the memory back, a half at a time, once they are mostly empty
    // (not at once: a record under load swings between a few thousand entries and tens of
    // thousands, and re-making its arrays at every swing costs more than the pushes).
    const capacity = this.#mask + 1;
    if (capacity > MIN_CAPACITY && this.#length < capacity >> 3) this.#resize(capacity >> 1);
  }

  /** Every entry, oldest first, as objects (`node` as in `push`); the record is left empty. */
  take(node: string): UnreadMessage[] {
    const taken: UnreadMessage[] = [];
    for (let i = 0; i < this.#length; i++) {
      const at = (this.#head + i) & this.#mask;
      taken.push({
        sender: this.#senders[at]!,
        id: this.#ids[at]!,
        to: this.#tos[at] === null ? node : this.#tos[at] as string | undefined,
        mark: this.#marks[at],
      });
    }
    this.#senders = [];
    this.#ids = [];
    this.#tos = [];
    this.#marks = [];
    this.#mask = -1;
    this.#head = 0;
    this.#length = 0;
    return taken;
  }

  #resize(capacity: number): void {
    const senders = new Array<ServerSession | undefined>(capacity);
    const ids = new Array<string | undefined>(capacity);
    const tos = new Array<string | null | undefined>(capacity);
    const marks = new Array<number>(capacity);
    for (let i = 0; i < this.#length; i++) {
      const at = (this.#head + i) & this.#mask;
      senders[i] = this.#senders[at];
      ids[i] = this.#ids[at];
      tos[i] = this.#tos[at];
      marks[i] = this.#marks[at];
    }
    this.#senders = senders;
    this.#ids = ids;
    this.#tos = tos;
    this.#marks = marks;
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}
