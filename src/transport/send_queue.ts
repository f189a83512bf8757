/**
 * The sending half of a transport: serialized envelopes go to the connection in order, at once
 * when it can take them (the fast path), batched for the end of the turn when the transport
 * batches, otherwise queued and written by one pump that waits for the connection's drain. What
 * is held for a peer that does not take it is capped (`maxQueuedBytes`): a send that has to wait
 * and would pass the cap fails the transport with `slow-reader`, and every waiting send rejects.
 * @module
 */
import { serializeEnvelope } from "../codec_core.ts";
import type { Envelope } from "../envelope.ts";
import { TransportError } from "./errors.ts";

/**
 * Where a {@link SendQueue} writes: the transport and its connection, through hooks called with
 * the transport (shared by every transport: a server holds one per session).
 */
export interface SendSink<T> {
  /** Whether the transport is open (a queued send is rejected with `closed` otherwise). */
  isOpen(owner: T): boolean;
  /**
   * Writes synchronously when the connection can take the text now: `null` when it took it with
   * room to spare, a promise of the drain when its buffer is now full, `undefined` when it cannot
   * write now (the text then goes through {@link write}).
   */
  writeNow(owner: T, text: string): Promise<void> | null | undefined;
  /**
   * Like {@link writeNow} for several envelopes at once, in order (batched sends, or queued ones
   * when the connection {@link coalesces}).
   */
  writeManyNow(owner: T, texts: readonly string[]): Promise<void> | null | undefined;
  /** Writes one envelope when it cannot be written now (e.g. a TLS switch is pending). */
  write(owner: T, text: string, bytes: () => Uint8Array): Promise<void>;
  /** Whether sends taken by the fast path are batched for the end of the turn. */
  batches(owner: T): boolean;
  /** Whether several queued texts may go to {@link writeManyNow} at once. */
  coalesces(owner: T): boolean;
  /** Schedules the batch's write: `flush(queue)` once the turn ends. */
  scheduleFlush(owner: T, flush: (queue: SendQueue<T>) => void, queue: SendQueue<T>): void;
  /** Bytes the connection holds that the peer has not taken (socket buffers and the like). */
  connectionBytes(owner: T): number;
  /** Fails the transport (`slow-reader`, or a write that failed unexpectedly: `io`). */
  fail(owner: T, error: TransportError): void;
}

interface QueuedSend {
  text: string;
  bytes: () => Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const encoder = new TextEncoder();
/**
 * What a send returns when the connection took it at once (or batched it for the end of the
 * turn): always this one settled promise, so that a caller that would wait for the send (the
 * server's router, for receipts) can see it need not.
 */
export const TAKEN: Promise<void> = Promise.resolve();
const noop = () => {};
/** Most UTF-16 units of queued envelopes written at once when a transport coalesces writes. */
const COALESCE_LIMIT = 64 * 1024;

// Bumped whenever a connection delivers data (see {@link dataArrived}): the sends that follow one
// arrival, up to the next, are one "turn" for batching.
let turn = 0;

/**
 * Marks the start of the work on a chunk some connection delivered. A batching transport writes
 * its first send after each such mark at once, with nothing scheduled (a lone answer costs no
 * end-of-turn callback), and batches the ones after it until the end of the turn.
 */
export function dataArrived(): void {
  turn++;
}

/** Sends in order, with a synchronous fast path, per-turn batching and a cap on what is held. */
export class SendQueue<T> {
  readonly #owner: T;
  readonly #sink: SendSink<T>;
  readonly #maxQueued: number;
  // Sends waiting for their turn, in order, written by one pump (no promise chain per send).
  #queue: (QueuedSend | undefined)[] = [];
  #head = 0;
  // UTF-16 units of the texts in #queue from #head on.
  #queuedText = 0;
  #pumping = false;
  // A drain the connection asked for (its buffer is over the high-water mark): later sends wait.
  #drain: Promise<void> | undefined;
  // Sends taken at once but written together later in the turn (transports that batch sends).
  #batch: string[] = [];
  #batchSize = 0;
  #batchScheduled = false;
  // The turn of the last send written at once while batching.
  #lastTurn = -1;
  #failure: TransportError | undefined;

  /** A queue writing to `owner` through `sink`, holding at most `maxQueued` bytes for the peer (0: no cap). */
  constructor(owner: T, sink: SendSink<T>, maxQueued: number) {
    this.#owner = owner;
    this.#sink = sink;
    this.#maxQueued = maxQueued;
  }

  /** Whether sends are waiting for the connection (a full buffer, or queued behind one). */
  get waiting(): boolean {
    return this.#pumping || this.#drain !== undefined;
  }

