/**
 * The inflation budget of the TCP transport's gzip reader: every inflated byte (whitespace
 * between envelopes too) counts against `maxInflatedBytesPerSecond` and `maxInflationRatio`;
 * passing either closes with `framing`; the decompressor lets the event loop run between slices
 * of output; ordinary gzip traffic is untouched.
 */
import assert from "node:assert/strict";
import { Message, Session } from "../src/envelope.ts";
import type { TcpTransport } from "../src/transport/tcp.ts";
import {
  TcpTransportListener,
  type TcpTransportListenerOptions,
} from "../src/transport/tcp_listener.ts";
import { assemble, repeatedGzip, writeRepeated } from "./gzip_helpers.ts";
import { connectPair, inbox, negotiate, within, writeAll } from "./tcp_helpers.ts";

const MiB = 1024 * 1024;
const SPACES = new Uint8Array(MiB).fill(0x20);
const encode = (text: string) => new TextEncoder().encode(text);

/** A server-side transport that switched to gzip, and the raw connection of its peer. */
async function gzipServer(options: TcpTransportListenerOptions = {}) {
  const listener = new TcpTransportListener({ port: 0, ...options });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const [hostname, port] = listener.address!.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const server: TcpTransport = (await within(accepted)).value!;
  await writeAll(
    conn,
    encode('{"id":"s1","state":"negotiating","encryption":"none","compression":"gzip"}'),
  );
  await inbox(server)();
  await server.send(
    new Session("negotiating", { id: "s1", compression: "gzip", encryption: "none" }),
  );
  await server.setCompression("gzip");
  return {
    server,
    conn,
    async [Symbol.asyncDispose]() {
      conn.close();
      await listener.close({ closeTransports: true });
    },
  };
}

Deno.test("TcpTransport gzip: a whitespace bomb fails with framing at maxInflationRatio", async () => {
  await using peer = await gzipServer();
  const bomb = await repeatedGzip(SPACES); // 2 GiB of spaces in about 2 MiB
  const before = Deno.memoryUsage().rss;
  const started = performance.now();
  const sending = writeRepeated(peer.conn, bomb, 2048);
  const info = await within(peer.server.closed, 5000, "the transport failing");
  const elapsed = performance.now() - started;
  assert.equal(info.error?.code, "framing");
  assert.match(info.error!.message, /over maxInflationRatio \(256:1\)$/);
  assert.ok(elapsed < 2000, `failed after ${elapsed} ms`);
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(grown < 32 * MiB, `memory grew by ${grown} bytes`);
  await sending;
});

Deno.test("TcpTransport gzip: whitespace counts against maxInflatedBytesPerSecond", async () => {
  await using peer = await gzipServer({ maxInflatedBytesPerSecond: 4 * MiB, maxInflationRatio: 0 });
  const sending = writeRepeated(peer.conn, await repeatedGzip(SPACES), 64);
  const info = await within(peer.server.closed, 5000, "the transport failing");
  assert.equal(info.error?.code, "framing");
  assert.equal(
    info.error!.message,
    `The gzip stream inflated to more than ${4 * MiB} bytes within one second ` +
      "(maxInflatedBytesPerSecond)",
  );
  await sending;
});

Deno.test("TcpTransport gzip: valid envelopes at an absurd ratio fail with framing", async () => {
  await using peer = await gzipServer();
  // One session envelope per 4 MiB, below the envelope cap, each inflating about 1,000:1.
  const envelope = '{"id":"s1","state":"authenticating","scheme":"guest","authentication":' +
    `{"pad":"${"a".repeat(4 * MiB - 100)}"}}`;
  const stream = await repeatedGzip(encode(envelope));
  const sending = writeRepeated(peer.conn, stream, 64);
  const info = await within(peer.server.closed, 5000, "the transport failing");
  assert.equal(info.error?.code, "framing");
  assert.match(
    info.error!.message,
    /^The gzip stream inflates \d+ bytes from \d+ within one second/,
  );
  await sending;
});

Deno.test("TcpTransport gzip: ordinary traffic stays within the default budget", async () => {
  await using pair = await connectPair();
  await negotiate(pair, { compression: "gzip" });
  // 8 MB of chat-like envelopes (about 15:1 compressed) as fast as they go.
  const count = 8000;
  const received = (async () => {
    let n = 0;
    for await (const _ of pair.server) if (++n === count) break;
    return n;
  })();
  for (let i = 0; i < count; i++) {
    await pair.client.send(
      new Message("text/plain", `message ${i}: ${"the quick brown fox jumps ".repeat(38)}`, {
        id: `m${i}`,
        to: "bob@localhost/phone",
      }),
    );
  }
  assert.equal(await within(received, 20000), count);
  assert.equal(pair.server.isConnected, true);
});

Deno.test("TcpTransport gzip: the decompressor lets timers run between slices", async () => {
  // No limits: 256 MiB of spaces inflate in full, then an envelope follows.
  await using peer = await gzipServer({ maxInflatedBytesPerSecond: 0, maxInflationRatio: 0 });
  const stream = await repeatedGzip(SPACES, { tail: '{"id":"after","state":"authenticating"}' });
  let longest = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    const started = performance.now();
    await writeAll(peer.conn, assemble(stream, 256));
    const after = await inbox(peer.server)(20000);
    assert.equal(after.id, "after");
    const elapsed = performance.now() - started;
    // Without yielding, one timer would wait the whole inflation; with it, about one 8 ms slice
    // (more on a machine busy with other processes, hence the bound relative to the whole).
    assert.ok(
      longest < Math.max(50, elapsed / 4),
      `a timer waited ${longest} ms (inflating took ${elapsed} ms)`,
    );
  } finally {
    clearInterval(ticker);
  }
});
