/**
 * The raw TCP load generator's client, shared by `server_load.ts` and `cluster_load.ts`: a LIME
 * client on a bare TCP connection that establishes a guest session with the proper handshake,
 * then only writes pre-serialized envelope bytes and counts the JSON objects it receives, so
 * that the generator is not the bottleneck.
 * @module
 */
import { EnvelopeFramer } from "../src/transport/framing.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Counts the top-level JSON objects in a byte stream (brace counting that skips strings). */
export class ObjectCounter {
  #depth = 0;
  #inString = false;
  #escaped = false;

  count(chunk: Uint8Array): number {
    let objects = 0;
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === 0x5c) escaped = true;
        else if (byte === 0x22) inString = false;
      } else if (byte === 0x22) inString = true;
      else if (byte === 0x7b) depth++;
      else if (byte === 0x7d && --depth === 0) objects++;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    return objects;
  }
}

export type Json = Record<string, unknown>;

/**
 * The guest handshake of a raw client (lime-protocol §4): `new`; on `negotiating` with options,
 * chooses `none`/`none`; on `authenticating`, sends guest credentials from `node`; resolves with
 * the session id once `established`.
 */
export async function rawHandshake(
  send: (text: string) => unknown,
  next: () => Promise<Json>,
  node: string,
): Promise<string> {
  await send(`{"state":"new"}`);
  for (;;) {
    const envelope = await next();
    const id = envelope.id as string;
    switch (envelope.state) {
      case "negotiating":
        if (envelope.compressionOptions || envelope.encryptionOptions) {
          await send(
            JSON.stringify({ id, state: "negotiating", compression: "none", encryption: "none" }),
          );
        }
        break; // else the confirmation: `authenticating` follows
      case "authenticating":
        await send(JSON.stringify({ id, from: node, state: "authenticating", scheme: "guest" }));
        break;
      case "established":
        return id;
      default:
        throw new Error(
          `${node}: unexpected envelope in the handshake ${JSON.stringify(envelope)}`,
        );
    }
  }
}

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** A minimal LIME client on a bare TCP connection: handshake, then raw bytes. */
export class RawTcpClient {
  readonly conn: Deno.TcpConn;
  sessionId = "";
  /** Objects that arrived with the last handshake frame (counted by the caller). */
  extra = 0;
  #queue: string[] = [];
  // One framer for the handshake: an envelope split across reads is joined, whichever call of
  // `#next` reads its end (a framer per call would drop the start of one that arrived with the
  // previous envelope). One buffer too: a login makes five reads.
  #framer: EnvelopeFramer | undefined = new EnvelopeFramer();
  #buffer: Uint8Array | undefined = new Uint8Array(4096);
  readonly #onFrame = (frame: Uint8Array) => this.#queue.push(decoder.decode(frame));

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async establish(address: string, node: string): Promise<RawTcpClient> {
    const colon = address.lastIndexOf(":");
    const conn = await Deno.connect({
      hostname: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
    });
    // Like the server and TcpTransport: no Nagle (it would hold a write back until the peer's
    // delayed ACK, 40 ms, as the server never writes back on a sender's connection).
    conn.setNoDelay(true);
    const client = new RawTcpClient(conn);
    try {
      client.sessionId = await rawHandshake(
        (text) => writeAll(conn, encoder.encode(text)),
        () => client.#next(),
        node,
      );
    } catch (error) {
      conn.close();
      throw error;
    }
    client.extra = client.#queue.length;
    client.#queue = [];
    client.#framer = client.#buffer = undefined; // the caller reads the connection from now on
    return client;
  }

  async #next(): Promise<Json> {
    const framer = this.#framer ??= new EnvelopeFramer();
    const buffer = this.#buffer ??= new Uint8Array(4096);
    while (this.#queue.length === 0) {
      const n = await this.conn.read(buffer);
      if (n === null) throw new Error("the server closed the connection during the handshake");
      framer.push(buffer.subarray(0, n), this.#onFrame);
    }
    return JSON.parse(this.#queue.shift()!);
  }

  /** Sends `finishing`, waits for `finished` (or the end of the connection), closes. */
  async finish(): Promise<void> {
    try {
      await writeAll(
        this.conn,
        encoder.encode(JSON.stringify({ id: this.sessionId, state: "finishing" })),
      );
      for (;;) {
        const envelope = await this.#next();
        if (envelope.state === "finished" || envelope.state === "failed") break;
      }
    } catch { /* the server closed first */ }
    this.close();
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
