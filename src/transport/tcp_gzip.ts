/**
 * The gzip layer of the TCP transport (`compression: "gzip"`).
 *
 * Wire format: after the negotiation confirmation (and after the TLS handshake when both are
 * negotiated, so gzip runs inside TLS), each direction carries one gzip stream (RFC 1952) in
 * place of the plain JSON bytes. The sender sync-flushes (`Z_SYNC_FLUSH`) at the end of every
 * write, which holds one envelope or the envelopes queued together (sent in the same turn, or
 * waiting while the socket was full), so every envelope can be decompressed as soon as its bytes
 * arrive, without waiting for one sent later. The receiver runs the decompressed bytes through the same JSON-object framer, so the
 * envelope size cap also caps what a small compressed input can expand into. On close the sender
 * finishes its stream (gzip trailer) when it can; the receiver treats the end of the connection
 * as the end of the stream either way.
 *
 * No other LIME implementation supports gzip yet (lime-protocol §5.3); this is the format this
 * module defines for it.
 *
 * **Inflation budget.** The envelope size cap does not bound the work a small input can cause:
 * whitespace between envelopes is not part of any envelope, so 2 MiB of gzip can inflate into
 * 2 GiB of spaces that the framer scans and drops. Every inflated byte therefore counts, per
 * connection, against two limits over one-second windows (options of the TCP transport and its
 * listener, see {@link InflationLimits}): `maxInflatedBytesPerSecond` (default 64 MiB on the server side) and
 * `maxInflationRatio`, inflated ÷ compressed bytes (default 256:1, checked once a window's output
 * passes `maxEnvelopeSize`, so that no single envelope is refused for its ratio, however
 * repetitive). Passing either fails the transport with a `framing` TransportError that says
 * which (a server channel then tells the peer `failed`, reason 21). Gzip of JSON runs at about
 * 5–25:1 (15.8:1 for the throughput benchmark's chat corpus with a flush per envelope, 25:1 with
 * 16 envelopes per flush); deflate cannot pass 1,032:1, which a run of one repeated byte reaches.
 *
 * **Cost.** A call into `node:zlib` costs about as much as compressing a 1 KiB envelope (Deno
 * 2.9: one envelope per write and sync flush, 37–75 MB/s; 16 per write, 184–286 MB/s, same
 * level), so the compressor is created with `Z_SYNC_FLUSH` as its flush mode (one call per
 * write, not a write and a separate flush), the transport gives it queued envelopes together,
 * and it runs at level 1 ({@link GZIP_LEVEL}).
 *
 * **Yielding.** Deno's `node:zlib` inflates on the main thread, and a stream's chunks follow each
 * other in the nextTick queue with no macrotask in between: 64 MiB of spaces inflate as 4,096
 * chunks of 16 KiB in ~70 ms (~17 µs a chunk; `gunzipSync` of one such chunk: ~15 µs) without a
 * timer or another socket getting a turn. The reader therefore works on one peer's input for at
 * most 8 ms at a stretch, then pauses the decompressor and resumes it from a `setTimeout(0)`.
 * A timer, because in Deno 2.9 neither `setImmediate` nor a `MessageChannel` lets sockets be
 * polled in between: a loop of 1 ms tasks chained with either starved a TCP echo on the same
 * process (123 ms round trips, or none at all), chained with `setTimeout(0)` it did not
 * (0.04 ms).
 * @module
 */
import type { Readable, Writable } from "node:stream";
import zlib from "node:zlib";
import { TransportError } from "./errors.ts";
import { whenDrained, writeBuffered } from "./tcp_io.ts";
import { DEFAULT_MAX_ENVELOPE_SIZE } from "./transport.ts";

/** What a peer's gzip stream may inflate into (options of the TCP transport and listener). */
export interface InflationLimits {
  /**
   * Most bytes the peer's gzip stream may inflate into within one second, every decompressed
   * byte counted (whitespace between envelopes too); more fails the transport with `framing`.
   * Default {@link DEFAULT_MAX_INFLATED_BYTES_PER_SECOND} (64 MiB) on server-side transports, none
   * on clients; 0 for no limit.
   */
  maxInflatedBytesPerSecond?: number;
  /**
   * Most inflated bytes per compressed byte within one second, checked once that second's output
   * passes `maxEnvelopeSize` (so no single envelope is refused for its ratio, however repetitive);
   * more fails the transport with `framing`. Default {@link DEFAULT_MAX_INFLATION_RATIO} (256); 0
   * for no limit.
   */
  maxInflationRatio?: number;
}