  /**
   * Bytes accepted and not yet taken by the peer: queued and batched texts (counted in UTF-16
   * units, which is their UTF-8 size for ASCII) and what the connection holds.
   */
  get queuedBytes(): number {
    return this.#queuedText + this.#batchSize + this.#sink.connectionBytes(this.#owner);
  }

  /**
   * Serializes and size-checks one envelope, then sends it: rejects with `too-large` (and the
   * transport stays usable) when it is over `maxEnvelopeSize` UTF-8 bytes.
   */
  sendEnvelope(envelope: Envelope, maxEnvelopeSize: number): Promise<void> {
    const text = serializeEnvelope(envelope);
    // A UTF-8 byte is at most 3 per UTF-16 unit: skip encoding when the text cannot be too large.
    // (No closure for the bytes otherwise: a send the connection takes at once allocates nothing
    // but its text.)
    if (text.length * 3 > maxEnvelopeSize) {
      const bytes = encoder.encode(text);
      if (bytes.length > maxEnvelopeSize) {
        return Promise.reject(
          new TransportError(
            "too-large",
            `Cannot send: the envelope is ${bytes.length} bytes, over the maximum of ${maxEnvelopeSize}`,
          ),
        );
      }
      this.sentBytes += text.length;
      return this.send(text, () => bytes);
    }
    this.sentBytes += text.length;
    return this.send(text);
  }

  /** UTF-16 units of the envelopes taken so far (see `Transport.sentBytes`). */
  sentBytes = 0;

