import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { Message, Session } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import {
  connectPair,
  inbox,
  indexOfBytes,
  negotiate,
  type Pair,
  readUntil,
  stillPending,
  within,
  writeAll,
} from "./tcp_helpers.ts";
import { tlsFixture } from "./tls_fixture.ts";

const text = (content: string) => new Message("text/plain", content);
const encode = (s: string) => new TextEncoder().encode(s);

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof TransportError, `expected a TransportError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

async function tlsPair(
  client: { caCerts?: string[]; serverName?: string; cert?: string; key?: string } = {},
  proxied = false,
  host?: string,
): Promise<Pair> {
  const f = await tlsFixture();
  return connectPair(
    { tls: { cert: f.server.cert, key: f.server.key, caCerts: [f.ca] } },
    { tls: { caCerts: [f.ca], ...client } },
    { proxied, host },
  );
}

async function roundTrip(pair: Pair, content: string): Promise<void> {
  await pair.client.send(text(`${content} from client`));
  assert.equal((await pair.fromClient() as Message).content, `${content} from client`);
  await pair.server.send(text(`${content} from server`));
  assert.equal((await pair.fromServer() as Message).content, `${content} from server`);
}

Deno.test("TcpTransport upgrades to TLS mid-session and verifies the server certificate", async () => {
  await using pair = await tlsPair({}, true);
  assert.deepEqual(pair.server.supportedEncryption(), ["none", "tls"]);
  await roundTrip(pair, "plain");
  await negotiate(pair, { encryption: "tls" });
  assert.equal(pair.client.encryption, "tls");
  assert.equal(pair.server.encryption, "tls");
  await roundTrip(pair, "secret-marker");
  const serverCert = pair.client.peerCertificate!;
  assert.deepEqual(serverCert.commonNames, ["localhost"]);
  assert.deepEqual(serverCert.dnsNames, ["localhost"]);
  assert.equal(serverCert.issuer, "CN=LIME Test CA");
  assert.equal(serverCert.verified, true);
  assert.equal(pair.server.peerCertificate, undefined, "the client sent no certificate");
  await pair.client.close();
  await pair.proxy![Symbol.asyncDispose]();
  // What crossed the wire: the plain envelopes in clear, then a TLS handshake, then nothing
  // readable.
  const wire = pair.proxy!.clientBytes();
  assert.notEqual(indexOfBytes(wire, encode("plain from client")), -1);
  const choice = indexOfBytes(wire, encode('"state":"negotiating"'));
  assert.notEqual(choice, -1);
  const hello = wire.indexOf(0x16, choice); // TLS handshake record
  assert.equal(wire[hello + 1], 0x03);
  assert.equal(indexOfBytes(wire, encode("secret-marker")), -1);
  assert.equal(indexOfBytes(pair.proxy!.serverBytes(), encode("secret-marker")), -1);
});

Deno.test("TcpTransport TLS upgrade checks the URI host name", async () => {
  await using pair = await tlsPair({}, false, "localhost");
  await negotiate(pair, { encryption: "tls" });
  await roundTrip(pair, "by name");
});

Deno.test("TcpTransport TLS handshake can be aborted", async () => {
  await using pair = await tlsPair();
  await pair.client.send(new Session("negotiating", { id: "s1", encryption: "tls" }));
  await pair.fromClient();
  // The server confirms but never starts TLS: the client's handshake waits.
  await pair.server.send(new Session("negotiating", { id: "s1", encryption: "tls" }));
  await pair.fromServer();
  const controller = new AbortController();
  const upgrading = pair.client.setEncryption("tls", { signal: controller.signal });
  assert.equal(await stillPending(upgrading, 50), true);
  controller.abort();
  await assert.rejects(upgrading, hasCode("aborted"));
  assert.equal((await within(pair.client.closed)).error?.code, "aborted");
});

Deno.test("TcpTransport TLS upgrade with the server name given for an IP URI", async () => {
  await using pair = await tlsPair({ serverName: "localhost" });
  await negotiate(pair, { encryption: "tls" });
  await roundTrip(pair, "named");
});

Deno.test("TcpTransport TLS upgrade fails with tls when the server certificate is from an unknown CA", async () => {
  const f = await tlsFixture();
  await using pair = await tlsPair({ caCerts: [f.otherCa] });
  await assert.rejects(negotiate(pair, { encryption: "tls" }), hasCode("tls"));
  const info = await within(pair.client.closed);
  assert.equal(info.by, "error");
  assert.equal(info.error?.code, "tls");
  assert.notEqual((await within(pair.server.closed)).by, "local");
});

Deno.test("TcpTransport TLS upgrade fails with tls when the server name does not match", async () => {
  await using pair = await tlsPair({ serverName: "example.com" });
  await assert.rejects(negotiate(pair, { encryption: "tls" }), hasCode("tls"));
  assert.equal((await within(pair.client.closed)).error?.code, "tls");
});

Deno.test("TcpTransport server sees a client certificate from its CA as verified", async () => {
  const f = await tlsFixture();
  await using pair = await tlsPair({ cert: f.client.cert, key: f.client.key });
  await negotiate(pair, { encryption: "tls" });
  const peer = pair.server.peerCertificate!;
  assert.deepEqual(peer.commonNames, ["alice@localhost"]);
  assert.deepEqual(peer.dnsNames, ["alice.localhost"]);
  assert.equal(peer.subject, "CN=alice@localhost");
  assert.equal(peer.issuer, "CN=LIME Test CA");
  assert.equal(peer.fingerprint256, new X509Certificate(f.client.cert).fingerprint256);
  assert.equal(peer.verified, true);
  await roundTrip(pair, "with client certificate");
});

Deno.test("TcpTransport server verifies a client certificate through its intermediate", async () => {
  const f = await tlsFixture();
  await using pair = await tlsPair({ cert: f.chainClient.cert, key: f.chainClient.key });
  await negotiate(pair, { encryption: "tls" });
  const peer = pair.server.peerCertificate!;
  assert.deepEqual(peer.commonNames, ["bob@localhost"]);
  assert.equal(peer.issuer, "CN=LIME Intermediate CA");
  assert.equal(peer.verified, true);
});

Deno.test("TcpTransport server sees a client certificate from another CA as not verified", async () => {
  const f = await tlsFixture();
  await using pair = await tlsPair({ cert: f.otherClient.cert, key: f.otherClient.key });
  await negotiate(pair, { encryption: "tls" });
  const peer = pair.server.peerCertificate!;
  assert.deepEqual(peer.commonNames, ["mallory@localhost"]);
  assert.equal(peer.issuer, "CN=Other Test CA");
  assert.equal(peer.verified, false);
});

Deno.test("TcpTransport refuses TLS without a server certificate and a TLS downgrade", async () => {
  await using plain = await connectPair();
  await assert.rejects(plain.server.setEncryption("tls"), hasCode("unsupported"));
  assert.equal(plain.server.isConnected, true);
  await using pair = await tlsPair();
  await negotiate(pair, { encryption: "tls" });
  await assert.rejects(pair.client.setEncryption("none"), hasCode("unsupported"));
  await assert.rejects(pair.server.setEncryption("none"), hasCode("unsupported"));
  await roundTrip(pair, "still fine");
});

Deno.test("TcpTransport client refuses bytes between the confirmation and the TLS handshake", async () => {
  // A server that writes something after the confirmation, in clear (STARTTLS injection).
  const f = await tlsFixture();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = new TcpTransport({ tls: { caCerts: [f.ca] } });
  await client.open(`net.tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  const conn = await listener.accept();
  listener.close();
  await writeAll(
    conn,
    encode(
      '{"id":"s1","state":"negotiating","encryption":"tls","compression":"none"}' +
        '{"id":"x","type":"text/plain","content":"injected"}',
    ),
  );
  const confirmation = await inbox(client)() as Session;
  assert.equal(confirmation.encryption, "tls");
  await assert.rejects(client.setEncryption("tls"), (error) => {
    hasCode("tls")(error);
    assert.match((error as Error).message, /bytes arrived after the negotiation confirmation/);
    return true;
  });
  assert.equal((await within(client.closed)).error?.code, "tls");
  await readUntil(conn, () => false);
  conn.close();
});

