/**
 * One UTF-8 decoding per received chunk instead of one per envelope. When every byte of a chunk
 * is ASCII its text has one character per byte, so each envelope the framer finds wholly inside
 * the chunk is the slice of that text at the same offsets (`EnvelopeFramer.push`'s `onSpan`):
 * `parseEnvelope` then gets a string and decodes nothing, and the framer makes no view of the
 * bytes (a `TextDecoder` call costs mostly per call, and a chunk holds hundreds of small
 * envelopes under load). A chunk with any other byte, and an envelope assembled from several
 * chunks, is decoded per envelope as before, strictly. A chunk in which no envelope ends is not
 * decoded at all.
 * @module
 */

const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/** Shorter chunks are not decoded whole: they hold one envelope or less, nothing to share. */
export const MIN_ASCII_CHUNK = 256;
/** Chunks not tried after one that was not all ASCII. */
export const ASCII_BACKOFF = 16;

/**
 * The chunks of one connection, tried as ASCII: after a chunk that is not, the next
 * {@link ASCII_BACKOFF} chunks are not tried (that peer's text is not ASCII, and decoding its
 * chunks whole would be work thrown away: at most one extra decoding in 17 chunks).
 */
export class AsciiChunks {
  #skip = 0;

  /** The text of `chunk` when it is all ASCII (and not skipped), else undefined. */
  text(chunk: Uint8Array): string | undefined {
    if (this.#skip > 0) {
      this.#skip--;
      return undefined;
    }
    const text = asciiText(chunk);
    if (text === undefined) this.#skip = ASCII_BACKOFF;
    return text;
  }
}

/**
 * The `onSpan` of an {@link EnvelopeFramer.push} of `chunk` (a chunk of at least
 * {@link MIN_ASCII_CHUNK} bytes): hands each envelope wholly in the chunk to `onFrame`, as the
 * slice of the chunk's text when the chunk is all ASCII, else as a view of its bytes. The chunk
 * is decoded at the first envelope that ends in it, not before. Returns what `onFrame` returns.
 */
export function asciiSpans(
  chunks: AsciiChunks,
  chunk: Uint8Array,
  onFrame: (frame: string | Uint8Array) => unknown,
): (start: number, end: number) => unknown {
  // undefined: not decoded yet; null: not ASCII (or skipped), each envelope as bytes.
  let text: string | null | undefined;
  return (start, end) => {
    if (text === undefined) text = chunks.text(chunk) ?? null;
    return onFrame(
      text === null
        ? new Uint8Array(chunk.buffer, chunk.byteOffset + start, end - start)
        : text.slice(start, end),
    );
  };
}

/**
 * The text of `chunk` when every byte of it is ASCII, else undefined. Decoding a chunk with other
 * bytes yields fewer characters than bytes, or U+FFFD for a byte that is not UTF-8; each ASCII
 * byte yields one character.
 */
export function asciiText(chunk: Uint8Array): string | undefined {
  const text = lenient.decode(chunk);
  return text.length === chunk.length && text.indexOf("\uFFFD") === -1 ? text : undefined;
}
