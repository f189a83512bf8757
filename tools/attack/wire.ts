/**
 * Wire-level pieces of the attacks: a guest handshake over a raw peer, a gzip bomb made without
 * compressing gigabytes, and a hand-made WebSocket upgrade with frames of any announced size.
 * @module
 */
import { Buffer } from "node:buffer";
import type net from "node:net";
import zlib from "node:zlib";
import { RawPeer } from "./raw_peer.ts";

/**
 * Opens a raw TCP peer from `local` and establishes `node` (no TLS, no gzip): as a guest, or
 * with `password` (plain; over loopback the server accepts it without TLS).
 */
export async function rawGuest(
  tcp: string,
  local: string,
  node: string,
  password?: string,
): Promise<RawPeer> {
  const peer = await RawPeer.connect(tcp, local);
  peer.write('{"state":"new"}');
  const offer = await peer.next();
  if (offer === "closed" || offer.state !== "negotiating") {
    await peer.close();
    throw new Error(`no negotiation offer: ${JSON.stringify(offer)}`);
  }
  peer.write(
    JSON.stringify({ state: "negotiating", id: offer.id, compression: "none", encryption: "none" }),
  );
  await peer.next(); // the confirmation
  await peer.next(); // the scheme offer
  peer.write(JSON.stringify({
    state: "authenticating",
    id: offer.id,
    from: node,
    ...(password === undefined
      ? { scheme: "guest", authentication: {} }
      : { scheme: "plain", authentication: { password: btoa(password) } }),
  }));
  const established = await peer.next();
  if (established === "closed" || established.state !== "established") {
    await peer.close();
    throw new Error(`not established: ${JSON.stringify(established)}`);
  }
  return peer;
}

/** A gzip stream cut at sync flushes: `head`, then `body` repeated as often as wanted. */
export interface GzipBomb {
  /** The gzip header and the first block. */
  head: Uint8Array;
  /** Every further block: once the window holds only the block's bytes, each compresses alike. */
  body: Uint8Array;
  /** Uncompressed bytes per block. */
  blockSize: number;
}

/** A gzip bomb of `byte` (default a space): about 1,000:1. */
export async function gzipBomb(byte = 0x20, blockSize = 1024 * 1024): Promise<GzipBomb> {
  const block = new Uint8Array(blockSize).fill(byte);
  const gzip = zlib.createGzip({ level: 9 });
  const flushed = async (): Promise<Uint8Array> => {
    const chunks: Uint8Array[] = [];
    const onData = (chunk: Uint8Array) => chunks.push(chunk);
    gzip.on("data", onData);
    gzip.write(block);
    await new Promise<void>((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    gzip.off("data", onData);
    return new Uint8Array(Buffer.concat(chunks));
  };
  const head = await flushed();
  const body = await flushed();
  const again = await flushed();
  gzip.destroy();
  if (Buffer.compare(body, again) !== 0) throw new Error("the gzip blocks do not repeat");
  return { head, body, blockSize };
}

/** Writes `bytes`, waiting for the socket to drain; false once the socket is gone. */
export function writeDrained(socket: net.Socket, bytes: Uint8Array | string): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    if (socket.write(bytes)) return resolve(true);
    const done = (ok: boolean) => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}

/** The HTTP request of a WebSocket upgrade asking for `lime`. */
export function upgradeRequest(host: string): string {
  return `GET / HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
    "Sec-WebSocket-Protocol: lime\r\n\r\n";
}

/** The header of a masked client text frame announcing `length` payload bytes (mask 0). */
export function frameHeader(length: number): Uint8Array {
  const header = new Uint8Array(14);
  header[0] = 0x81; // FIN, text
  header[1] = 0x80 | 127;
  new DataView(header.buffer).setBigUint64(2, BigInt(length));
  // Mask key 0,0,0,0: the payload goes as is.
  return header;
}
