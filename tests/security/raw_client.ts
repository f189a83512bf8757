/**
 * A LIME client spoken by hand, for the attacks a well-behaved client cannot perform: over TCP
 * (optionally reading the server's gzip stream after the negotiation confirmation) or over a
 * WebSocket framed by hand on a plain TCP connection; it can stop reading its socket at any
 * moment. Also a bystander's `/ping` loop that measures latency while an attack runs.
 * @module
 */
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { type ClientChannel, Command } from "../../mod.ts";
import { EnvelopeFramer } from "../../src/transport/framing.ts";
import { within } from "../tcp_helpers.ts";

/** A received envelope, as parsed JSON. */
export type Wire = Record<string, unknown>;
/** What {@link RawClient.next} gives once the server has closed the connection. */
export const CLOSED = "closed";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw client connection to a LimeServer. */
export class RawClient {
  readonly #conn: Deno.Conn;
  readonly #ws: boolean;
  readonly #items: (Wire | typeof CLOSED)[] = [];
  #waiter: (() => void) | undefined;
  #framer = new EnvelopeFramer({ maxEnvelopeSize: 1 << 26 });
  #gunzip: zlib.Gunzip | undefined;
  #gate: PromiseWithResolvers<void> | undefined;
  #frames: Uint8Array<ArrayBuffer> = new Uint8Array(0); // WebSocket bytes not parsed yet
  #discarding = false;
  readonly #reading: Promise<void>;
  /** Session id the server gave. */
  sid = "";

  private constructor(conn: Deno.Conn, ws: boolean, pending: Uint8Array) {
    this.#conn = conn;
    this.#ws = ws;
    this.#reading = this.#readLoop(pending);
  }

  /** Connects over TCP to `address` (`host:port`). */
  static async tcp(address: string): Promise<RawClient> {
    const [hostname, port] = address.split(":");
    return new RawClient(
      await Deno.connect({ hostname, port: Number(port) }),
      false,
      new Uint8Array(),
    );
  }

  /** Connects over a hand-made WebSocket (subprotocol `lime`) to `address` (`host:port`). */
  static async ws(address: string): Promise<RawClient> {
    const [hostname, port] = address.split(":");
    const conn = await Deno.connect({ hostname, port: Number(port) });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeFully(
      conn,
      encoder.encode(
        `GET / HTTP/1.1\r\nHost: ${address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: lime\r\n\r\n`,
      ),
    );
    // The response headers; frames may follow them in the same read.
    let head: Uint8Array<ArrayBuffer> = new Uint8Array(0);
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer);
      assert.notEqual(n, null, "the server closed during the WebSocket upgrade");
      head = concat(head, buffer.subarray(0, n!));
      const end = decoder.decode(head).indexOf("\r\n\r\n");
      if (end === -1) continue;
      assert.match(decoder.decode(head.subarray(0, end)), /^HTTP\/1.1 101/);
      return new RawClient(conn, true, head.slice(end + 4));
    }
  }

  /** The TCP connection (for raw writes). */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  /** Sends one envelope (an object or its JSON text): as bytes, or as one masked text frame. */
  send(envelope: Wire | string): Promise<void> {
    const text = typeof envelope === "string" ? envelope : JSON.stringify(envelope);
    const bytes = encoder.encode(text);
    return writeFully(this.#conn, this.#ws ? maskedFrame(bytes) : bytes);
  }

  /** Writes raw bytes (TCP); rejects once the server has closed. */
  write(bytes: Uint8Array): Promise<void> {
    return writeFully(this.#conn, bytes);
  }

  /** The next envelope from the server, or {@link CLOSED}; rejects after `ms`. */
  async next(ms = 5000): Promise<Wire | typeof CLOSED> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        if (item === CLOSED) this.#items.unshift(CLOSED);
        return item;
      }
      await within(new Promise<void>((resolve) => this.#waiter = resolve), ms, "a reply");
    }
  }

  /** Reads until the server sends `failed` or closes; returns that envelope or {@link CLOSED}. */
  async untilFailedOrClosed(ms: number): Promise<Wire | typeof CLOSED> {
    const deadline = performance.now() + ms;
    for (;;) {
      const item = await this.next(Math.max(1, deadline - performance.now()));
      if (item === CLOSED || item.state === "failed") return item;
    }
  }

  /** Stops taking bytes from the socket: the server's writes back up. */
  stopReading(): void {
    this.#gate ??= Promise.withResolvers();
  }

  /** Takes bytes from the socket again. */
  resumeReading(): void {
    this.#gate?.resolve();
  }

  /** Reads and drops everything until the server has closed; rejects after `ms`. */
  async untilClosed(ms: number): Promise<typeof CLOSED> {
    this.#discarding = true;
    this.#items.length = 0;
    return await this.next(ms) as typeof CLOSED;
  }

  /** Runs the guest establishment by hand (no TLS, no gzip) as `node` (`name@domain/instance`). */
  async guest(node: string): Promise<void> {
    await this.send({ id: "c1", state: "new" });
    let offer = await this.#expect("the first reply");
    this.sid = offer.id as string;
    if (offer.state === "negotiating") {
      await this.send({
        id: this.sid,
        state: "negotiating",
        compression: "none",
        encryption: "none",
      });
      assert.equal((await this.#expect("the confirmation")).state, "negotiating");
      offer = await this.#expect("the scheme offer");
    }
    assert.equal(offer.state, "authenticating");
    await this.send({
      id: this.sid,
      state: "authenticating",
      from: node,
      scheme: "guest",
      authentication: {},
    });
    const established = await this.#expect("established");
    assert.equal(established.state, "established", JSON.stringify(established));
    assert.equal(established.to, node);
  }

  /** Negotiates gzip (TCP, before authentication); the server's replies are read through gunzip. */
  async negotiateGzip(): Promise<void> {
    await this.send({ id: "c1", state: "new" });
    const offer = await this.#expect("the negotiation offer");
    this.sid = offer.id as string;
    assert.deepEqual(offer.compressionOptions, ["none", "gzip"]);
    await this.send({
      id: this.sid,
      state: "negotiating",
      compression: "gzip",
      encryption: "none",
    });
    const confirmation = await this.#expect("the confirmation");
    assert.equal(confirmation.compression, "gzip");
    const schemes = await this.#expect("the scheme offer (gzip)");
    assert.equal(schemes.state, "authenticating");
  }

  /** Closes the connection and waits for the reader to stop. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
    this.#gate?.resolve();
    this.#gunzip?.destroy();
    await this.#reading;
  }

  async #expect(what: string): Promise<Wire> {
    const item = await this.next();
    assert.notEqual(item, CLOSED, `the server closed instead of sending ${what}`);
    return item as Wire;
  }

  #push(item: Wire | typeof CLOSED): void {
    if (this.#discarding && item !== CLOSED) return;
    this.#items.push(item);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Frames application bytes; after a gzip confirmation, the rest goes through gunzip. */
  #application(bytes: Uint8Array): void {
    if (this.#gunzip) {
      this.#gunzip.write(bytes);
      return;
    }
    const used = this.#framer.push(bytes, (frame) => {
      const envelope = JSON.parse(decoder.decode(frame)) as Wire;
      this.#push(envelope);
      const confirmsGzip = envelope.state === "negotiating" && envelope.compression === "gzip" &&
        envelope.compressionOptions === undefined;
      if (!confirmsGzip) return true;
      const framer = new EnvelopeFramer({ maxEnvelopeSize: 1 << 26 });
      this.#gunzip = zlib.createGunzip();
      this.#gunzip.on(
        "data",
        (chunk: Uint8Array) =>
          framer.push(chunk, (frame) => this.#push(JSON.parse(decoder.decode(frame)))),
      );
      this.#gunzip.on("error", () => {}); // a cut stream ends with the connection
      return false;
    });
    if (used < bytes.length) this.#gunzip!.write(bytes.slice(used));
  }

  /** Unwraps the server's WebSocket frames (unmasked) into application bytes. */
  #websocket(bytes: Uint8Array): void {
    this.#frames = concat(this.#frames, bytes);
    for (;;) {
      const frame = parseFrame(this.#frames);
      if (!frame) return;
      this.#frames = this.#frames.slice(frame.size);
      if (frame.opcode === 1 || frame.opcode === 2) this.#application(frame.payload);
      if (frame.opcode === 8) {
        // The server's close: answer it (as any client does), so that it can hang up.
        writeFully(this.#conn, maskedFrame(frame.payload, 0x88)).catch(() => {});
      }
    }
  }

  async #readLoop(pending: Uint8Array): Promise<void> {
    const onBytes = (bytes: Uint8Array) =>
      this.#ws ? this.#websocket(bytes) : this.#application(bytes);
    if (pending.length) onBytes(pending);
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const gate = this.#gate;
        if (gate) {
          await gate.promise;
          if (this.#gate === gate) this.#gate = undefined;
        }
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        onBytes(buffer.slice(0, n));
      }
    } catch {
      // Reset by the server, or closed here.
    }
    // Let gunzip hand over what it has before the end is reported.
    await new Promise((resolve) => setTimeout(resolve, 10));
    this.#push(CLOSED);
  }
}

