/**
 * gzip streams for the budget tests, made cheaply: a stream of one block repeated many times is
 * built from three compressions, because once the compressor's window holds only the block's
 * bytes, each further block (sync-flushed) compresses to the same bytes.
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import zlib from "node:zlib";

/** One gzip stream cut at sync flushes: `head`, `first`, then `body` repeated, then `tail`. */
export interface RepeatedGzip {
  /** The gzip header and the prefix. */
  head: Uint8Array;
  /** The first block. */
  first: Uint8Array;
  /** One more block; every repetition compresses to these bytes. */
  body: Uint8Array;
  /** What `tailText` compresses to after the blocks (empty without one). */
  tail: Uint8Array;
}

/** Text around the repeated blocks. */
export interface Around {
  /** Before the first block. */
  prefix?: string;
  /** After the last block. */
  tail?: string;
}

/**
 * A gzip stream of `block`, sync-flushed, whose every repetition after the first compresses to
 * the same `body` (checked), with an optional prefix and tail. Level 9: deflate's best, about
 * 1,012:1 for a block of one repeated byte.
 */
export async function repeatedGzip(block: Uint8Array, around: Around = {}): Promise<RepeatedGzip> {
  const gzip = zlib.createGzip({ level: 9 });
  const flushed = async (input: Uint8Array | string): Promise<Uint8Array> => {
    const chunks: Uint8Array[] = [];
    const onData = (chunk: Uint8Array) => chunks.push(chunk);
    gzip.on("data", onData);
    gzip.write(input);
    await new Promise<void>((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    gzip.off("data", onData);
    return Buffer.concat(chunks);
  };
  const head = await flushed(around.prefix ?? "");
  const first = await flushed(block);
  const body = await flushed(block);
  assert.deepEqual(await flushed(block), body, "a repeated block compresses to the same bytes");
  const tail = around.tail ? await flushed(around.tail) : new Uint8Array();
  gzip.destroy();
  return { head, first, body, tail };
}

/** The whole stream with `times` blocks, in one buffer (without the head when `head` is false). */
export function assemble(stream: RepeatedGzip, times: number, head = true): Uint8Array {
  const parts = [head ? stream.head : new Uint8Array(), stream.first];
  for (let i = 1; i < times; i++) parts.push(stream.body);
  parts.push(stream.tail);
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Writes the stream with `times` blocks to `conn` piece by piece (no 2 MiB buffer), without the
 * head when `head` is false (written before), stopping quietly when the peer closes.
 */
const batches = new WeakMap<RepeatedGzip, Uint8Array>();

/**
 * The 64 bodies {@link writeRepeated} writes at once (few system calls, little memory), made once
 * per stream: a test that measures latency meanwhile makes it before it starts measuring (the
 * copy takes this process, the server's too, tens of milliseconds).
 */
export function batchOf(stream: RepeatedGzip): Uint8Array {
  let batch = batches.get(stream);
  if (!batch) {
    const empty = new Uint8Array();
    batch = assemble({ head: empty, first: stream.body, body: stream.body, tail: empty }, 64);
    batches.set(stream, batch);
  }
  return batch;
}

export async function writeRepeated(
  conn: Deno.Conn,
  stream: RepeatedGzip,
  times: number,
  head = true,
): Promise<void> {
  const batch = batchOf(stream);
  try {
    if (head) await writeFully(conn, stream.head);
    await writeFully(conn, stream.first);
    let left = times - 1;
    while (left >= 64) {
      await writeFully(conn, batch);
      left -= 64;
    }
    for (; left > 0; left--) await writeFully(conn, stream.body);
    await writeFully(conn, stream.tail);
  } catch {
    // The peer closed the connection: what the test checks happened.
  }
}

async function writeFully(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}
