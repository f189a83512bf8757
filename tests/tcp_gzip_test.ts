import assert from "node:assert/strict";
import zlib from "node:zlib";
import { Buffer } from "node:buffer";
import { Message, Session } from "../src/envelope.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import {
  TcpTransportListener,
  type TcpTransportListenerOptions,
} from "../src/transport/tcp_listener.ts";
import {
  connectPair,
  inbox,
  indexOfBytes,
  negotiate,
  type Pair,
  readUntil,
  within,
  writeAll,
} from "./tcp_helpers.ts";
import { tlsFixture } from "./tls_fixture.ts";

const text = (content: string) => new Message("text/plain", content);
const encode = (s: string) => new TextEncoder().encode(s);
/** The server sends one `negotiating` session: the confirmation. */
const CONFIRMATION = encode('"negotiating"');

/** Where the server's confirmation ends in what it sent. */
function afterConfirmation(wire: Uint8Array): number {
  const at = indexOfBytes(wire, CONFIRMATION);
  assert.notEqual(at, -1);
  return wire.indexOf(0x7d, at) + 1;
}

async function tlsGzipPair(proxied = false): Promise<Pair> {
  const f = await tlsFixture();
  return connectPair(
    { tls: { cert: f.server.cert, key: f.server.key } },
    { tls: { caCerts: [f.ca] } },
    { proxied },
  );
}

/** A gzip stream, sync-flushed after every part. */
async function gzipParts(parts: Uint8Array[]): Promise<Uint8Array> {
  const gzip = zlib.createGzip();
  const chunks: Uint8Array[] = [];
  gzip.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  for (const part of parts) {
    gzip.write(part);
    await new Promise<void>((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, resolve));
  }
  gzip.destroy();
  return Buffer.concat(chunks);
}

Deno.test("TcpTransport gzip: each envelope arrives before the next is sent, both ways", async () => {
  await using pair = await connectPair({}, {}, { proxied: true });
  await negotiate(pair, { compression: "gzip" });
  assert.equal(pair.client.compression, "gzip");
  assert.equal(pair.server.compression, "gzip");
  const marker = "compressible-marker ".repeat(50);
  for (let i = 0; i < 5; i++) {
    await pair.client.send(text(`${i} ${marker}`));
    assert.equal((await pair.fromClient() as Message).content, `${i} ${marker}`);
    await pair.server.send(text(`${i} reply ${marker}`));
    assert.equal((await pair.fromServer() as Message).content, `${i} reply ${marker}`);
  }
  await pair.client.close();
  await pair.proxy![Symbol.asyncDispose]();
  for (const wire of [pair.proxy!.clientBytes(), pair.proxy!.serverBytes()]) {
    assert.equal(indexOfBytes(wire, encode("compressible-marker")), -1, "sent in clear");
  }
  // The server's bytes: the confirmation in clear, then at once the gzip stream.
  const server = pair.proxy!.serverBytes();
  const end = afterConfirmation(server);
  assert.deepEqual([...server.subarray(end, end + 2)], [0x1f, 0x8b]);
  assert.ok(server.length - end < 5 * 1000, `compressed: ${server.length - end} bytes`);
});

Deno.test("TcpTransport gzip inside TLS, switched in either call order", async () => {
  await using pair = await tlsGzipPair(true);
  const { client, server } = pair;
  await client.send(
    new Session("negotiating", { id: "s1", compression: "gzip", encryption: "tls" }),
  );
  await pair.fromClient();
  await server.send(
    new Session("negotiating", { id: "s1", compression: "gzip", encryption: "tls" }),
  );
  await Promise.all([
    (async () => {
      await pair.fromServer();
      await client.setCompression("gzip"); // applies TLS first, then gzip
      assert.equal(client.encryption, "tls");
      await client.setEncryption("tls"); // nothing left to do
    })(),
    (async () => {
      await server.setEncryption("tls");
      await server.setCompression("gzip");
    })(),
  ]);
  for (const transport of [client, server]) {
    assert.equal(transport.compression, "gzip");
    assert.equal(transport.encryption, "tls");
  }
  await client.send(text("hidden-marker"));
  assert.equal((await pair.fromClient() as Message).content, "hidden-marker");
  await server.send(text("hidden-marker back"));
  assert.equal((await pair.fromServer() as Message).content, "hidden-marker back");
  await client.close();
  await pair.proxy![Symbol.asyncDispose]();
  const wire = pair.proxy!.serverBytes();
  const end = afterConfirmation(wire);
  assert.equal(wire[end], 0x16, "a TLS record follows the confirmation, not gzip");
  assert.equal(indexOfBytes(pair.proxy!.clientBytes(), encode("hidden-marker")), -1);
});

