import assert from "node:assert/strict";
import { parseEnvelope, serializeEnvelope } from "../src/codec.ts";
import { Message, Session } from "../src/envelope.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import type { Transport } from "../src/transport/transport.ts";
import { tlsFixture } from "./tls_fixture.ts";
import { within } from "./tcp_helpers.ts";

const encoder = new TextEncoder();

/** Reads from a Deno connection until one envelope is framed. */
async function readEnvelope(conn: Deno.Conn): Promise<ReturnType<typeof parseEnvelope>> {
  const framer = new EnvelopeFramer();
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("closed before an envelope");
    let found: Uint8Array | undefined;
    framer.push(buffer.subarray(0, n), (frame) => {
      found = frame.slice();
      return false;
    });
    if (found) return parseEnvelope(found);
  }
}

Deno.test("TcpTransportListener upgrades to TLS with a Deno.startTls (rustls) client", async () => {
  const fixture = await tlsFixture();
  await using listener = new TcpTransportListener({
    port: 0,
    tls: { cert: fixture.server.cert, key: fixture.server.key },
  });
  await listener.listen();
  const port = Number(listener.address!.split(":").pop());
  const accepted = listener[Symbol.asyncIterator]().next();
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  let conn: Deno.Conn = tcp;
  try {
    const server = (await accepted).value as Transport;
    const inbox = server[Symbol.asyncIterator]();
    // Plaintext negotiation, as a LIME client does it.
    await conn.write(
      encoder.encode(
        serializeEnvelope(
          new Session("negotiating", { id: "s1", encryption: "tls", compression: "none" }),
        ),
      ),
    );
    const choice = await within(inbox.next());
    assert.equal((choice.value as Session).encryption, "tls");
    const confirming = server.send(
      new Session("negotiating", { id: "s1", encryption: "tls", compression: "none" }),
    );
    const confirmation = await readEnvelope(conn) as Session;
    assert.equal(confirmation.encryption, "tls");
    await confirming;
    // Both sides start TLS: the server on its node:tls socket, the client with Deno.startTls.
    const [tlsConn] = await within(Promise.all([
      Deno.startTls(tcp, { hostname: "localhost", caCerts: [fixture.ca] }),
      server.setEncryption("tls"),
    ]));
    conn = tlsConn;
    assert.equal(server.encryption, "tls");
    // Envelopes flow both ways inside TLS.
    await conn.write(
      encoder.encode(serializeEnvelope(new Message("text/plain", "over rustls", { id: "m1" }))),
    );
    const received = await within(inbox.next());
    assert.equal((received.value as Message).content, "over rustls");
    await server.send(new Message("text/plain", "back", { id: "m2" }));
    assert.equal(((await within(readEnvelope(conn))) as Message).content, "back");
  } finally {
    conn.close();
  }
});
