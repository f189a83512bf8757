/**
 * The WebSocket part of the live-server fuzz (`deno task fuzz --websocket-streams=N`): hostile
 * connections to LimeServer's own WebSocket listener, which reads HTTP heads and frames itself.
 *
 * Each stream sends an upgrade request, valid or broken (whole, in pieces, or with frames
 * pipelined behind it); the LIME handshake in masked text frames (all, part or none of it,
 * sometimes fragmented with a ping between the fragments); then hostile frames: envelopes and
 * fuzzed bytes as text, control frames (valid, oversized, fragmented), close frames with every
 * kind of code and reason, reserved opcodes and bits, unmasked frames, stray continuations, absurd
 * and non-minimal lengths, raw bytes, sometimes all of it mutated; then it closes, half-closes,
 * does the close handshake or goes silent.
 *
 * What the server answers is checked by a parser of its own (not the project's frame code), as
 * strictly as RFC 6455 allows: a plain HTTP answer with a known status and nothing after its body,
 * or a 101 with the right `Sec-WebSocket-Accept` and the `lime` subprotocol (and a 101 for a broken
 * request is a failure, as is any refusal of a valid one but 503); then unmasked frames without
 * reserved bits, with minimal lengths, of the opcodes a LIME server sends (text, close, ping,
 * pong), control frames whole and at most 125 bytes, every text message one valid envelope in
 * valid UTF-8, a close frame with a code a peer may send and a UTF-8 reason, and nothing after it.
 * @module
 */
import { createHash } from "node:crypto";
import { parseEnvelope } from "../src/codec.ts";
import {
  bump,
  closeWrite,
  concat,
  delay,
  describe,
  finishStream,
  hostilePayload,
  int,
  isConnectionError,
  itemRng,
  mutateBytes,
  pick,
  randomBytes,
  readerEnded,
  reportProblems,
  type Rng,
  SERVER_MAX_ENVELOPE,
  sessionEnvelope,
  STEP_MS,
  STREAM_BOUND_MS,
  type StreamContext,
  toHex,
  uuid,
  within,
  writeAll,
} from "./fuzz.ts";

/** Figures of the WebSocket streams. */
export interface WebSocketFuzzReport {
  streams: number;
  bytesSent: number;
  /** The request heads sent: valid, or how they were broken. */
  heads: Record<string, number>;
  /** The server's HTTP answers by status ("none": the connection ended without one). */
  statuses: Record<string, number>;
  /** The LIME handshake step each upgraded stream reached before its hostile frames. */
  reached: Record<string, number>;
  /** The hostile frames sent, by kind. */
  frames: Record<string, number>;
  endings: Record<string, number>;
  /** How the server ended what it ended: a LIME `failed` reason, its close code, or a bare close. */
  serverVerdicts: Record<string, number>;
  /** Sessions whose first hostile frame broke RFC 6455, so that the close code was judged. */
  closeCodesJudged: number;
}

