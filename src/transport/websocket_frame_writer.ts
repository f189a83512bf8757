/**
 * Encoding the frames a WebSocket server sends (RFC 6455 §5.2): unmasked, unfragmented. Several
 * text messages can be encoded into one buffer, so that a burst of envelopes costs one socket
 * write instead of one per envelope.
 * @module
 */
import { CLOSE_NO_STATUS, OPCODE } from "./websocket_frames.ts";

const encoder = new TextEncoder();
// Reused for the encoding of small batches; what is written is copied out of it.
const SCRATCH_SIZE = 256 * 1024;
let scratch: Uint8Array | undefined;

/** Length of a server frame header (no mask) for a payload of `length` bytes. */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Writes a final frame's header for `length` payload bytes at `at`; returns its length. */
export function writeHeader(out: Uint8Array, at: number, opcode: number, length: number): number {
  out[at] = 0x80 | opcode;
  if (length < 126) {
    out[at + 1] = length;
    return 2;
  }
  if (length < 65536) {
    out[at + 1] = 126;
    out[at + 2] = length >>> 8;
    out[at + 3] = length & 0xff;
    return 4;
  }
  out[at + 1] = 127;
  const high = Math.floor(length / 2 ** 32);
  out[at + 2] = high >>> 24;
  out[at + 3] = (high >>> 16) & 0xff;
  out[at + 4] = (high >>> 8) & 0xff;
  out[at + 5] = high & 0xff;
  out[at + 6] = length >>> 24;
  out[at + 7] = (length >>> 16) & 0xff;
  out[at + 8] = (length >>> 8) & 0xff;
  out[at + 9] = length & 0xff;
  return 10;
}

/** One frame with the given opcode and payload. */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerLength(payload.length) + payload.length);
  out.set(payload, writeHeader(out, 0, opcode, payload.length));
  return out;
}

/**
 * One text frame per string, back to back in one buffer. Small batches are encoded straight
 * into a reused buffer (one copy out of it); a large string is encoded on its own.
 */
export function encodeTextFrames(texts: readonly string[]): Uint8Array {
  let bound = 0;
  for (const text of texts) bound += text.length * 3 + 10;
  if (bound > SCRATCH_SIZE) {
    const frames = texts.map((text) => encodeFrame(OPCODE.text, encoder.encode(text)));
    if (frames.length === 1) return frames[0];
    const out = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
    let at = 0;
    for (const frame of frames) {
      out.set(frame, at);
      at += frame.length;
    }
    return out;
  }
  const out = scratch ??= new Uint8Array(SCRATCH_SIZE);
  let at = 0;
  for (const text of texts) {
    // Room for the longest header the text could need; moved back when it needs less.
    const reserved = headerLength(text.length * 3);
    const { written } = encoder.encodeInto(text, out.subarray(at + reserved));
    const needed = headerLength(written);
    if (needed !== reserved) out.copyWithin(at + needed, at + reserved, at + reserved + written);
    writeHeader(out, at, OPCODE.text, written);
    at += needed + written;
  }
  return out.slice(0, at);
}

/**
 * A close frame with `code` and `reason` (cut to the 123 bytes a close frame holds, on a
 * character boundary); {@link CLOSE_NO_STATUS} gives an empty close frame.
 */
export function encodeCloseFrame(code: number, reason: string): Uint8Array {
  if (code === CLOSE_NO_STATUS) return encodeFrame(OPCODE.close, new Uint8Array(0));
  const payload = new Uint8Array(2 + 123);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  // encodeInto never splits a character: what does not fit is left out whole.
  const { written } = encoder.encodeInto(reason, payload.subarray(2));
  return encodeFrame(OPCODE.close, payload.subarray(0, 2 + written));
}