/**
 * Default `maxInflatedBytesPerSecond` of server-side transports: 64 MiB (a session's own rate
 * limit, 32 MiB/s by default, is below it; client transports have no cap unless given one).
 */
export const DEFAULT_MAX_INFLATED_BYTES_PER_SECOND = 64 * 1024 * 1024;
/** Default `maxInflationRatio`: 256 inflated bytes per compressed byte. */
export const DEFAULT_MAX_INFLATION_RATIO = 256;

/** The limits a {@link GunzipReader} applies: the inflation limits and the envelope size cap. */
export interface GunzipLimits extends InflationLimits {
  /** Output of a window below which the ratio is not checked. Default 8 MiB. */
  maxEnvelopeSize?: number;
}

/**
 * The compression level of the gzip streams the transport writes: 1, zlib's fastest. On the
 * throughput benchmark's chat stream it compresses 16.0:1 with 16 envelopes per sync flush (the
 * default level 6: 25.5:1) and 14.2:1 with one (level 6: 15.8:1), and makes TCP+gzip run at about
 * 0.78× plain TCP instead of 0.69× (same run, `deno task bench:transports`): compression runs on
 * the sending thread, and its cost is what gzip takes off plain TCP's throughput.
 */
export const GZIP_LEVEL = 1;

/** The window the inflation limits apply to. */
const WINDOW_MS = 1000;
/** Longest stretch of work on one peer's input before the event loop gets a turn, in ms. */
const SLICE_MS = 8;

/** Compresses envelopes into one gzip stream written to `target`. */
export class GzipWriter {
  readonly #gzip: zlib.Gzip;
  readonly #target: Writable;
  #lastWrite: Promise<void> = Promise.resolve();
  #error: Error | undefined;

