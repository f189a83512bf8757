/**
 * Splits one received WebSocket message into envelope frames (lime-protocol §5.4). A message
 * normally carries one envelope; the fast path hands such a message over as it is, text and all,
 * after one scan that checks it is a single object within the nesting limit. Anything else
 * (several envelopes, surrounding whitespace, binary data) goes through an {@link EnvelopeFramer},
 * which also gives the precise `framing` error for what is wrong.
 * @module
 */
import { TransportError } from "./errors.ts";
import { EnvelopeFramer } from "./framing.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;

const encoder = new TextEncoder();

/** The limits applied to a received message. */
export interface MessageLimits {
  /** Largest message (and so envelope), in UTF-8 bytes. */
  readonly maxEnvelopeSize: number;
  /** Deepest nesting of objects and arrays. */
  readonly maxDepth: number;
  /** Most object members (see `TransportOptions.maxMembers`). */
  readonly maxMembers?: number;
}

/**
 * Calls `onFrame` with every envelope of one WebSocket message, in order. An empty or
 * whitespace-only message yields nothing. Throws a `framing` TransportError when the message is
 * larger than `maxEnvelopeSize` (the whole message, like lime-csharp's message buffer), holds
 * anything but whitespace between objects, nests too deeply, or ends inside an object (an envelope
 * never spans messages).
 */
export function frameMessage(
  data: string | Uint8Array,
  limits: MessageLimits,
  onFrame: (frame: string | Uint8Array) => void,
): void {
  let bytes: Uint8Array | undefined;
  if (typeof data === "string") {
    // A UTF-16 unit is 1 to 3 UTF-8 bytes: encode only when the length alone cannot decide.
    if (data.length > limits.maxEnvelopeSize) throw tooLarge(data.length, limits, "at least ");
    if (data.length * 3 > limits.maxEnvelopeSize) {
      bytes = encoder.encode(data);
      if (bytes.length > limits.maxEnvelopeSize) throw tooLarge(bytes.length, limits);
    }
    if (isSingleObject(data, limits.maxDepth, limits.maxMembers)) {
      onFrame(data);
      return;
    }
    bytes ??= encoder.encode(data);
  } else {
    if (data.length > limits.maxEnvelopeSize) throw tooLarge(data.length, limits);
    bytes = data;
  }
  const framer = new EnvelopeFramer(limits);
  framer.push(bytes, (frame) => {
    onFrame(frame);
  });
  if (framer.inObject) {
    throw new TransportError("framing", "The WebSocket message ends inside an envelope");
  }
}

/**
 * Frames one received message (a string for a text message, bytes for a binary one) and hands
 * every envelope to `receive`. Returns the error the transport fails with, when the message is
 * refused (`framing`), or when `receive` throws anything but a TransportError (`io`).
 */
export function receiveMessage(
  data: string | Uint8Array,
  limits: MessageLimits,
  receive: (frame: string | Uint8Array) => void,
): TransportError | undefined {
  try {
    frameMessage(data, limits, receive);
    return undefined;
  } catch (error) {
    return error instanceof TransportError ? error : new TransportError(
      "io",
      `Cannot read a WebSocket message: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Close codes a peer sends on a deliberate close: normal, going away, no status. */
export const CLEAN_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1005]);

/** The `io` error of a WebSocket the peer closed with a code that is not a clean close. */
export function closedWithCode(code: number, reason: string): TransportError {
  return new TransportError(
    "io",
    `The WebSocket closed with code ${code}${reason ? `: ${reason}` : ""}`,
  );
}

/**
 * Whether `text` is exactly one JSON object, braces at both ends, nested at most `maxDepth` deep,
 * with at most `maxMembers` object members.
 * Strings are skipped with `indexOf`, so the scan costs little next to `JSON.parse`. A `false`
 * only means "not the simple case": the framer then decides.
 */
export function isSingleObject(
  text: string,
  maxDepth: number,
  maxMembers = Infinity,
): boolean {
  const last = text.length - 1;
  if (last < 1 || text.charCodeAt(0) !== OPEN_BRACE || text.charCodeAt(last) !== CLOSE_BRACE) {
    return false;
  }
  let depth = 0;
  let members = 0;
  for (let i = 0; i <= last; i++) {
    const c = text.charCodeAt(i);
    if (c === COLON) {
      if (++members > maxMembers) return false;
    } else if (c === QUOTE) {
      let end = i;
      for (;;) {
        end = text.indexOf('"', end + 1);
        if (end === -1) return false;
        let run = 0;
        while (text.charCodeAt(end - 1 - run) === BACKSLASH) run++;
        if (run % 2 === 0) break;
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return false;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      // Back to the top level before the end: more than one object.
      if (--depth <= 0 && i !== last) return false;
    }
  }
  return depth === 0;
}

function tooLarge(size: number, limits: MessageLimits, prefix = ""): TransportError {
  return new TransportError(
    "framing",
    `The incoming WebSocket message is ${prefix}${size} bytes, over the maximum envelope size of ${limits.maxEnvelopeSize}`,
  );
}
