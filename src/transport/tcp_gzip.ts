/**
 * The gzip layer of the TCP transport (`compression: "gzip"`).
 *
 * Wire format: after the negotiation confirmation (and after the TLS handshake when both are
 * negotiated, so gzip runs inside TLS), each direction carries one gzip stream (RFC 1952) in
 * place of the plain JSON bytes. The sender sync-flushes (`Z_SYNC_FLUSH`) after every envelope,
 * so every envelope can be decompressed as soon as its bytes arrive, without waiting for the
 * next one. The receiver runs the decompressed bytes through the same JSON-object framer, so the
 * envelope size cap also caps what a small compressed input can expand into. On close the sender
 * finishes its stream (gzip trailer) when it can; the receiver treats the end of the connection
 * as the end of the stream either way.
 *
 * No other LIME implementation supports gzip yet (lime-protocol §5.3); this is the format this
 * module defines for it.
 * @module
 */
import type { Readable, Writable } from "node:stream";
import zlib from "node:zlib";
import { writeBuffered } from "./tcp_io.ts";

/** Compresses envelopes into one gzip stream written to `target`. */
export class GzipWriter {
  readonly #gzip: zlib.Gzip;
  readonly #target: Writable;
  #lastWrite: Promise<void> = Promise.resolve();
  #error: Error | undefined;

  /** Starts a gzip stream whose output goes to `target`. */
  constructor(target: Writable) {
    this.#target = target;
    this.#gzip = zlib.createGzip();
    this.#gzip.on("data", (chunk: Uint8Array) => {
      this.#lastWrite = writeBuffered(target, chunk);
      this.#lastWrite.catch((error) => this.#error ??= error);
      // While the target's buffer is full, stop compressing output into it.
      if (!target.writableNeedDrain) return;
      this.#gzip.pause();
      this.#lastWrite.then(() => this.#gzip.resume(), () => {});
    });
    this.#gzip.on("error", (error) => this.#error ??= error);
  }

  /** Compresses and sync-flushes `text` now: `null`, or a promise of the drain when full. */
  writeNow(text: string): Promise<void> | null | undefined {
    if (this.#error) return undefined;
    const room = this.#gzip.write(text);
    this.#gzip.flush(zlib.constants.Z_SYNC_FLUSH);
    return room ? null : new Promise<void>((resolve) => this.#gzip.once("drain", () => resolve()));
  }

  /**
   * Compresses one envelope and sync-flushes. With `acknowledged` it resolves when the compressed
   * bytes were handed to the target (for a socket: to the kernel); otherwise at once, unless the
   * compressor's input is over its high-water mark (then when it drained).
   */
  async write(bytes: Uint8Array | string, acknowledged = false): Promise<void> {
    if (this.#error) throw this.#error;
    if (!acknowledged) {
      // Sync-flush every envelope (the wire format), without waiting for the compressor.
      const room = this.#gzip.write(bytes);
      this.#gzip.flush(zlib.constants.Z_SYNC_FLUSH);
      if (!room) await new Promise<void>((resolve) => this.#gzip.once("drain", () => resolve()));
      if (this.#error) throw this.#error;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.#gzip.write(bytes);
      this.#gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.#error) reject(this.#error);
        else resolve();
      });
    });
    // The flushed output was emitted (and its writes started) before the flush callback ran.
    await this.#lastWrite;
    if (this.#error) throw this.#error;
  }

  /**
   * Finishes the stream (final block and trailer); resolves once that output was passed to the
   * target (not necessarily written: closing the target bounds that).
   */
  async finish(): Promise<void> {
    if (this.#error || this.#gzip.destroyed || this.#target.writableEnded) return;
    await new Promise<void>((resolve) => {
      this.#gzip.once("end", resolve);
      this.#gzip.once("close", resolve);
      this.#gzip.end();
    });
  }

  /** Releases the compressor. */
  destroy(): void {
    this.#gzip.destroy();
  }
}

/**
 * Decompresses the gzip stream read from `source` and hands the output to `onData`. The end of
 * `source` is the end of the stream: `onEnd` runs once everything received was decompressed and
 * handed over (a missing trailer is not an error). `pause`/`resume` stop and restart the output;
 * memory stays bounded because the decompressor stops working while its output is not taken.
 */
export class GunzipReader {
  readonly #gunzip: zlib.Gunzip;
  readonly #source: Readable;
  readonly #onEnd: () => void;
  #flushed = false;
  #ended = false;

  /**
   * Starts decompressing `pending` (bytes already read from `source`), then what `source`
   * delivers. Corrupt input calls `onError`.
   */
  constructor(
    source: Readable,
    pending: Uint8Array | undefined,
    onData: (chunk: Uint8Array) => void,
    onEnd: () => void,
    onError: (error: Error) => void,
  ) {
    this.#source = source;
    this.#onEnd = onEnd;
    this.#gunzip = zlib.createGunzip();
    this.#gunzip.on("data", (chunk: Uint8Array) => {
      onData(chunk);
      this.#checkEnd();
    });
    this.#gunzip.on("error", onError);
    if (pending?.length) this.#gunzip.write(pending);
    source.pipe(this.#gunzip, { end: false });
  }

  /** Stops handing out decompressed bytes. */
  pause(): void {
    this.#gunzip.pause();
  }

  /** Resumes handing out decompressed bytes. */
  resume(): void {
    this.#gunzip.resume();
  }

  /** The source ended: `onEnd` runs once what was received has been decompressed and taken. */
  sourceEnded(): void {
    if (this.#gunzip.destroyed) return;
    this.#gunzip.flush(() => {
      this.#flushed = true;
      this.#checkEnd();
    });
  }

  /** Releases the decompressor. */
  destroy(): void {
    this.#source.unpipe(this.#gunzip);
    this.#gunzip.destroy();
  }

  #checkEnd(): void {
    if (this.#flushed && !this.#ended && this.#gunzip.readableLength === 0) {
      this.#ended = true;
      this.#onEnd();
    }
  }
}
