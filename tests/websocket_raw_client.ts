/**
 * A WebSocket client written by hand over `node:net`, for the frame tests: it completes (or
 * botches) the upgrade, writes any frame (masked or not, fragmented, with any announced length),
 * reads the server's frames and tells when the server closed the TCP connection.
 * @module
 */
import assert from "node:assert/strict";
import net from "node:net";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frame the server sent. */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** The upgrade request asking for `lime` (`extra` lines go before the blank line). */
export function upgradeRequest(host: string, extra = ""): string {
  return `GET / HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
    `Sec-WebSocket-Protocol: lime\r\n${extra}\r\n`;
}

/** A client frame: masked with `mask` (undefined: not masked), FIN unless told otherwise. */
export function clientFrame(
  opcode: number,
  payload: Uint8Array | string,
  options: { fin?: boolean; mask?: Uint8Array | null; length?: number; rsv?: number } = {},
): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  const mask = options.mask === undefined ? new Uint8Array([1, 2, 3, 4]) : options.mask;
  const length = options.length ?? bytes.length;
  const header: number[] = [((options.fin ?? true) ? 0x80 : 0) | (options.rsv ?? 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65536) header.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    header.push(maskBit | 127);
    const high = Math.floor(length / 2 ** 32);
    for (const word of [high, length >>> 0]) {
      header.push(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
    }
  }
  if (mask) header.push(...mask);
  const out = new Uint8Array(header.length + bytes.length);
  out.set(header);
  for (let i = 0; i < bytes.length; i++) {
    out[header.length + i] = mask ? bytes[i] ^ mask[i % 4] : bytes[i];
  }
  return out;
}

/** A raw client connection. */
export class RawWebSocket {
  readonly socket: net.Socket;
  /** The HTTP response head the server sent (with the body, for a refusal). */
  response = "";
  readonly #frames: (ServerFrame | "closed")[] = [];
  #buffer = new Uint8Array(0);
  #waiter: (() => void) | undefined;
  #inHead = true;
  #refused = false;
  /** Resolves when the TCP connection has closed, with `performance.now()` at that moment. */
  readonly closedAt: Promise<number>;
  /** Resolves when the server ended the connection (FIN, or a reset), with the moment. */
  readonly endedAt: Promise<number>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    this.closedAt = new Promise((resolve) =>
      socket.once("close", () => {
        this.#frames.push("closed");
        this.#wake();
        resolve(performance.now());
      })
    );
    this.endedAt = new Promise((resolve) => {
      const ended = () => resolve(performance.now());
      socket.once("end", ended);
      socket.once("close", ended);
    });
  }

  /**
   * Connects to `address` (`host:port`) and writes `request` (the upgrade) if given. With
   * `allowHalfOpen`, the client goes on writing after the server's FIN (a hostile peer).
   */
  static async connect(
    address: string,
    request?: string,
    allowHalfOpen = false,
  ): Promise<RawWebSocket> {
    const colon = address.lastIndexOf(":");
    const socket = net.connect({
      host: address.slice(0, colon),
      port: +address.slice(colon + 1),
      allowHalfOpen,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new RawWebSocket(socket);
    if (request !== undefined) socket.write(request);
    return client;
  }

  /** Connects and completes the upgrade (asserting a 101). */
  static async open(address: string, allowHalfOpen = false): Promise<RawWebSocket> {
    const client = await RawWebSocket.connect(address, upgradeRequest(address), allowHalfOpen);
    await client.untilResponse();
    assert.match(client.response, /^HTTP\/1\.1 101 /);
    return client;
  }

  /** Waits for the response head (or the close). */
  async untilResponse(ms = 3000): Promise<string> {
    const deadline = performance.now() + ms;
    while (this.#inHead && !this.socket.closed) await this.#wait(deadline);
    return this.response;
  }

  /** Writes bytes; resolves once the socket took them (false if it closed first). */
  write(bytes: Uint8Array | string): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve(false);
      this.socket.write(bytes, (error) => resolve(!error));
    });
  }

  /** The next frame from the server, or `"closed"`; rejects after `ms`. */
  async next(ms = 3000): Promise<ServerFrame | "closed"> {
    const deadline = performance.now() + ms;
    while (this.#frames.length === 0) await this.#wait(deadline);
    const frame = this.#frames[0];
    if (frame !== "closed") this.#frames.shift();
    return frame;
  }

  /** The next frame, which must be a close: its code and reason. */
  async nextClose(ms = 3000): Promise<{ code: number; reason: string }> {
    for (;;) {
      const frame = await this.next(ms);
      assert.notEqual(frame, "closed", "the server hung up without a close frame");
      const { opcode, payload } = frame as ServerFrame;
      if (opcode !== 8) continue;
      const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
      return { code, reason: decoder.decode(payload.subarray(2)) };
    }
  }

  /** Destroys the connection. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.closedAt;
  }

  async #wait(deadline: number): Promise<void> {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error("nothing arrived in time");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#waiter = resolve;
      timer = setTimeout(resolve, left);
    });
    clearTimeout(timer);
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  #onData(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
    if (this.#refused) {
      this.response = decoder.decode(this.#buffer); // a refusal: head and body are text
      return this.#wake();
    }
    if (this.#inHead) {
      const end = decoder.decode(this.#buffer).indexOf("\r\n\r\n");
      if (end === -1) return;
      this.#inHead = false;
      this.response = decoder.decode(this.#buffer);
      if (!this.response.startsWith("HTTP/1.1 101")) {
        this.#refused = true;
        return this.#wake();
      }
      this.response = this.response.slice(0, end + 4);
      this.#buffer = this.#buffer.slice(end + 4);
    }
    for (;;) {
      const frame = parseServerFrame(this.#buffer);
      if (!frame) break;
      this.#buffer = this.#buffer.slice(frame.size);
      this.#frames.push(frame.frame);
    }
    this.#wake();
  }
}

function parseServerFrame(bytes: Uint8Array) {
  if (bytes.length < 2) return undefined;
  let length = bytes[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = (bytes[2] << 8) | bytes[3];
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    length = Number(new DataView(bytes.buffer, bytes.byteOffset + 2, 8).getBigUint64(0));
    offset = 10;
  }
  assert.equal(bytes[1] & 0x80, 0, "server frames are not masked");
  if (bytes.length < offset + length) return undefined;
  return {
    frame: {
      fin: (bytes[0] & 0x80) !== 0,
      opcode: bytes[0] & 0x0f,
      payload: bytes.slice(offset, offset + length),
    },
    size: offset + length,
  };
}
