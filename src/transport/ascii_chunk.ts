/**
 * One UTF-8 decoding per received chunk instead of one per envelope. When every byte of a chunk
 * is ASCII its text has one character per byte, so each envelope the framer finds wholly inside
 * the chunk is the slice of that text at the same offsets (`EnvelopeFramer.push`'s `onSpan`):
 * `parseEnvelope` then gets a string and decodes nothing, and the framer makes no view of the
 * bytes (a `TextDecoder` call costs mostly per call, and a chunk holds hundreds of small
 * envelopes under load). A chunk with any other byte, and an envelope assembled from several
 * chunks, is decoded per envelope as before, strictly.
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

  /** The text of `chunk` when it is all ASCII and worth decoding whole, else undefined. */
  text(chunk: Uint8Array): string | undefined {
    if (chunk.length < MIN_ASCII_CHUNK) return undefined;
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
 * The text of `chunk` when every byte of it is ASCII, else undefined. Decoding a chunk with other
 * bytes yields fewer characters than bytes, or U+FFFD for a byte that is not UTF-8; each ASCII
 * byte yields one character.
 */
export function asciiText(chunk: Uint8Array): string | undefined {
  const text = lenient.decode(chunk);
  return text.length === chunk.length && text.indexOf("\uFFFD") === -1 ? text : undefined;
}