Deno.test("TcpTransport carries a 1 MiB envelope both ways over TLS and gzip", async () => {
  await using pair = await tlsGzipPair();
  await negotiate(pair, { compression: "gzip", encryption: "tls" });
  const random = new Uint8Array(768 * 1024);
  for (let i = 0; i < random.length; i += 65536) {
    crypto.getRandomValues(random.subarray(i, i + 65536));
  }
  const big = Buffer.from(random).toString("base64");
  assert.equal(big.length, 1024 * 1024);
  await pair.client.send(text(big));
  const received = await pair.fromClient() as Message;
  assert.equal(received.content, big);
  await pair.server.send(received);
  assert.equal((await pair.fromServer() as Message).content, big);
});

Deno.test("TcpTransport server holds envelopes sent right after the confirmation for the switch", async () => {
  await using pair = await tlsGzipPair(true);
  const { client, server } = pair;
  const modes = { compression: "gzip", encryption: "tls" } as const;
  await client.send(new Session("negotiating", { id: "s1", ...modes }));
  await pair.fromClient();
  // Not awaited, in the order a hasty server might do it.
  const confirming = server.send(new Session("negotiating", { id: "s1", ...modes }));
  const next = server.send(new Session("authenticating", { id: "s1", schemeOptions: ["guest"] }));
  const switching = server.setEncryption("tls");
  await confirming;
  await pair.fromServer();
  await client.setEncryption("tls");
  await switching;
  await next;
  assert.equal((await pair.fromServer() as Session).state, "authenticating");
  await client.close();
  await pair.proxy![Symbol.asyncDispose]();
  assert.equal(indexOfBytes(pair.proxy!.serverBytes(), encode("authenticating")), -1);
});

Deno.test("TcpTransport client keeps gzip bytes that arrive with the confirmation", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = new TcpTransport();
  await client.open(`net.tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  const conn = await listener.accept();
  listener.close();
  const compressed = await gzipParts([
    encode('{"id":"s1","state":"authenticating","schemeOptions":["guest"]}'),
    encode('{"id":"m","type":"text/plain","content":"second"}'),
  ]);
  const confirmation = encode(
    '{"id":"s1","state":"negotiating","encryption":"none","compression":"gzip"}',
  );
  await writeAll(conn, new Uint8Array([...confirmation, ...compressed])); // one write, one segment
  const receive = inbox(client);
  assert.equal((await receive() as Session).compression, "gzip");
  await client.setCompression("gzip");
  assert.equal((await receive() as Session).state, "authenticating");
  assert.equal((await receive() as Message).content, "second");
  await client.close();
  await readUntil(conn, () => false);
  conn.close();
});

async function gzipServer(options: TcpTransportListenerOptions = {}) {
  const listener = new TcpTransportListener({ ...options, port: 0 });
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
  return { listener, conn, server };
}

Deno.test("TcpTransport closes with framing when gzip expands past the envelope size (zip bomb)", async () => {
  // 256 MiB of one string inside an object: about 250 KiB compressed.
  const block = encode("a".repeat(1024 * 1024));
  const bomb = await gzipParts([encode('{"a":"'), ...Array(256).fill(block)]);
  assert.ok(bomb.length < 1024 * 1024, `${bomb.length} bytes compressed`);
  // The inflation ratio (tests/tcp_gzip_budget_test.ts) would stop this bomb first: off here.
  const { listener, conn, server } = await gzipServer({
    maxEnvelopeSize: 1024 * 1024,
    maxInflationRatio: 0,
  });
  const before = Deno.memoryUsage().rss;
  const sending = writeAll(conn, bomb).catch(() => {}); // the server may close first
  const info = await within(server.closed, 20000);
  assert.equal(info.error?.code, "framing");
  assert.match(info.error!.message, /larger than the maximum/);
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(grown < 64 * 1024 * 1024, `memory grew by ${grown} bytes`);
  await sending;
  conn.close();
  await listener.close();
});

Deno.test("TcpTransport closes with framing on corrupt gzip data", async () => {
  const { listener, conn, server } = await gzipServer();
  await writeAll(conn, encode("this is not gzip at all"));
  const info = await within(server.closed);
  assert.equal(info.error?.code, "framing");
  assert.match(info.error!.message, /decompress/);
  await readUntil(conn, () => false);
  conn.close();
  await listener.close();
});