  /**
   * Takes one serialized envelope; `bytes` gives its UTF-8 encoding (made from `text` when
   * needed, if not given).
   */
  send(text: string, bytes?: () => Uint8Array): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    // Fast path: nothing queued ahead, and the connection takes the bytes right now.
    if (!this.#pumping && this.#drain === undefined) {
      if (this.#sink.batches(this.#owner)) {
        if (this.#batchScheduled || this.#lastTurn === turn) {
          // Not the first send of this turn: taken now, written with the others at its end
          // (one write instead of one per envelope).
          if (!this.#batchScheduled) this.#scheduleFlush();
          this.#batch.push(text);
          this.#batchSize += text.length;
          if (this.#batchSize >= COALESCE_LIMIT) this.flush();
          return TAKEN;
        }
        // The first send of a turn goes out at once (no added latency), with nothing scheduled
        // until a second one comes in the same turn.
        this.#lastTurn = turn;
      } else if (this.#batch.length > 0) this.flush(); // what was batched goes first
      const drained = this.#sink.writeNow(this.#owner, text);
      if (drained === null) return TAKEN;
      if (drained !== undefined) {
        // Taken, but the connection's buffer is full: later sends queue behind the drain.
        this.#waitForDrain(drained);
        return drained.catch((error) => {
          throw this.#sendError(error);
        });
      }
    }
    if (this.#batch.length > 0) this.flush();
    // The send has to wait: this is where a peer that does not read would make memory grow.
    if (this.#maxQueued > 0) {
      const held = this.queuedBytes;
      if (held > 0 && held + text.length > this.#maxQueued) return this.#overflow(held, text);
    }
    this.#queuedText += text.length;
    return new Promise((resolve, reject) => {
      this.#queue.push({ text, bytes: bytes ?? (() => encoder.encode(text)), resolve, reject });
      this.#pump();
    });
  }

  /**
   * Makes the next sends of this turn go into the batch, the first one too (written together at
   * the turn's end), when the sink batches and nothing waits.
   */
  hold(): void {
    if (
      this.#failure || this.#batchScheduled || this.#pumping || this.#drain !== undefined ||
      !this.#sink.batches(this.#owner)
    ) return;
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    this.#batchScheduled = true;
    this.#sink.scheduleFlush(this.#owner, SendQueue.#flushScheduled, this);
  }

  // Writes a queue's batch when its turn ends: one function for every queue, given the queue (a
  // closure per queue would live as long as its connection).
  static #flushScheduled<T>(queue: SendQueue<T>): void {
    queue.#batchScheduled = false;
    queue.flush();
  }

  /** Writes the batched sends now, in order (before a switch point, before closing). */
  flush(): void {
    if (this.#batch.length === 0) return;
    const texts = this.#batch;
    this.#batch = [];
    this.#batchSize = 0;
    if (!this.#sink.isOpen(this.#owner) || this.#failure) return;
    let drained: Promise<void> | null | undefined;
    try {
      drained = texts.length === 1
        ? this.#sink.writeNow(this.#owner, texts[0])
        : this.#sink.writeManyNow(this.#owner, texts);
    } catch (error) {
      drained = Promise.reject(error);
    }
    if (drained === null) return;
    if (drained !== undefined) {
      this.#waitForDrain(drained);
      drained.catch((error) => this.#sendError(error)).catch(() => {});
      return;
    }
    // The connection cannot take bytes now: queue them ahead of anything sent later.
    for (const text of texts) {
      this.#queuedText += text.length;
      this.#queue.push({ text, bytes: () => encoder.encode(text), resolve: noop, reject: noop });
    }
    this.#pump();
  }

  /**
   * The peer is not taking what is sent: fails the transport with `slow-reader`, rejects every
   * waiting send with that error and drops the batch.
   */
  #overflow(held: number, text: string): Promise<void> {
    const error = new TransportError(
      "slow-reader",
      `The peer is not taking what is sent to it: ${held} bytes are waiting for it, and an ` +
        `envelope of ${text.length} more would pass maxQueuedBytes (${this.#maxQueued})`,
    );
    this.#failure = error;
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) {
      queue[i]?.reject(error);
      queue[i] = undefined;
    }
    // A running pump sees nothing left and stops; its `finally` empties the array.
    this.#head = queue.length;
    this.#queuedText = 0;
    this.#batch = [];
    this.#batchSize = 0;
    this.#sink.fail(this.#owner, error);
    return Promise.reject(error);
  }

  #waitForDrain(drained: Promise<void>): void {
    const drain = drained.then(
      () => {
        if (this.#drain === drain) this.#drain = undefined;
      },
      () => {
        if (this.#drain === drain) this.#drain = undefined;
      },
    );
    this.#drain = drain;
  }

  /**
   * Writes the queued sends in order: synchronously while the connection takes them (several
   * queued envelopes in one write when the sink coalesces), waiting for its drain when its
   * buffer is full, through `write` when it cannot write now.
   */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    const queue = this.#queue;
    try {
      while (this.#head < queue.length) {
        if (this.#drain) {
          await this.#drain;
          continue;
        }
        if (!this.#sink.isOpen(this.#owner)) {
          const send = queue[this.#head]!;
          queue[this.#head++] = undefined;
          this.#queuedText -= send.text.length;
          send.reject(
            this.#failure ?? new TransportError("closed", "Cannot send: the transport closed"),
          );
          continue;
        }
        // The queued envelopes that go in one write: up to COALESCE_LIMIT UTF-16 units.
        let end = this.#head + 1;
        let size = queue[this.#head]!.text.length;
        if (this.#sink.coalesces(this.#owner)) {
          while (end < queue.length && size + queue[end]!.text.length <= COALESCE_LIMIT) {
            size += queue[end++]!.text.length;
          }
        }
        const batch = queue.slice(this.#head, end) as QueuedSend[];
        let drained: Promise<void> | null | undefined;
        try {
          drained = batch.length === 1
            ? this.#sink.writeNow(this.#owner, batch[0].text)
            : this.#sink.writeManyNow(this.#owner, batch.map((send) => send.text));
        } catch (error) {
          drained = Promise.reject(error);
        }
        if (drained === undefined) {
          // Cannot write now (a TLS or gzip switch is pending): one by one, in order.
          const send = queue[this.#head]!;
          queue[this.#head++] = undefined;
          this.#queuedText -= send.text.length;
          try {
            await this.#sink.write(this.#owner, send.text, send.bytes);
            send.resolve();
          } catch (error) {
            send.reject(this.#sendError(error));
          }
          continue;
        }
        // The texts can be collected once written (a loop: `fill` with bounds costs ~20 ns a call).
        while (this.#head < end) queue[this.#head++] = undefined;
        this.#queuedText -= size;
        if (drained === null) {
          for (const send of batch) send.resolve();
        } else {
          this.#waitForDrain(drained);
          drained.then(
            () => batch.forEach((send) => send.resolve()),
            (error) => {
              const failure = this.#sendError(error);
              for (const send of batch) send.reject(failure);
            },
          );
        }
      }
    } finally {
      queue.length = 0;
      this.#head = 0;
      this.#queuedText = 0;
      this.#pumping = false;
    }
  }

  /** The error a failed send rejects with; an unexpected one fails the transport. */
  #sendError(error: unknown): TransportError {
    if (this.#failure) return this.#failure;
    if (error instanceof TransportError) return error;
    if (!this.#sink.isOpen(this.#owner)) {
      return new TransportError("closed", "Cannot send: the transport closed", { cause: error });
    }
    const failure = new TransportError("io", `Cannot send: ${(error as Error).message}`, {
      cause: error,
    });
    this.#sink.fail(this.#owner, failure);
    return failure;
  }
}
