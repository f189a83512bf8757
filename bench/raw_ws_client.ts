/**
 * A raw WebSocket client on a bare TCP connection, for `server_load.ts`: does the HTTP upgrade
 * itself, then writes pre-built masked text frames (a window's worth per write, like the raw TCP
 * generator) and parses the server's frames only to count them, so that the generator is not the
 * limit (Deno's `WebSocket` client sends one frame per call and costs more than the server).
 * @module
 */
import { writeAll } from "./raw_tcp_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

/** One masked text frame (client → server) carrying `text`. */
export function maskedTextFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = new Uint8Array(header + 4 + length);
  frame[0] = 0x81;
  if (header === 2) frame[1] = 0x80 | length;
  else if (header === 4) {
    frame[1] = 0x80 | 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setUint32(6, length);
  }
  frame.set(MASK, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i] ^ MASK[i & 3];
  return frame;
}

/** Counts the frames of a server → client byte stream (unmasked), keeping the payloads if asked. */
export class FrameCounter {
  #header = new Uint8Array(10);
  #headerLength = 0;
  #remaining = 0;
  #payload: Uint8Array[] | undefined;
  /** Payloads of complete text frames, while `keep` is set. */
  readonly texts: string[] = [];
  keep = false;

  /** Consumes a chunk; returns how many text frames it completed. */
  count(chunk: Uint8Array): number {
    let frames = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - i);
        if (this.#payload) this.#payload.push(chunk.slice(i, i + take));
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) frames += this.#end();
        continue;
      }
      this.#header[this.#headerLength++] = chunk[i++];
      if (this.#headerLength < 2) continue;
      const short = this.#header[1] & 0x7f;
      const need = short < 126 ? 2 : short === 126 ? 4 : 10;
      if (this.#headerLength < need) continue;
      const length = short < 126
        ? short
        : short === 126
        ? (this.#header[2] << 8) | this.#header[3]
        : new DataView(this.#header.buffer).getUint32(6);
      this.#remaining = length;
      this.#payload = this.keep ? [] : undefined;
      if (length === 0) frames += this.#end();
    }
    return frames;
  }

  #end(): number {
    const opcode = this.#header[0] & 0x0f;
    this.#headerLength = 0;
    if (this.#payload) {
      const parts = this.#payload;
      this.#payload = undefined;
      let size = 0;
      for (const part of parts) size += part.length;
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const part of parts) {
        bytes.set(part, at);
        at += part.length;
      }
      if (opcode === 1) this.texts.push(decoder.decode(bytes));
    }
    return opcode === 1 ? 1 : 0;
  }
}

/** A raw WebSocket connection: the upgrade done, frames written and counted by the caller. */
export class RawWsConnection {
  readonly counter = new FrameCounter();
  /** Frames completed by the bytes that came with the upgrade response. */
  early = 0;

  private constructor(readonly conn: Deno.TcpConn) {}

  /** Connects to `host:port` and upgrades `path` with subprotocol `lime`. */
  static async open(address: string, path = "/"): Promise<RawWsConnection> {
    const colon = address.lastIndexOf(":");
    const conn = await Deno.connect({
      hostname: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
    });
    conn.setNoDelay(true);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${path} HTTP/1.1\r\nHost: ${address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: lime\r\n\r\n`,
      ),
    );
    const buffer = new Uint8Array(4096);
    let head = new Uint8Array(0);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`ws://${address}${path}: closed during the upgrade`);
      const next = new Uint8Array(head.length + n);
      next.set(head);
      next.set(buffer.subarray(0, n), head.length);
      head = next;
      const text = new TextDecoder("latin1").decode(head);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      if (!text.startsWith("HTTP/1.1 101")) {
        conn.close();
        throw new Error(`ws://${address}${path}: ${text.split("\r\n")[0]}`);
      }
      const connection = new RawWsConnection(conn);
      connection.counter.keep = true;
      connection.early = connection.counter.count(head.subarray(end + 4));
      return connection;
    }
  }

  /** The next text message's text (for a handshake; `counter.keep` must be set). */
  async next(): Promise<string> {
    const buffer = new Uint8Array(4096);
    while (this.counter.texts.length === 0) {
      const n = await this.conn.read(buffer);
      if (n === null) throw new Error("the server closed the connection");
      this.counter.count(buffer.subarray(0, n));
    }
    return this.counter.texts.shift()!;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
