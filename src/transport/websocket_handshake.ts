/**
 * The HTTP/1.1 side of a WebSocket server (RFC 6455 §4.2): reading a request head from a raw
 * socket under a size cap and a deadline, checking that it is a WebSocket upgrade, computing
 * `Sec-WebSocket-Accept`, and writing the plain answers (101, or a refusal with a plain-text
 * reason, after which the connection is closed).
 * @module
 */
import { createHash } from "node:crypto";
import type net from "node:net";

/** Largest request head (request line and headers) read, in bytes: 8 KiB. */
export const MAX_UPGRADE_HEAD = 8 * 1024;
/** How long a client may take to send its request head (and finish TLS), in ms: 10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  400: "Bad Request",
  404: "Not Found",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/** A parsed HTTP request head. */
export interface RequestHead {
  /** `GET`, ... */
  readonly method: string;
  /** The path of the request target, without its query. */
  readonly pathname: string;
  /** `HTTP/1.1`, ... */
  readonly version: string;
  /** The header fields. */
  readonly headers: Headers;
}

/** What {@link readRequestHead} gives: the head and the bytes after it, or why there is none. */
export type HeadResult =
  | { head: RequestHead; rest: Uint8Array | undefined }
  | { refused: { status: number; body: string } }
  | { dropped: string };

/**
 * Reads one request head from `socket` (flowing): at most `maxSize` bytes, within `timeout` ms.
 * Resolves with the parsed head and whatever followed it (undefined when nothing did; the socket
 * is then paused, and the listeners of this function, left on it, do nothing more); with a
 * refusal (431 when the head is too large, 400 when it cannot be parsed) for the caller to
 * answer; or with `dropped` when the connection closed or the deadline passed (the socket is
 * then destroyed).
 *
 * The listeners stay because removing the only listener of an event makes Node's event table
 * of the socket a dictionary (Deno's `node:events` deletes the entry), which an upgraded
 * connection would then carry for its whole life: 450 bytes per idle WebSocket session. They are
 * shared by every socket; the socket's next owner adds its own and then removes these
 * ({@link releaseHeadListeners}), which leaves each event with its one listener and the table as
 * it was.
 */
export function readRequestHead(
  socket: net.Socket,
  maxSize = MAX_UPGRADE_HEAD,
  timeout = DEFAULT_HANDSHAKE_TIMEOUT,
): Promise<HeadResult> {
  const reading = socket as ReadingSocket;
  if (reading[HEAD]) {
    return Promise.reject(new TypeError("A request head is already being read on this socket"));
  }
  return new Promise((resolve) => {
    const read: HeadRead = {
      received: new Uint8Array(0),
      maxSize,
      resolve,
      timer: setTimeout(headTimedOut, timeout, reading),
    };
    // A socket read before keeps the (inert) listeners of then, unless they were released:
    // adding them again would run them twice per chunk.
    const listening = HEAD in reading && reading[HEAD] !== null;
    reading[HEAD] = read;
    if (!listening) {
      socket.on("data", onHeadData);
      socket.on("close", onHeadClosed);
      socket.on("end", onHeadClosed);
    }
    socket.resume();
  });
}

// A request head being read, on its socket.
const HEAD = Symbol("lime.requestHead");
interface HeadRead {
  received: Uint8Array;
  readonly maxSize: number;
  readonly resolve: (result: HeadResult) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}
// undefined once read (its listeners still on the socket), null once they were released.
type ReadingSocket = net.Socket & { [HEAD]?: HeadRead | null };

/**
 * Removes what {@link readRequestHead} left on `socket`: called by its next owner once it has
 * added its own `data`, `close` and `end` listeners (so that no event loses its last listener),
 * and `error` listener (this also removes {@link ignoreError}). Throws while a head is still
 * being read there.
 */
export function releaseHeadListeners(socket: net.Socket): void {
  const reading = socket as ReadingSocket;
  if (!(HEAD in reading) || reading[HEAD] === null) return;
  if (reading[HEAD]) throw new TypeError("The request head is still being read on this socket");
  reading[HEAD] = null;
  socket.off("data", onHeadData);
  socket.off("close", onHeadClosed);
  socket.off("end", onHeadClosed);
  socket.off("error", ignoreError);
}

/** The error listener of a socket between owners (one for all): the next owner reports them. */
export function ignoreError(): void {}