export function emptyWebSocketReport(): WebSocketFuzzReport {
  return {
    streams: 0,
    bytesSent: 0,
    heads: {},
    statuses: {},
    reached: {},
    frames: {},
    endings: {},
    serverVerdicts: {},
    closeCodesJudged: 0,
  };
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Statuses the listener answers a request it does not upgrade with. */
const REFUSALS = new Set([400, 404, 408, 431, 503]);
/** The largest response head or server frame the oracle takes (the server's are far smaller). */
const MAX_SERVER_HEAD = 8 * 1024;
const MAX_SERVER_FRAME = 1 << 20;
/**
 * A connection whose request head never completed is dropped by the listener's handshake
 * timeout (10 s, its default): the bound for those, instead of STREAM_BOUND_MS.
 */
const HEAD_BOUND_MS = 12_000;

/** The `Sec-WebSocket-Key` a request head carries (as the server reads it), if any. */
function keyOf(head: Uint8Array): string | undefined {
  const text = new TextDecoder("latin1").decode(head);
  return /\r\nsec-websocket-key:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(text)?.[1];
}

/** Whether a peer may send `code` in a close frame (RFC 6455 §7.4.1–2). */
function sendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

// ------------------------------------------------------------------------------------------------
// What the client sends

/** A client frame: masked unless told otherwise, minimal length unless `long`. */
function clientFrame(
  rng: Rng,
  opcode: number,
  payload: Uint8Array,
  options: { fin?: boolean; rsv?: number; masked?: boolean; long?: boolean } = {},
): Uint8Array {
  const { fin = true, rsv = 0, masked = true, long = false } = options;
  const n = payload.length;
  const lengthBytes = long || n > 0xffff ? 8 : n > 125 ? 2 : 0;
  const header = new Uint8Array(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv & 0x70) | (opcode & 0x0f);
  header[1] = (masked ? 0x80 : 0) | (lengthBytes === 8 ? 127 : lengthBytes === 2 ? 126 : n);
  if (lengthBytes === 2) new DataView(header.buffer).setUint16(2, n);
  if (lengthBytes === 8) new DataView(header.buffer).setBigUint64(2, BigInt(n));
  const body = payload.slice();
  if (masked) {
    const key = randomBytes(rng, 4);
    header.set(key, 2 + lengthBytes);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  }
  return concat([header, body]);
}

/** A text message in 1–3 frames, maybe with a ping between two of them (which RFC 6455 allows). */
function textMessage(rng: Rng, payload: Uint8Array, fragments: number): Uint8Array {
  if (fragments <= 1 || payload.length < 2) return clientFrame(rng, 1, payload);
  const cuts = [
    ...new Set(Array.from({ length: fragments - 1 }, () => 1 + int(rng, payload.length - 1))),
  ]
    .sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let previous = 0;
  for (const [k, cut] of [...cuts, payload.length].entries()) {
    const last = cut === payload.length;
    parts.push(clientFrame(rng, k === 0 ? 1 : 0, payload.subarray(previous, cut), { fin: last }));
    if (!last && rng() < 0.3) parts.push(clientFrame(rng, 9, randomBytes(rng, int(rng, 16))));
    previous = cut;
  }
  return concat(parts);
}

/** An upgrade request: valid, or broken in one way (named by its kind). */
function upgradeRequest(rng: Rng): { head: Uint8Array; kind: string } {
  const key = btoa(String.fromCharCode(...randomBytes(rng, 16)));
  const fields: [string, string][] = [
    ["Host", "127.0.0.1"],
    ["Upgrade", pick(rng, ["websocket", "WebSocket"])],
    ["Connection", pick(rng, ["Upgrade", "keep-alive, Upgrade", "upgrade"])],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", "13"],
    ["Sec-WebSocket-Protocol", pick(rng, ["lime", "lime", "other, lime"])],
  ];
  if (rng() < 0.3) fields.push(["Origin", "http://127.0.0.1"]);
  let requestLine = `GET ${pick(rng, ["/", "/", "/lime", "/?x=1"])} HTTP/1.1`;
  const text = () =>
    `${requestLine}\r\n${fields.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
  if (rng() < 0.8) return { head: encoder.encode(text()), kind: "valid" };
  const set = (name: string, value: string | undefined) => {
    const at = fields.findIndex(([k]) => k === name);
    if (value === undefined) fields.splice(at, 1);
    else fields[at] = [name, value];
  };
  const kind = pick(rng, [
    "post",
    "http-1.0",
    "no-upgrade",
    "no-connection-upgrade",
    "version-8",
    "bad-key",
    "no-key",
    "no-lime-protocol",
    "header-without-colon",
    "huge-head",
    "lowercase-method",
    "lime-over-tcp",
    "binary",
    "mutated",
  ]);
  switch (kind) {
    case "post":
      requestLine = requestLine.replace("GET", "POST");
      break;
    case "http-1.0":
      requestLine = requestLine.replace("HTTP/1.1", "HTTP/1.0");
      break;
    case "no-upgrade":
      set("Upgrade", undefined);
      break;
    case "no-connection-upgrade":
      set("Connection", "keep-alive");
      break;
    case "version-8":
      set("Sec-WebSocket-Version", "8");
      break;
    case "bad-key":
      set("Sec-WebSocket-Key", pick(rng, ["short==", key.slice(0, 20), `${key}x`, "!".repeat(24)]));
      break;
    case "no-key":
      set("Sec-WebSocket-Key", undefined);
      break;
    case "no-lime-protocol":
      set("Sec-WebSocket-Protocol", pick(rng, [undefined, "mqtt", "limex"]));
      break;
    case "header-without-colon":
      fields.push(["X-Broken", ""]);
      return {
        head: encoder.encode(text().replace("X-Broken: \r\n", "X-Broken\r\n")),
        kind,
      };
    case "huge-head":
      fields.push(["X-Padding", "a".repeat(8 * 1024 + int(rng, 4096))]);
      break;
    case "lowercase-method":
      requestLine = requestLine.replace("GET", "get");
      break;
    case "lime-over-tcp":
      return { head: encoder.encode(`{"state":"new"}`), kind };
    case "binary":
      return { head: randomBytes(rng, 1 + int(rng, 300)), kind };
    case "mutated":
      // Maybe still valid: the oracle does not judge its answer (only the bytes of it).
      return { head: mutateHead(rng, encoder.encode(text())), kind };
  }
  return { head: encoder.encode(text()), kind };
}

function mutateHead(rng: Rng, head: Uint8Array): Uint8Array {
  const out = head.slice();
  for (let k = 1 + int(rng, 4); k > 0; k--) out[int(rng, out.length)] = int(rng, 256);
  return out;
}

/** The close code the server must answer a first hostile frame of these kinds with. */
const CLOSE_CODE_FOR: Record<string, number> = {
  "unmasked": 1002,
  "rsv-bits": 1002,
  "reserved-opcode": 1002,
  "control-too-long": 1002,
  "control-fragmented": 1002,
  "stray-continuation": 1002,
  "unfinished-message": 1002,
  "too-big": 1009, // (over maxEnvelopeSize once established)
};

/**
 * Whether the 1009 of an oversize message is judged: not on Deno before 2.9, whose node:net
 * sometimes loses the close frame written after the LIME `failed` (which arrives).
 */
const JUDGES_TOO_BIG = (() => {
  const [major, minor] = Deno.version.deno.split(".").map(Number);
  return major > 2 || (major === 2 && minor >= 9);
})();

const RESERVED_OPCODES = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15];
const CLOSE_CODES = [
  1000,
  1001,
  1002,
  1003,
  1004,
  1005,
  1006,
  1007,
  1009,
  1011,
  1015,
  999,
  0,
  2999,
  3000,
  4999,
  5000,
  65535,
];

/** One hostile frame (or a few bytes that are not one), and its kind. */
function hostileFrame(
  rng: Rng,
  ctx: StreamContext,
  sid: string,
  node: string,
): { bytes: Uint8Array; kind: string } {
  const envelope = () => encoder.encode(sessionEnvelope(rng, sid, node));
  const kind = pick(rng, [
    "envelope",
    "envelope",
    "envelope",
    "fuzzed-text",
    "fuzzed-text",
    "fragmented",
    "ping",
    "pong",
    "close",
    "close-bad",
    "control-too-long",
    "control-fragmented",
    "reserved-opcode",
    "rsv-bits",
    "unmasked",
    "stray-continuation",
    "unfinished-message",
    "binary",
    "huge-length",
    "non-minimal-length",
    "too-big",
    "empty-text",
    "raw-bytes",
  ]);
  const bytes = ((): Uint8Array => {
    switch (kind) {
      case "envelope":
        return clientFrame(rng, 1, envelope());
      case "fuzzed-text":
        return clientFrame(rng, 1, hostilePayload(rng, ctx.seeds, sid, node));
      case "fragmented":
        return textMessage(
          rng,
          rng() < 0.5 ? envelope() : hostilePayload(rng, ctx.seeds, sid, node),
          2 + int(rng, 3),
        );
      case "ping":
        return clientFrame(rng, 9, randomBytes(rng, int(rng, 126)));
      case "pong":
        return clientFrame(rng, 10, randomBytes(rng, int(rng, 126)));
      case "close": {
        const code = pick(rng, [1000, 1001, 1000, 3000, 4000]);
        return clientFrame(
          rng,
          8,
          concat([new Uint8Array([code >> 8, code & 0xff]), encoder.encode("bye")]),
        );
      }
      case "close-bad": {
        const code = pick(rng, CLOSE_CODES);
        const reason = pick(rng, [
          new Uint8Array(0),
          encoder.encode("é".repeat(int(rng, 70))),
          new Uint8Array([0xc3, 0x28]), // invalid UTF-8
          randomBytes(rng, int(rng, 124)),
        ]);
        const payload = rng() < 0.15
          ? new Uint8Array([int(rng, 256)]) // one byte: no code can be read
          : concat([new Uint8Array([code >> 8, code & 0xff]), reason]);
        return clientFrame(rng, 8, payload);
      }
      case "control-too-long":
        return clientFrame(rng, pick(rng, [8, 9, 10]), randomBytes(rng, 126 + int(rng, 200)));
      case "control-fragmented":
        return clientFrame(rng, pick(rng, [9, 10]), randomBytes(rng, int(rng, 20)), { fin: false });
      case "reserved-opcode":
        return clientFrame(rng, pick(rng, RESERVED_OPCODES), envelope());
      case "rsv-bits":
        return clientFrame(rng, pick(rng, [1, 9]), envelope(), {
          rsv: pick(rng, [0x40, 0x20, 0x10, 0x70]),
        });
      case "unmasked":
        return clientFrame(rng, pick(rng, [1, 9, 8]), envelope(), { masked: false });
      case "stray-continuation":
        return clientFrame(rng, 0, envelope(), { fin: rng() < 0.5 });
      case "unfinished-message":
        // A text fragment, then a new text message instead of its continuation.
        return concat([
          clientFrame(rng, 1, envelope(), { fin: false }),
          clientFrame(rng, 1, envelope()),
        ]);
      case "binary":
        return clientFrame(rng, 2, envelope());
      case "huge-length": {
        // A header announcing 2^31 … 2^63 bytes (some above 2^53), then a few of them.
        const header = new Uint8Array(14);
        header[0] = 0x81;
        header[1] = 0xff;
        const view = new DataView(header.buffer);
        view.setUint32(2, pick(rng, [0x80, 0x7fffffff, 0x80000000, 0xffffffff, 0x200000]));
        view.setUint32(6, int(rng, 2 ** 32));
        header.set(randomBytes(rng, 4), 10);
        return concat([header, randomBytes(rng, int(rng, 2000))]);
      }
      case "non-minimal-length":
        return clientFrame(rng, 1, envelope(), { long: true });
      case "too-big":
        return clientFrame(
          rng,
          1,
          encoder.encode(
            `{"id":"big","type":"text/plain","content":"${"x".repeat(SERVER_MAX_ENVELOPE)}"}`,
          ),
        );
      case "empty-text":
        return clientFrame(rng, 1, new Uint8Array(0));
      default:
        return randomBytes(rng, 1 + int(rng, 64));
    }
  })();
  return { bytes, kind };
}

// ------------------------------------------------------------------------------------------------
// What the server answers, checked

type Phase = "head" | "body" | "after-body" | "frames" | "closed";

/** Reads and checks everything the server sends on one WebSocket stream. */
export class WebSocketPeer {
  readonly #conn: Pick<Deno.TcpConn, "read">;
  #buffer: Uint8Array = new Uint8Array(0);
  #phase: Phase = "head";
  #bodyLeft = 0;
  #wake: (() => void) | undefined;
  readonly #envelopes: Record<string, unknown>[] = [];
  /** The key of the request, once sent (the 101 must answer it). */
  key: string | undefined;
  /** Whether a 101 is allowed (false for a broken request). */
  upgradeAllowed = true;
  status: number | undefined;
  closeCode: number | undefined;
  lastSession: Record<string, unknown> | undefined;
  ended = false;
  /** Set when this side closes the connection (what the server sent is then not judged whole). */
  hungUp = false;
  /** Set when the connection was reset (bytes in flight may be lost: not judged either). */
  reset = false;
  readonly problems: string[] = [];
  readonly done: Promise<void>;

  constructor(conn: Pick<Deno.TcpConn, "read">) {
    this.#conn = conn;
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) {
          this.#endOfStream();
          break;
        }
        this.push(buffer.subarray(0, n));
      }
    } catch (error) {
      if (isConnectionError(error)) this.reset = true;
      else this.problems.push(`reading: ${describe(error)}`);
    } finally {
      this.ended = true;
      this.#wake?.();
    }
  }

  /**
   * The server ended the connection (FIN): what it sent must be whole (an answer's head and body,
   * a frame), unless this side hung up first. (A reset may drop bytes in flight: not judged.)
   */
  #endOfStream(): void {
    if (this.hungUp) return;
    const left = this.#buffer.length;
    if (this.#phase === "head" && left) this.#problem(`it hung up inside its answer's head`);
    else if (this.#phase === "body" && this.#bodyLeft) {
      this.#problem(`it hung up ${this.#bodyLeft} bytes short of its ${this.status} answer's body`);
    } else if (this.#phase === "frames" && left) {
      this.#problem(`it hung up inside a frame (${left} bytes of it)`);
    }
  }

  #problem(message: string): void {
    this.problems.push(message);
    this.#phase = "closed";
    this.#buffer = new Uint8Array(0);
  }

  /** Takes bytes the server sent (the connection's reader calls it). */
  push(chunk: Uint8Array): void {
    if (this.#phase === "closed") {
      if (this.closeCode !== undefined) {
        this.#problem(`the server sent ${chunk.length} bytes after its close frame`);
      }
      return;
    }
    this.#buffer = concat([this.#buffer, chunk]);
    while (this.#step()) { /* until nothing more can be read */ }
  }

  /** Reads what the buffer holds for the current phase; false when it could not go on. */
  #step(): boolean {
    const before = this.#buffer.length;
    const phase: Phase = this.#phase;
    if (phase === "head") this.#readHead();
    else if (phase === "body") this.#readBody();
    else if (phase === "frames") this.#readFrame();
    else if (phase === "after-body" && this.#buffer.length) {
      this.#problem(`the server sent bytes after its ${this.status} answer`);
    }
    const after: Phase = this.#phase;
    if (after === "closed") {
      if (this.#buffer.length && this.closeCode !== undefined) {
        this.#problem(`the server sent ${this.#buffer.length} bytes after its close frame`);
      }
      return false;
    }
    return this.#buffer.length > 0 && (this.#buffer.length !== before || after !== phase);
  }

  #readHead(): void {
    const bytes = this.#buffer;
    let end = -1;
    for (let i = 0; i + 3 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
        end = i;
        break;
      }
    }
    if (end === -1) {
      if (bytes.length > MAX_SERVER_HEAD) this.#problem("a response head over 8 KiB");
      return;
    }
    const lines = new TextDecoder("latin1").decode(bytes.subarray(0, end)).split("\r\n");
    this.#buffer = bytes.slice(end + 4);
    const match = /^HTTP\/1\.1 (\d{3}) [A-Za-z ]+$/.exec(lines[0]);
    if (!match) return this.#problem(`a malformed status line: ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) return this.#problem(`a malformed header line: ${JSON.stringify(line)}`);
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    this.status = Number(match[1]);
    this.#wake?.();
    if (this.status === 101) {
      if (!this.upgradeAllowed) return this.#problem("101 for a request that is not an upgrade");
      const accept = createHash("sha1").update(this.key + GUID).digest("base64");
      if (headers.get("sec-websocket-accept") !== accept) {
        return this.#problem(
          `Sec-WebSocket-Accept ${headers.get("sec-websocket-accept")}, not ${accept}`,
        );
      }
      if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return this.#problem("a 101 without Upgrade: websocket");
      }
      if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get("connection") ?? "")) {
        return this.#problem("a 101 without Connection: Upgrade");
      }
      if (headers.get("sec-websocket-protocol") !== "lime") {
        return this.#problem(`subprotocol ${headers.get("sec-websocket-protocol")}, not lime`);
      }
      this.#phase = "frames";
      return;
    }
    if (!REFUSALS.has(this.status)) return this.#problem(`an unexpected status ${this.status}`);
    const length = Number(headers.get("content-length"));
    if (!Number.isInteger(length) || length < 0) {
      return this.#problem(`a ${this.status} without a Content-Length`);
    }
    this.#bodyLeft = length;
    this.#phase = "body";
  }

  #readBody(): void {
    const take = Math.min(this.#bodyLeft, this.#buffer.length);
    this.#bodyLeft -= take;
    this.#buffer = this.#buffer.slice(take);
    if (this.#bodyLeft === 0) this.#phase = "after-body";
  }

  #readFrame(): void {
    const bytes = this.#buffer;
    if (bytes.length < 2) return;
    const fin = (bytes[0] & 0x80) !== 0;
    const opcode = bytes[0] & 0x0f;
    if (bytes[0] & 0x70) return this.#problem(`a frame with reserved bits ${bytes[0] & 0x70}`);
    if (bytes[1] & 0x80) return this.#problem("a masked frame from the server");
    if (![1, 8, 9, 10].includes(opcode)) return this.#problem(`a frame with opcode ${opcode}`);
    let length = bytes[1] & 0x7f;
    let at = 2;
    if (length === 126) {
      if (bytes.length < 4) return;
      length = (bytes[2] << 8) | bytes[3];
      at = 4;
      if (length < 126) return this.#problem(`length ${length} in the 16-bit form`);
    } else if (length === 127) {
      if (bytes.length < 10) return;
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const high = view.getUint32(2);
      length = view.getUint32(6);
      at = 10;
      if (high !== 0 || length > MAX_SERVER_FRAME) return this.#problem("a frame over 1 MiB");
      if (length <= 0xffff) return this.#problem(`length ${length} in the 64-bit form`);
    }
    if (opcode >= 8 && (!fin || length > 125)) {
      return this.#problem(`a control frame (opcode ${opcode}) fragmented or of ${length} bytes`);
    }
    // Strict on purpose: RFC 6455 allows fragmented messages, but this server never sends one.
    if (!fin) return this.#problem("a fragmented text message");
    if (bytes.length < at + length) return;
    const payload = bytes.subarray(at, at + length);
    this.#buffer = bytes.slice(at + length);
    if (opcode === 1) this.#text(payload);
    else if (opcode === 8) this.#close(payload);
  }

  #text(payload: Uint8Array): void {
    let text: string;
    try {
      text = strictUtf8.decode(payload);
    } catch {
      return this.#problem("a text message that is not UTF-8");
    }
    try {
      const envelope = parseEnvelope(text) as unknown as Record<string, unknown>;
      if ("state" in envelope) this.lastSession = envelope;
      this.#envelopes.push(envelope);
      this.#wake?.();
    } catch (error) {
      this.#problem(
        `the server sent an invalid envelope (${describe(error)}): ${text.slice(0, 300)}`,
      );
    }
  }

  #close(payload: Uint8Array): void {
    if (payload.length === 1) return this.#problem("a close frame of one byte");
    const code = payload.length ? (payload[0] << 8) | payload[1] : 1005;
    if (payload.length && !sendableCloseCode(code)) {
      return this.#problem(`close code ${code}, which no endpoint may send`);
    }
    try {
      strictUtf8.decode(payload.subarray(2));
    } catch {
      return this.#problem("a close reason that is not UTF-8");
    }
    this.closeCode = code;
    this.#phase = "closed";
    this.#wake?.();
  }

  /** Waits until `ready()` or the end of the connection, at most `ms`. */
  async #until(ready: () => boolean, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (!ready() && !this.ended) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** The status of the server's answer; undefined when none came within `ms`. */
  async response(ms: number): Promise<number | undefined> {
    await this.#until(() => this.status !== undefined, ms);
    return this.status;
  }

  /** The next envelope; undefined when the connection ended or after `ms`. */
  async next(ms: number): Promise<Record<string, unknown> | undefined> {
    await this.#until(() => this.#envelopes.length > 0 || this.closeCode !== undefined, ms);
    return this.#envelopes.shift();
  }
}