/** A bystander's `/ping` loop: one request at a time, every `interval` ms. */
export function pingLoop(client: ClientChannel, interval = 10) {
  let running = true;
  const latencies: number[] = [];
  // Settles either way (a test that fails early never calls stop): stop() reports the failure.
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const started = performance.now();
      await within(client.processCommand(new Command("get", "/ping", { id: `ping-${i}` })), 5000);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  })().then(() => undefined, (error: unknown) => ({ error }));
  return {
    /** Stops; resolves with the latencies (rejects if a ping failed). */
    async stop(): Promise<number[]> {
      running = false;
      const failure = await loop;
      if (failure) throw failure.error;
      return latencies;
    },
  };
}

/** The 99th percentile of `values`. */
export function p99(values: number[]): number {
  return percentile(values, 0.99);
}

/** The `q` quantile of `values` (0.95: the 95th percentile), by nearest rank. */
export function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

async function writeFully(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A masked client frame: text, unless `first` (FIN and opcode) says otherwise. */
function maskedFrame(payload: Uint8Array, first = 0x81): Uint8Array {
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const length = payload.length;
  const header = length < 126
    ? [first, 0x80 | length]
    : length < 65536
    ? [first, 0x80 | 126, length >> 8, length & 0xff]
    : [
      first,
      0x80 | 127,
      0,
      0,
      0,
      0,
      length >>> 24,
      (length >> 16) & 0xff,
      (length >> 8) & 0xff,
      length & 0xff,
    ];
  const out = new Uint8Array(header.length + 4 + length);
  out.set(header);
  out.set(mask, header.length);
  for (let i = 0; i < length; i++) out[header.length + 4 + i] = payload[i] ^ mask[i % 4];
  return out;
}

/** One server frame at the start of `bytes`, when complete. */
function parseFrame(bytes: Uint8Array) {
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
  if (bytes.length < offset + length) return undefined;
  return {
    opcode: bytes[0] & 0x0f,
    payload: bytes.slice(offset, offset + length),
    size: offset + length,
  };
}
