/**
 * Splits one received WebSocket message into envelope frames (lime-protocol §5.4). A message
 * normally carries one envelope; the fast path hands such a message over as it is, text and all,
 * after one scan that checks it is a single object within the limits. Anything else (several
 * envelopes, surrounding whitespace such as lime-go's `\n`, binary data) is split by the same kind
 * of scan, which gives the `framing` error for what is wrong. It works on text (a binary message is
 * decoded first), so the browser client needs no byte framer.
 * @module
 */
import { TransportError } from "./errors.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

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
 * anything but whitespace between objects, nests too deeply, has too many members, or ends inside
 * an object (an envelope never spans messages). A binary message that is not UTF-8 is handed over
 * whole, for the codec to refuse.
 */
export function frameMessage(
  data: string | Uint8Array,
  limits: MessageLimits,
  onFrame: (frame: string | Uint8Array) => void,
): void {
  let text: string;
  if (typeof data === "string") {
    text = data;
    // A UTF-16 unit is 1 to 3 UTF-8 bytes: encode only when the length alone cannot decide.
    if (text.length > limits.maxEnvelopeSize) throw tooLarge(text.length, limits);
    if (text.length * 3 > limits.maxEnvelopeSize) {
      const size = encoder.encode(text).length;
      if (size > limits.maxEnvelopeSize) throw tooLarge(size, limits);
    }
    if (isSingleObject(text, limits.maxDepth, limits.maxMembers)) {
      onFrame(text);
      return;
    }
  } else {
    if (data.length > limits.maxEnvelopeSize) throw tooLarge(data.length, limits);
    try {
      text = utf8.decode(data);
    } catch {
      onFrame(data);
      return;
    }
  }
  splitObjects(text, limits, onFrame);
}

/** Splits text of whitespace-separated JSON objects; throws `framing` for anything else. */
function splitObjects(
  text: string,
  limits: MessageLimits,
  onFrame: (frame: string) => void,
): void {
  const length = text.length;
  const maxMembers = limits.maxMembers ?? Infinity;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i++;
      continue;
    }
    if (c !== OPEN_BRACE) {
      // Named by its first UTF-8 byte, as the byte framer of TCP does.
      const byte = c < 0x80 ? c : encoder.encode(text[i])[0];
      throw framing(
        `Unexpected byte 0x${byte.toString(16).padStart(2, "0")} between envelopes (expected "{")`,
      );
    }
    const start = i;
    let depth = 0;
    let members = 0;
    for (; i < length; i++) {
      const d = text.charCodeAt(i);
      if (d === QUOTE) {
        i = stringEnd(text, i);
        if (i < 0) break;
      } else if (d === COLON) {
        if (++members > maxMembers) {
          throw framing(`The envelope has more than ${maxMembers} object members`);
        }
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) {
        if (++depth > limits.maxDepth) {
          throw framing(`The envelope is nested deeper than ${limits.maxDepth} levels`);
        }
      } else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) break;
    }
    if (i < 0 || i >= length) throw framing("The WebSocket message ends inside an envelope");
    i++;
    onFrame(text.slice(start, i));
  }
}

/** The index of the quote that ends the string starting at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  let end = open;
  for (;;) {
    end = text.indexOf('"', end + 1);
    if (end === -1) return -1;
    let run = 0;
    while (text.charCodeAt(end - 1 - run) === BACKSLASH) run++;
    if (run % 2 === 0) return end;
  }
}

function framing(message: string): TransportError {
  return new TransportError("framing", message);
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
 * only means "not the simple case": the general split then decides.
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
      i = stringEnd(text, i);
      if (i < 0) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return false;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      // Back to the top level before the end: more than one object.
      if (--depth <= 0 && i !== last) return false;
    }
  }
  return depth === 0;
}

function tooLarge(size: number, limits: MessageLimits): TransportError {
  return framing(
    `The incoming WebSocket message is ${size} bytes, over the maximum envelope size of ${limits.maxEnvelopeSize}`,
  );
}
