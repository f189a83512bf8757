/**
 * One UTF-8 decoding per received chunk instead of one per envelope. When every byte of a chunk
 * is ASCII its text has one character per byte, so each envelope the framer finds wholly inside
 * the chunk is the slice of that text at the same offsets (`EnvelopeFramer.push`'s `onSpan`):
 * `parseEnvelope` then gets a string and decodes nothing, and the framer makes no view of the
 * bytes (a `TextDecoder` call costs mostly per call, and a chunk holds hundreds of small
 * envelopes under load). A chunk with any other byte, and an envelope assembled from several
 * chunks, is decoded per envelope as before, strictly. A chunk is looked at only once an
 * envelope ends in it, and whether it is all ASCII is one native scan (`isAscii`: 1.2 µs for an
 * ASCII 64 KiB chunk here, a third of decoding it, and it stops at the first other byte), so a
 * chunk that is not costs next to nothing more.
 * @module
 */
import { isAscii } from "node:buffer";

const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/** Shorter chunks are not decoded whole: they hold one envelope or less, nothing to share. */
export const MIN_ASCII_CHUNK = 256;

/** The text of `chunk` when every byte of it is ASCII (one character per byte), else undefined. */
export function asciiText(chunk: Uint8Array): string | undefined {
  return isAscii(chunk) ? lenient.decode(chunk) : undefined;
}

/**
 * The `onSpan` of an {@link EnvelopeFramer.push} of `chunk` (a chunk of at least
 * {@link MIN_ASCII_CHUNK} bytes): hands each envelope wholly in the chunk to `onFrame`, as the
 * slice of the chunk's text when the chunk is all ASCII, else as a view of its bytes. The chunk
 * is looked at (`textOf`, {@link asciiText} by default) at the first envelope that ends in it,
 * not before. Returns what `onFrame` returns.
 */
export function asciiSpans(
  chunk: Uint8Array,
  onFrame: (frame: string | Uint8Array) => unknown,
  textOf: (chunk: Uint8Array) => string | undefined = asciiText,
): (start: number, end: number) => unknown {
  // undefined: not looked at yet; null: not ASCII, each envelope as bytes.
  let text: string | null | undefined;
  return (start, end) => {
    if (text === undefined) text = textOf(chunk) ?? null;
    return onFrame(
      text === null
        ? new Uint8Array(chunk.buffer, chunk.byteOffset + start, end - start)
        : text.slice(start, end),
    );
  };
}
