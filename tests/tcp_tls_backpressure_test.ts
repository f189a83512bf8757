/**
 * Receive backpressure over TLS: a TCP transport whose receive buffer is full stops reading the
 * connection, so a peer writing faster than it is read is held back by TCP itself instead of
 * filling this side's memory. (Deno's TLS sockets keep reading while paused; the transport stops
 * the TCP handle under them, see `pauseWithConnection` in tcp_tls.ts.)
 */
import assert from "node:assert/strict";
import { Message } from "../src/envelope.ts";
import { serializeEnvelope } from "../src/codec.ts";
import type { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { connectPair, negotiate, within } from "./tcp_helpers.ts";
import { tlsFixture } from "./tls_fixture.ts";

const MiB = 1024 * 1024;
const COUNT = 8192; // envelopes of 4 KiB: 32 MiB
const envelope = (i: number) =>
  new Message("text/plain", `${i} ${"x".repeat(4000)}`, { id: `${i}` });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes `count` envelopes from `transport`, checking their order. */
async function drain(transport: TcpTransport, count: number): Promise<void> {
  let next = 0;
  for await (const received of transport) {
    assert.equal(received.id, `${next}`);
    if (++next === count) return;
  }
  assert.fail(`the transport ended after ${next} envelopes`);
}

Deno.test("TcpTransport server over TLS stops reading a fast writer while its buffer is full", async () => {
  const fixture = await tlsFixture();
  await using listener = new TcpTransportListener({
    port: 0,
    receiveBufferSize: 4,
    tls: { cert: fixture.server.cert, key: fixture.server.key },
  });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const [hostname, port] = listener.address!.split(":");
  const tcp = await Deno.connect({ hostname, port: Number(port) });
  const server = (await within(accepted)).value as TcpTransport;
  const switched = server.setEncryption("tls");
  const conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [fixture.ca] });
  await conn.handshake();
  await within(switched);
  let written = 0;
  const writing = (async () => {
    for (let i = 0; i < COUNT; i++) {
      const bytes = new TextEncoder().encode(serializeEnvelope(envelope(i)));
      for (let offset = 0; offset < bytes.length;) {
        offset += await conn.write(bytes.subarray(offset));
      }
      written += bytes.length;
    }
  })();
  await pause(1000); // nobody takes the envelopes meanwhile
  assert.ok(written < 16 * MiB, `the writer got ${written} bytes through to a paused reader`);
  await within(drain(server, COUNT), 20000, "taking every envelope once reading resumes");
  await writing;
  conn.close();
});

Deno.test("TcpTransport client over TLS stops reading a fast server while its buffer is full", async () => {
  const fixture = await tlsFixture();
  await using pair = await connectPair(
    { maxQueuedBytes: 0, tls: { cert: fixture.server.cert, key: fixture.server.key } },
    { receiveBufferSize: 4, tls: { caCerts: [fixture.ca] } },
  );
  await negotiate(pair, { encryption: "tls" });
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < COUNT; i++) {
      await pair.server.send(envelope(i));
      sent += 4000;
    }
  })();
  await pause(1000);
  assert.ok(sent < 16 * MiB, `the server got ${sent} bytes through to a paused client`);
  await within(drain(pair.client, COUNT), 20000, "taking every envelope once reading resumes");
  await sending;
});