function headDone(socket: ReadingSocket, result: HeadResult): void {
  const read = socket[HEAD]!;
  socket[HEAD] = undefined;
  clearTimeout(read.timer);
  socket.pause();
  if ("dropped" in result) socket.destroy();
  read.resolve(result);
}

function headTimedOut(socket: ReadingSocket): void {
  if (socket[HEAD]) headDone(socket, { dropped: "the request head took too long" });
}

function onHeadClosed(this: ReadingSocket): void {
  if (this[HEAD]) headDone(this, { dropped: "the connection closed" });
}

function onHeadData(this: ReadingSocket, chunk: Uint8Array): void {
  const read = this[HEAD];
  if (!read) return;
  const { received: before, maxSize } = read;
  const from = Math.max(0, before.length - 3);
  const received = new Uint8Array(before.length + chunk.length);
  received.set(before);
  received.set(chunk, before.length);
  read.received = received;
  // Not the start of a request line (a method in capitals): say so at once, as HTTP, so a
  // client that is not HTTP (a LIME TCP client sent here by mistake) learns where it is.
  if (received.length > 0 && !(received[0] >= 0x41 && received[0] <= 0x5a)) {
    return headDone(this, {
      refused: {
        status: 400,
        body: "This port speaks HTTP (LIME over WebSocket), not LIME over TCP",
      },
    });
  }
  const end = indexOfBlankLine(received, from);
  if (end === -1) {
    if (received.length > maxSize) {
      headDone(this, {
        refused: { status: 431, body: `The request head is over ${maxSize} bytes` },
      });
    }
    return;
  }
  if (end > maxSize) {
    return headDone(this, {
      refused: { status: 431, body: `The request head is over ${maxSize} bytes` },
    });
  }
  const head = parseRequestHead(latin1(received.subarray(0, end)));
  if (!head) return headDone(this, { refused: { status: 400, body: "Malformed HTTP request" } });
  const rest = received.length > end + 4 ? received.slice(end + 4) : undefined;
  headDone(this, { head, rest });
}

/** Parses a request head (without its blank line); undefined when it is not HTTP/1.x. */
export function parseRequestHead(text: string): RequestHead | undefined {
  const lines = text.split("\r\n");
  const match = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]);
  if (!match) return undefined;
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    try {
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    } catch {
      return undefined; // a name or value no header can have
    }
  }
  const target = match[2];
  let pathname: string;
  try {
    pathname = new URL(target, "http://host").pathname;
  } catch {
    return undefined;
  }
  return { method: match[1], pathname, version: match[3], headers };
}

/**
 * Why a request whose `Upgrade` and subprotocol are right still cannot be a WebSocket handshake
 * (RFC 6455 §4.2.1), or undefined when it can.
 */
export function handshakeProblem(head: RequestHead): string | undefined {
  const problem = (what: string) => `Cannot upgrade to WebSocket: ${what}`;
  if (head.method !== "GET") return problem(`the method must be GET, not ${head.method}`);
  if (head.version !== "HTTP/1.1") return problem("the request must be HTTP/1.1");
  const connection = (head.headers.get("connection") ?? "").toLowerCase().split(",");
  if (!connection.some((token) => token.trim() === "upgrade")) {
    return problem("the Connection header must include Upgrade");
  }
  if (head.headers.get("sec-websocket-version") !== "13") {
    return problem("Sec-WebSocket-Version must be 13");
  }
  const key = head.headers.get("sec-websocket-key") ?? "";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return problem("Sec-WebSocket-Key must be 16 bytes in base64");
  }
  return undefined;
}

/** The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + WEBSOCKET_GUID).digest("base64");
}

/** The 101 answer that completes the handshake, selecting `protocol`. */
export function switchingProtocols(key: string, protocol: string): string {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`;
}

/** A complete plain-text HTTP answer that closes the connection. */
export function plainResponse(status: number, body: string): string {
  const text = `${body}\n`;
  const length = new TextEncoder().encode(text).length;
  const version = status === 400 ? "Sec-WebSocket-Version: 13\r\n" : "";
  return `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${length}\r\n${version}` +
    `Connection: close\r\n\r\n${text}`;
}

/** Where the blank line ending a head starts (`\r\n\r\n`), searching from `from`; -1 if none. */
function indexOfBlankLine(bytes: Uint8Array, from: number): number {
  for (
    let i = bytes.indexOf(13, from);
    i !== -1 && i + 3 < bytes.length;
    i = bytes.indexOf(13, i + 1)
  ) {
    if (bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

/** Bytes as ISO-8859-1 text (what HTTP header bytes are). */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}
