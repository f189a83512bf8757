/**
 * Reading the frames a WebSocket client sends (RFC 6455 §5), incrementally, as bytes arrive.
 * Every frame header is checked the moment it is complete: a data frame whose announced length
 * would take its message past {@link FrameReader.maxMessageSize} is refused (close code 1009)
 * before any of its payload is read, and the rest of that frame is skipped without being kept.
 * What the reader keeps is only what arrived: a message is assembled in a buffer that grows with
 * the bytes received, never to the announced size up front.
 * @module
 */

/** Close code: the peer broke the protocol (unmasked frame, bad opcode, ...). */
export const CLOSE_PROTOCOL_ERROR = 1002;
/** Close code: a text message (or close reason) that is not UTF-8. */
export const CLOSE_INVALID_DATA = 1007;
/** Close code: a message larger than this side accepts. */
export const CLOSE_TOO_BIG = 1009;
/** The close code reported when a close frame carries none. */
export const CLOSE_NO_STATUS = 1005;

/** Opcodes (RFC 6455 §5.2). */
export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** What a {@link FrameReader} reports. */
export interface FrameEvents {
  /**
   * A complete data message, unmasked. The bytes may be a view into the chunk that was read:
   * they are valid during the call only.
   */
  message(payload: Uint8Array, text: boolean): void;
  /** A ping, with its payload (at most 125 bytes). */
  ping(payload: Uint8Array): void;
  /** A pong. */
  pong(payload: Uint8Array): void;
  /** A close frame: its code ({@link CLOSE_NO_STATUS} when it has none) and reason. */
  close(code: number, reason: string): void;
  /**
   * The peer broke the rules: the close code to answer with (1002, 1007 or 1009) and why. After a
   * 1009 the reader goes on (skipping that message) and can still report the peer's close; after
   * the others it reads nothing more.
   */
  error(code: number, reason: string): void;
}

const MAX_CONTROL_PAYLOAD = 125;
// 2^53: larger 64-bit lengths cannot be exact numbers (and are absurd anyway).
const MAX_SAFE_HIGH_WORD = 0x1fffff;
const INITIAL_BUFFER = 4096;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** An incremental parser of client-to-server WebSocket frames. */
export class FrameReader {
  /**
   * Largest data message accepted, in bytes (fragments together); may change between messages.
   */
  maxMessageSize: number;
  /**
   * Skip the payload of data frames instead of assembling messages (set once the connection is
   * closing: only a close frame matters then). Sizes are not checked while it is set.
   */
  dropData = false;

  readonly #events: FrameEvents;
  #broken = false;
  // The frame header being read, when it arrived in pieces (made the first time one does: a
  // server keeps a reader per connection, and most headers arrive whole).
  #header: Uint8Array | undefined;
  #headerLength = 0;
  // The frame whose payload is being read.
  #inFrame = false;
  #fin = false;
  #opcode = 0;
  // Its mask key, the four bytes as one number (big-endian).
  #mask = 0;
  #maskOffset = 0;
  #remaining = 0;
  #skipping = false;
  // The data message being assembled (opcode 0: none).
  #messageOpcode = 0;
  #messageSize = 0;
  #skippingMessage = false;
  #buffer: Uint8Array | undefined;
  #bufferLength = 0;
  // A control frame's payload, when it arrived in pieces (made the first time one does).
  #control: Uint8Array | undefined;
  #controlLength = 0;

  /** A reader reporting to `events`, refusing messages over `maxMessageSize` bytes. */
  constructor(events: FrameEvents, maxMessageSize: number) {
    this.#events = events;
    this.maxMessageSize = maxMessageSize;
  }

  /** Stops reading for good: later bytes are ignored. */
  stop(): void {
    this.#broken = true;
    this.#buffer = undefined;
  }

  /** Bytes held for the message being assembled. */
  get buffered(): number {
    return this.#bufferLength;
  }