Deno.test("TcpTransport server fails the switch when an incomplete envelope is buffered", async () => {
  const f = await tlsFixture();
  const listener = new TcpTransportListener({
    port: 0,
    tls: { cert: f.server.cert, key: f.server.key },
  });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const [hostname, port] = listener.address!.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const server: TcpTransport = (await within(accepted)).value!;
  await writeAll(
    conn,
    encode('{"id":"s1","state":"negotiating","encryption":"tls","compression":"none"}{"id":'),
  );
  assert.equal((await inbox(server)() as Session).state, "negotiating");
  await server.send(
    new Session("negotiating", { id: "s1", compression: "none", encryption: "tls" }),
  );
  await assert.rejects(server.setEncryption("tls"), hasCode("framing"));
  assert.equal((await within(server.closed)).error?.code, "framing");
  await readUntil(conn, () => false);
  conn.close();
  await listener.close();
});

Deno.test("TcpTransportListener and TcpTransport refuse a TLS key that does not fit the certificate", async () => {
  const f = await tlsFixture();
  assert.throws(
    () => new TcpTransportListener({ tls: { cert: f.server.cert, key: f.client.key } }),
    /key does not belong/,
  );
  assert.throws(
    () => new TcpTransportListener({ tls: { cert: "not a certificate", key: f.server.key } }),
    TypeError,
  );
  assert.throws(
    () => new TcpTransport({ tls: { cert: f.client.cert, key: f.otherClient.key } }),
    /key does not belong/,
  );
});

Deno.test("TcpTransport server asks for no client certificate when told not to", async () => {
  const f = await tlsFixture();
  await using pair = await connectPair(
    { tls: { cert: f.server.cert, key: f.server.key, requestClientCertificate: false } },
    { tls: { caCerts: [f.ca], cert: f.client.cert, key: f.client.key } },
  );
  await negotiate(pair, { encryption: "tls" });
  assert.equal(pair.server.peerCertificate, undefined);
  await roundTrip(pair, "anonymous client");
});