  /** Starts a gzip stream whose output goes to `target`. */
  constructor(target: Writable) {
    this.#target = target;
    // Every write ends with a sync flush, in the same call into zlib.
    this.#gzip = zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH, level: GZIP_LEVEL });
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
    // The drain rejects if the compressor is destroyed first (the connection closed).
    return room ? null : whenDrained(this.#gzip);
  }

  /**
   * Compresses one envelope and sync-flushes. With `acknowledged` it resolves when the compressed
   * bytes were handed to the target (for a socket: to the kernel); otherwise at once, unless the
   * compressor's input is over its high-water mark (then when it drained).
   */
  async write(bytes: Uint8Array | string, acknowledged = false): Promise<void> {
    if (this.#error) throw this.#error;
    if (!acknowledged) {
      // Sync-flushed (the wire format), without waiting for the compressor.
      const room = this.#gzip.write(bytes);
      if (!room) await whenDrained(this.#gzip);
      if (this.#error) throw this.#error;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.#gzip.write(bytes, () => {
        if (this.#error) reject(this.#error);
        else resolve();
      });
    });
    // The flushed output was emitted (and its writes started) before the write callback ran.
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

  /** Bytes written and not yet passed on: input not compressed yet, output not taken yet. */
  get queuedBytes(): number {
    return this.#gzip.writableLength + this.#gzip.readableLength;
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
 * The output is counted against the {@link InflationLimits}, and handed over in slices of at
 * most 8 ms of work with a timer turn between them.
 */
export class GunzipReader {
  readonly #gunzip: zlib.Gunzip;
  readonly #source: Readable;
  readonly #onEnd: () => void;
  readonly #onError: (error: Error) => void;
  readonly #maxPerWindow: number;
  readonly #maxRatio: number;
  readonly #ratioGrace: number;
  #flushed = false;
  #ended = false;
  #failed = false;
  #paused = false;
  #yielding: ReturnType<typeof setTimeout> | undefined;
  #unhook: (() => void) | undefined;
  #sliceStart = 0;
  #lastChunkDone = -Infinity;
  #windowStart = -Infinity;
  #inflated = 0;
  // The decompressor's `bytesWritten` (compressed bytes it consumed) when the window started.
  #consumedBefore = 0;

  /**
   * Starts decompressing `pending` (bytes already read from `source`), then what `source`
   * delivers. Corrupt input calls `onError`; so does passing a limit (with a `framing`
   * TransportError).
   */
  constructor(
    source: Readable,
    pending: Uint8Array | undefined,
    onData: (chunk: Uint8Array) => void,
    onEnd: () => void,
    onError: (error: Error) => void,
    limits: GunzipLimits = {},
  ) {
    this.#source = source;
    this.#onEnd = onEnd;
    this.#onError = onError;
    this.#maxPerWindow = limits.maxInflatedBytesPerSecond ?? DEFAULT_MAX_INFLATED_BYTES_PER_SECOND;
    this.#maxRatio = limits.maxInflationRatio ?? DEFAULT_MAX_INFLATION_RATIO;
    this.#ratioGrace = limits.maxEnvelopeSize ?? DEFAULT_MAX_ENVELOPE_SIZE;
    this.#gunzip = zlib.createGunzip();
    this.#gunzip.on("data", (chunk: Uint8Array) => {
      if (this.#failed) return;
      const now = performance.now();
      const problem = this.#overBudget(chunk.length, now);
      if (problem) return this.#fail(problem);
      // A gap since the last chunk means the event loop had a turn: a new slice of work starts.
      if (now - this.#lastChunkDone > 1) this.#sliceStart = now;
      onData(chunk);
      this.#checkEnd();
      this.#lastChunkDone = performance.now();
      if (this.#lastChunkDone - this.#sliceStart >= SLICE_MS) this.#yield();
    });
    this.#gunzip.on("error", onError);
    if (pending?.length) {
      this.#gunzip.write(pending);
      source.pipe(this.#gunzip, { end: false });
    } else this.#pipeAfterWhitespace(source);
  }

  /**
   * Pipes `source` into the decompressor from its first byte that is not whitespace: a peer may
   * end the envelope before the switch with `\n` (lime-go does), and that byte may come in a
   * later segment; no gzip stream starts with whitespace.
   */
  #pipeAfterWhitespace(source: Readable): void {
    const onData = (chunk: Uint8Array) => {
      let i = 0;
      while (
        i < chunk.length &&
        (chunk[i] === 0x20 || chunk[i] === 0x0a || chunk[i] === 0x0d || chunk[i] === 0x09)
      ) i++;
      if (i === chunk.length) return;
      source.off("data", onData);
      source.pause();
      source.unshift(chunk.subarray(i));
      if (this.#gunzip.destroyed) return;
      source.pipe(this.#gunzip, { end: false });
    };
    source.on("data", onData);
    source.resume();
    this.#unhook = () => source.off("data", onData);
  }

  /** Stops handing out decompressed bytes. */
  pause(): void {
    this.#paused = true;
    this.#gunzip.pause();
  }

  /** Resumes handing out decompressed bytes. */
  resume(): void {
    this.#paused = false;
    if (this.#yielding === undefined && !this.#failed) this.#gunzip.resume();
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
    this.#unhook?.();
    clearTimeout(this.#yielding);
    this.#yielding = undefined;
    this.#source.unpipe(this.#gunzip);
    this.#gunzip.destroy();
  }

  /**
   * Counts `size` more inflated bytes; returns the error when that passes a limit. The compressed
   * side is what the decompressor consumed (its `bytesWritten`, updated as it goes), not what
   * arrived: a socket read of 64 KiB may be mostly still waiting when its first bytes inflate.
   */
  #overBudget(size: number, now: number): TransportError | undefined {
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now;
      this.#inflated = 0;
      this.#consumedBefore = this.#gunzip.bytesWritten;
    }
    const inflated = this.#inflated += size;
    if (this.#maxPerWindow > 0 && inflated > this.#maxPerWindow) {
      return new TransportError(
        "framing",
        `The gzip stream inflated to more than ${this.#maxPerWindow} bytes within one second ` +
          `(maxInflatedBytesPerSecond)`,
      );
    }
    const compressed = this.#gunzip.bytesWritten - this.#consumedBefore;
    if (
      this.#maxRatio > 0 && inflated > this.#ratioGrace && inflated > compressed * this.#maxRatio
    ) {
      return new TransportError(
        "framing",
        `The gzip stream inflates ${inflated} bytes from ${compressed} within one second ` +
          `(${Math.round(inflated / Math.max(compressed, 1))}:1), over maxInflationRatio ` +
          `(${this.#maxRatio}:1)`,
      );
    }
    return undefined;
  }

  #fail(error: TransportError): void {
    this.#failed = true;
    this.#gunzip.pause();
    this.#onError(error);
  }

  /** Lets the event loop run (other connections' I/O, timers) before the next slice of output. */
  #yield(): void {
    this.#gunzip.pause();
    this.#yielding = setTimeout(() => {
      this.#yielding = undefined;
      if (!this.#paused && !this.#failed) this.#gunzip.resume();
    });
  }

  #checkEnd(): void {
    if (this.#flushed && !this.#ended && this.#gunzip.readableLength === 0) {
      this.#ended = true;
      this.#onEnd();
    }
  }
}