// ------------------------------------------------------------------------------------------------
// One stream

/** One hostile WebSocket connection to `ctx.websocketPort`. */
export async function hostileWebSocketStream(
  ctx: StreamContext & { websocketPort: number; websocket: WebSocketFuzzReport },
  index: number,
): Promise<void> {
  const { report, websocket: ws } = ctx;
  const rng = itemRng(ctx.seed, index, 0x3e6b5);
  const t0 = performance.now();
  let sent: Uint8Array[] = [];
  const fail = (kind: string, message: string) =>
    ctx.fail({
      part: "server",
      index,
      kind: `websocket ${kind}`,
      message,
      hex: toHex(concat(sent), 4096),
    });
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: ctx.hostname, port: ctx.websocketPort });
  } catch (error) {
    ws.streams++;
    report.crashes++;
    fail("connect", describe(error));
    return;
  }
  conn.setNoDelay(true);
  const peer = new WebSocketPeer(conn);
  let closed = false;
  const write = (bytes: Uint8Array) => {
    sent.push(bytes);
    return writeAll(conn, bytes);
  };
  /** Writes in 1–8 random pieces, sometimes a few ms apart. */
  const writeInPieces = async (bytes: Uint8Array): Promise<boolean> => {
    const cuts = [...new Set(Array.from({ length: int(rng, 8) }, () => int(rng, bytes.length)))]
      .sort((a, b) => a - b);
    let previous = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (!await write(bytes.subarray(previous, cut))) return false;
      previous = cut;
      if (rng() < 0.2) await delay(int(rng, 4));
    }
    return true;
  };
  try {
    const request = upgradeRequest(rng);
    bump(ws.heads, request.kind);
    peer.key = keyOf(request.head); // a mutated head's key may differ from the one generated
    peer.upgradeAllowed = request.kind === "valid" || request.kind === "mutated";
    const valid = request.kind === "valid";
    const node = `ws${index}@localhost/i${int(rng, 3)}`;
    let sid = uuid(rng);
    // Part of the head only (then no answer can come: the stream closes or half-closes).
    const partialHead = rng() < 0.05;
    let reached = "none";
    let hostile: Uint8Array[] = [];
    // The kind of the first hostile frame (what the server's close code must answer).
    let firstKind: string | undefined;
    if (partialHead) {
      await write(request.head.subarray(0, int(rng, request.head.length)));
      reached = "partial head";
    } else {
      // Frames pipelined behind the head, before any answer: the first envelope, or hostile ones.
      const r = rng();
      const newWithHead = r < 0.15;
      const pipelined = newWithHead
        ? clientFrame(rng, 1, encoder.encode(`{"state":"new"}`))
        : r < 0.25
        ? hostileFrame(rng, ctx, sid, node).bytes
        : new Uint8Array(0);
      await writeInPieces(concat([request.head, pipelined]));
      const status = await peer.response(STEP_MS);
      bump(ws.statuses, status === undefined ? "none" : String(status));
      if (status === undefined && valid && !peer.ended) {
        report.hangs++;
        fail("hang", `no answer to a valid upgrade request within ${STEP_MS} ms`);
      }
      if (status === undefined && valid && peer.ended && !pipelined.length) {
        report.crashes++;
        fail("dropped", "the server closed a valid upgrade request without an answer");
      }
      if (valid && status !== undefined && status !== 101 && status !== 503) {
        report.crashes++;
        fail("refused", `a valid upgrade request was answered ${status}`);
      }
      if (status === 101) {
        reached = "upgraded";
        // The LIME handshake, all or part of it, in text frames (some fragmented).
        const target = pick(rng, [0, 1, 2, 2, 2, 2]);
        const send = (text: string) =>
          write(textMessage(rng, encoder.encode(text), rng() < 0.15 ? 2 + int(rng, 2) : 1));
        handshake: {
          if (target < 1) break handshake;
          if (!newWithHead && !await send(`{"state":"new"}`)) break handshake;
          let envelope = await peer.next(STEP_MS);
          if (envelope?.state === "negotiating") {
            sid = String(envelope.id);
            if (
              !await send(
                `{"id":"${sid}","state":"negotiating","compression":"none","encryption":"none"}`,
              )
            ) {
              break handshake;
            }
            envelope = await peer.next(STEP_MS);
            if (envelope?.state === "negotiating") envelope = await peer.next(STEP_MS);
          }
          if (envelope?.state !== "authenticating") break handshake;
          sid = String(envelope.id);
          reached = "new";
          if (target < 2) break handshake;
          if (
            !await send(
              `{"id":"${sid}","from":"${node}","state":"authenticating","scheme":"guest","authentication":{}}`,
            )
          ) break handshake;
          envelope = await peer.next(STEP_MS);
          if (envelope?.state !== "established") break handshake;
          reached = "established";
        }
        // The hostile frames.
        for (let k = 1 + int(rng, 6); k > 0; k--) {
          const frame = hostileFrame(rng, ctx, sid, node);
          bump(ws.frames, frame.kind);
          hostile.push(frame.bytes);
          firstKind ??= frame.kind;
        }
        if (rng() < 0.1) {
          hostile = [mutateBytes(rng, concat(hostile), ctx.seeds, true)];
          firstKind = "mutated";
        }
        const bytes = concat(hostile);
        ws.bytesSent += bytes.length;
        await writeInPieces(bytes);
      }
    }
    bump(ws.reached, reached);

    // The end: close, half-close, the close handshake, or silence until the server ends it.
    const ending = partialHead
      ? pick(rng, ["close", "half-close"])
      : pick(rng, ["close", "half-close", "half-close", "close-handshake", "silent"]);
    bump(ws.endings, ending);
    if (ending === "close") {
      peer.hungUp = true;
      conn.close();
      closed = true;
      await readerEnded(peer.done);
    } else {
      if (ending === "close-handshake") {
        await write(clientFrame(rng, 8, new Uint8Array([0x03, 0xe8])));
      } else if (ending === "half-close") await closeWrite(conn);
      const bound = peer.status === undefined ? HEAD_BOUND_MS : STREAM_BOUND_MS;
      try {
        await within(peer.done, bound, "the server ending the connection");
      } catch {
        report.hangs++;
        fail(
          "hang",
          `the server did not end a ${ending} connection within ${bound} ms (answer ${
            peer.status ?? "none"
          }, ${reached})`,
        );
      }
      // A session whose first hostile frame breaks RFC 6455 is closed with the code for it.
      const expected = reached === "established" && firstKind !== undefined &&
          (firstKind !== "too-big" || JUDGES_TOO_BIG)
        ? CLOSE_CODE_FOR[firstKind]
        : undefined;
      const judged = expected !== undefined && peer.ended && !peer.reset;
      if (judged) ws.closeCodesJudged++;
      if (judged && peer.closeCode !== expected) {
        report.crashes++;
        fail(
          "wrong close code",
          `a first frame "${firstKind}" was answered with close code ${
            peer.closeCode ?? "none"
          }, not ${expected}`,
        );
      }
      const verdict = peer.lastSession?.state === "failed"
        ? `failed ${(peer.lastSession.reason as { code?: number } | undefined)?.code}`
        : peer.lastSession?.state === "finished"
        ? "finished"
        : peer.closeCode !== undefined
        ? `close ${peer.closeCode}`
        : peer.status !== undefined && peer.status !== 101
        ? `http ${peer.status}`
        : "closed";
      bump(ws.serverVerdicts, verdict);
    }
    reportProblems(peer.problems, report, fail);
  } catch (error) {
    report.crashes++;
    fail("crash", `the stream failed: ${describe(error)}`);
  } finally {
    peer.hungUp = true; // (from now on what the server sends is not judged whole)
    await finishStream({ conn, closed, done: peer.done, index, t0 }, report, fail);
    ws.streams++;
    sent = [];
  }
}