  /** Parses `chunk` (which it may unmask in place), reporting every frame it completes. */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length && !this.#broken) {
      if (!this.#inFrame) {
        offset = this.#readHeader(chunk, offset);
        if (this.#inFrame && this.#remaining === 0) this.#endFrame(undefined);
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.#remaining -= take;
      if (this.#skipping) {
        if (this.#remaining === 0) this.#endFrame(undefined);
        continue;
      }
      unmask(piece, maskBytes(this.#mask), this.#maskOffset);
      this.#maskOffset = (this.#maskOffset + take) & 3;
      const whole = this.#remaining === 0 && this.#controlLength === 0 &&
        (this.#opcode >= OPCODE.close || (this.#bufferLength === 0 && this.#fin));
      if (whole) this.#endFrame(piece); // the fast path: the frame is all in this chunk
      else {
        this.#append(piece);
        if (this.#remaining === 0) this.#endFrame(undefined);
      }
    }
  }

  /** Reads header bytes from `offset`; returns where they end (the header may stay incomplete). */
  #readHeader(chunk: Uint8Array, offset: number): number {
    let bytes: Uint8Array;
    let at: number;
    if (
      this.#headerLength === 0 && chunk.length - offset >= 2 &&
      chunk.length - offset >= headerSize(chunk[offset + 1])
    ) {
      bytes = chunk;
      at = offset;
    } else {
      // Piece by piece: the first two bytes say how long the header is.
      const header = this.#header ??= new Uint8Array(14);
      while (offset < chunk.length) {
        header[this.#headerLength++] = chunk[offset++];
        if (this.#headerLength >= 2 && this.#headerLength === headerSize(header[1])) break;
      }
      if (this.#headerLength < 2 || this.#headerLength < headerSize(header[1])) {
        return offset;
      }
      bytes = header;
      at = 0;
      offset -= this.#headerLength;
      this.#headerLength = 0;
    }
    const size = headerSize(bytes[at + 1]);
    this.#startFrame(bytes, at);
    return offset + size;
  }

  /** Checks a complete header and prepares for its payload. */
  #startFrame(bytes: Uint8Array, at: number): void {
    const first = bytes[at];
    const second = bytes[at + 1];
    const opcode = first & 0x0f;
    const fin = (first & 0x80) !== 0;
    let length = second & 0x7f;
    let maskAt = at + 2;
    if (length === 126) {
      length = (bytes[at + 2] << 8) | bytes[at + 3];
      maskAt = at + 4;
    } else if (length === 127) {
      const high = readUint32(bytes, at + 2);
      if (high > MAX_SAFE_HIGH_WORD) return this.#fail(CLOSE_PROTOCOL_ERROR, "Frame too long");
      length = high * 2 ** 32 + readUint32(bytes, at + 6);
      maskAt = at + 10;
    }
    if ((first & 0x70) !== 0) {
      return this.#fail(CLOSE_PROTOCOL_ERROR, "Reserved bits set: no extension was negotiated");
    }
    if ((second & 0x80) === 0) {
      return this.#fail(CLOSE_PROTOCOL_ERROR, "Client frames must be masked");
    }
    if (opcode >= OPCODE.close) {
      if (opcode > OPCODE.pong) return this.#fail(CLOSE_PROTOCOL_ERROR, `Unknown opcode ${opcode}`);
      if (!fin) return this.#fail(CLOSE_PROTOCOL_ERROR, "Fragmented control frame");
      if (length > MAX_CONTROL_PAYLOAD) {
        return this.#fail(CLOSE_PROTOCOL_ERROR, `Control frame of ${length} bytes (over 125)`);
      }
    } else if (opcode > OPCODE.binary) {
      return this.#fail(CLOSE_PROTOCOL_ERROR, `Unknown opcode ${opcode}`);
    } else if (opcode === OPCODE.continuation) {
      if (this.#messageOpcode === 0) {
        return this.#fail(CLOSE_PROTOCOL_ERROR, "Continuation frame without a message to continue");
      }
    } else if (this.#messageOpcode !== 0) {
      return this.#fail(CLOSE_PROTOCOL_ERROR, "New message before the previous one ended");
    }
    this.#mask = readUint32(bytes, maskAt);
    this.#maskOffset = 0;
    this.#inFrame = true;
    this.#fin = fin;
    this.#opcode = opcode;
    this.#remaining = length;
    this.#skipping = false;
    if (opcode >= OPCODE.close) return;
    if (opcode !== OPCODE.continuation) {
      this.#messageOpcode = opcode;
      this.#messageSize = 0;
      this.#skippingMessage = this.dropData;
    }
    this.#messageSize += length;
    if (!this.#skippingMessage && this.#messageSize > this.maxMessageSize) {
      // Refused on the header alone: nothing of this message is kept, the rest is skipped.
      this.#skippingMessage = true;
      this.#dropBuffer();
      const size = this.#messageSize;
      const what = fin && opcode !== OPCODE.continuation ? "" : "at least ";
      this.#events.error(
        CLOSE_TOO_BIG,
        `The incoming WebSocket message is ${what}${size} bytes, over the maximum envelope ` +
          `size of ${this.maxMessageSize}`,
      );
    }
    this.#skipping = this.#skippingMessage || this.dropData;
  }

  #append(piece: Uint8Array): void {
    if (this.#opcode >= OPCODE.close) {
      (this.#control ??= new Uint8Array(MAX_CONTROL_PAYLOAD)).set(piece, this.#controlLength);
      this.#controlLength += piece.length;
      return;
    }
    const needed = this.#bufferLength + piece.length;
    if (!this.#buffer || needed > this.#buffer.length) {
      // Grows with what arrived (doubling), never to the announced size up front.
      const grown = new Uint8Array(
        Math.max(needed, INITIAL_BUFFER, (this.#buffer?.length ?? 0) * 2),
      );
      if (this.#buffer) grown.set(this.#buffer.subarray(0, this.#bufferLength));
      this.#buffer = grown;
    }
    this.#buffer.set(piece, this.#bufferLength);
    this.#bufferLength = needed;
  }

  /** A frame is complete: `payload` is all of it, or undefined when it was appended. */
  #endFrame(payload: Uint8Array | undefined): void {
    this.#inFrame = false;
    const opcode = this.#opcode;
    if (opcode >= OPCODE.close) {
      const body = payload ?? this.#control?.slice(0, this.#controlLength) ?? EMPTY;
      this.#controlLength = 0;
      if (opcode === OPCODE.ping) this.#events.ping(body);
      else if (opcode === OPCODE.pong) this.#events.pong(body);
      else this.#onClose(body);
      return;
    }
    if (!this.#fin) return;
    const text = this.#messageOpcode === OPCODE.text;
    const skipped = this.#skippingMessage;
    this.#messageOpcode = 0;
    this.#skippingMessage = false;
    if (skipped || this.dropData) return this.#dropBuffer();
    const message = payload ?? this.#buffer?.subarray(0, this.#bufferLength) ?? EMPTY;
    this.#dropBuffer();
    this.#events.message(message, text);
  }

  #onClose(body: Uint8Array): void {
    if (body.length === 0) return this.#events.close(CLOSE_NO_STATUS, "");
    if (body.length === 1) return this.#fail(CLOSE_PROTOCOL_ERROR, "Close frame of one byte");
    const code = (body[0] << 8) | body[1];
    if (!validCloseCode(code)) return this.#fail(CLOSE_PROTOCOL_ERROR, `Close code ${code}`);
    let reason: string;
    try {
      reason = utf8.decode(body.subarray(2));
    } catch {
      return this.#fail(CLOSE_INVALID_DATA, "The close reason is not valid UTF-8");
    }
    this.#events.close(code, reason);
  }

  #dropBuffer(): void {
    this.#bufferLength = 0;
    // Only a small buffer is kept for the next message (thousands of idle connections).
    if (this.#buffer && this.#buffer.length > INITIAL_BUFFER) this.#buffer = undefined;
  }

  #fail(code: number, reason: string): void {
    this.stop();
    this.#events.error(code, reason);
  }
}

const EMPTY = new Uint8Array(0);

/** Whether a peer may send `code` in a close frame (RFC 6455 §7.4, registered codes). */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** Header size (with the mask key) given its second byte. */
function headerSize(second: number): number {
  const length = second & 0x7f;
  return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + ((second & 0x80) !== 0 ? 4 : 0);
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

// The mask key being applied, as bytes: one for every reader (they keep theirs as a number).
const MASK = new Uint8Array(4);

/** `key`'s four bytes (big-endian) in {@link MASK}, valid until the next call. */
function maskBytes(key: number): Uint8Array {
  MASK[0] = key >>> 24;
  MASK[1] = key >>> 16;
  MASK[2] = key >>> 8;
  MASK[3] = key;
  return MASK;
}

// The byte order of this machine's 32-bit words, for the word-wise XOR.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XORs `bytes` in place with the 4-byte `mask`, starting at mask position `offset` (0-3): four
 * bytes per step for short payloads, 32-bit words over the aligned middle of longer ones.
 */
export function unmask(bytes: Uint8Array, mask: Uint8Array, offset = 0): void {
  const length = bytes.length;
  let i = 0;
  if (length >= 512) {
    const lead = (4 - (bytes.byteOffset & 3)) & 3;
    for (; i < lead; i++) bytes[i] ^= mask[(offset + i) & 3];
    const at = offset + lead;
    const [a, b, c, d] = [mask[at & 3], mask[(at + 1) & 3], mask[(at + 2) & 3], mask[(at + 3) & 3]];
    const word = LITTLE_ENDIAN
      ? a | (b << 8) | (c << 16) | (d << 24)
      : (a << 24) | (b << 16) | (c << 8) | d;
    const words = (length - i) >>> 2;
    const view = new Int32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= word;
    i += words * 4;
  } else {
    const a = mask[offset & 3];
    const b = mask[(offset + 1) & 3];
    const c = mask[(offset + 2) & 3];
    const d = mask[(offset + 3) & 3];
    for (; i + 3 < length; i += 4) {
      bytes[i] ^= a;
      bytes[i + 1] ^= b;
      bytes[i + 2] ^= c;
      bytes[i + 3] ^= d;
    }
  }
  for (; i < length; i++) bytes[i] ^= mask[(offset + i) & 3];
}
