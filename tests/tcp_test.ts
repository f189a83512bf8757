import assert from "node:assert/strict";
import { Message, Session } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import {
  connectPair,
  inbox,
  rawPeer,
  readUntil,
  stillPending,
  within,
  writeAll,
} from "./tcp_helpers.ts";

const text = (content: string, id?: string) => new Message("text/plain", content, { id });

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof TransportError, `expected a TransportError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

Deno.test("TcpTransport exchanges envelopes both ways", async () => {
  await using pair = await connectPair();
  const { client, server, listener } = pair;
  assert.equal(client.isConnected, true);
  assert.equal(server.isConnected, true);
  assert.equal(client.remoteEndpoint, listener.address);
  assert.equal(server.remoteEndpoint, client.localEndpoint);
  assert.equal(server.localEndpoint, listener.address);
  assert.deepEqual(client.supportedCompression(), ["none", "gzip"]);
  assert.deepEqual(client.supportedEncryption(), ["none", "tls"]);
  assert.deepEqual(server.supportedEncryption(), ["none"]);
  await client.send(text("ping ☃ 😀", "1"));
  const ping = await pair.fromClient() as Message;
  assert.equal(ping.content, "ping ☃ 😀");
  assert.equal(ping.id, "1");
  await server.send(text("pong", "2"));
  assert.equal((await pair.fromServer() as Message).content, "pong");
  assert.equal(listener.transports.size, 1);
});

Deno.test("TcpTransport open rejects a URI that is not net.tcp with unsupported", async () => {
  const client = new TcpTransport();
  await assert.rejects(client.open("ws://127.0.0.1:55321"), hasCode("unsupported"));
  const info = await client.closed;
  assert.equal(info.by, "error");
  assert.equal(info.error?.code, "unsupported");
});

Deno.test("TcpTransport open fails with io when nothing listens", async () => {
  const listener = new TcpTransportListener({ port: 0 });
  await listener.listen();
  const address = listener.address!;
  await listener.close();
  await assert.rejects(new TcpTransport().open(`net.tcp://${address}`), hasCode("io"));
});

Deno.test("TcpTransportListener close stops accepting and ends the iteration", async () => {
  const listener = new TcpTransportListener({ port: 0 });
  await listener.listen();
  const address = listener.address!;
  assert.match(address, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(address, "127.0.0.1:0");
  const iterator = listener[Symbol.asyncIterator]();
  const waiting = iterator.next();
  await listener.close();
  assert.deepEqual(await waiting, { value: undefined, done: true });
  await assert.rejects(new TcpTransport().open(`net.tcp://${address}`), hasCode("io"));
});

Deno.test("TcpTransportListener keeps connections until someone iterates", async () => {
  const listener = new TcpTransportListener({ port: 0 });
  await listener.listen();
  const clients = [new TcpTransport(), new TcpTransport()];
  for (const client of clients) await client.open(`net.tcp://${listener.address}`);
  await clients[0].send(text("first"));
  await clients[1].send(text("second"));
  const iterator = listener[Symbol.asyncIterator]();
  const contents = [];
  for (let i = 0; i < 2; i++) {
    const { value } = await within(iterator.next());
    contents.push((await inbox(value!)() as Message).content);
  }
  assert.deepEqual(contents.sort(), ["first", "second"]);
  assert.equal(listener.transports.size, 2);
  await listener.close({ closeTransports: true });
  assert.equal(listener.transports.size, 0);
  for (const client of clients) assert.equal((await within(client.closed)).by, "remote");
});

Deno.test("TcpTransport close on the client is seen by the server", async () => {
  await using pair = await connectPair();
  await pair.client.close();
  assert.equal((await pair.client.closed).by, "local");
  assert.equal((await within(pair.server.closed)).by, "remote");
  assert.equal(pair.server.isConnected, false);
  assert.equal(pair.listener.transports.size, 0);
});

Deno.test("TcpTransport close on the server is seen by the client, after what was sent", async () => {
  await using pair = await connectPair();
  await pair.server.send(new Session("finished", { id: "s1" }));
  await pair.server.close();
  assert.equal((await pair.server.closed).by, "local");
  assert.equal((await pair.fromServer() as Session).state, "finished");
  assert.equal((await within(pair.client.closed)).by, "remote");
});

Deno.test("TcpTransport sends before close are delivered or reject with closed; later sends reject", async () => {
  await using pair = await connectPair();
  const sends = [1, 2, 3].map((i) => pair.client.send(text(`m${i}`)));
  const closing = pair.client.close();
  const results = await Promise.allSettled(sends);
  await closing;
  // A send that resolved was handed to the socket, and close() flushes it before the FIN.
  const delivered = results.filter((r) => r.status === "fulfilled").length;
  for (const r of results) if (r.status === "rejected") assert.ok(hasCode("closed")(r.reason));
  const received: string[] = [];
  for await (const envelope of pair.server) received.push((envelope as Message).content as string);
  assert.deepEqual(received, ["m1", "m2", "m3"].slice(0, delivered));
  await assert.rejects(pair.client.send(text("late")), hasCode("closed"));
});

Deno.test("TcpTransport stops reading when nobody consumes, and a blocked send rejects with closed on close", async () => {
  await using pair = await connectPair({ receiveBufferSize: 2 });
  const big = "x".repeat(256 * 1024);
  // The server does not consume: its queue fills, it stops reading, the kernel buffers fill,
  // and a send stays pending.
  let blocked: Promise<void> | undefined;
  for (let i = 0; i < 400 && !blocked; i++) {
    const send = pair.client.send(text(big));
    if (await stillPending(send, 200)) blocked = send;
  }
  assert.ok(blocked, "a send should block once the peer stops reading");
  const closing = pair.client.close();
  await assert.rejects(blocked, hasCode("closed"));
  await closing;
});

Deno.test("TcpTransport backpressure lets everything through once the consumer reads", async () => {
  await using pair = await connectPair({ receiveBufferSize: 2 });
  const big = "y".repeat(64 * 1024);
  const count = 200; // 12.5 MiB, more than the socket buffers hold
  const sending = (async () => {
    for (let i = 0; i < count; i++) await pair.client.send(text(big, String(i)));
  })();
  assert.equal(await stillPending(sending, 300), true, "sending should wait for the reader");
  for (let i = 0; i < count; i++) assert.equal((await pair.fromClient()).id, String(i));
  await within(sending);
});

Deno.test("TcpTransport: thousands of sends in flight at once all resolve and arrive in order", async () => {
  // Past the socket's high-water mark the sends queue and go out several per write (coalesced).
  await using pair = await connectPair();
  const count = 5000;
  const sends = Array.from(
    { length: count },
    (_, i) => pair.client.send(text("é".repeat(500), String(i))),
  );
  for (let i = 0; i < count; i++) {
    const envelope = await pair.fromClient() as Message;
    assert.equal(envelope.id, String(i));
    assert.equal(envelope.content, "é".repeat(500));
  }
  await within(Promise.all(sends));
});

Deno.test("TcpTransport refuses an oversize outgoing envelope with too-large and stays usable", async () => {
  await using pair = await connectPair({}, { maxEnvelopeSize: 1024 });
  await assert.rejects(pair.client.send(text("z".repeat(2000))), hasCode("too-large"));
  await pair.client.send(text("small"));
  assert.equal((await pair.fromClient() as Message).content, "small");
});

Deno.test("TcpTransport closes with framing on an oversize incoming envelope", async () => {
  await using pair = await connectPair({ maxEnvelopeSize: 1024 });
  await pair.client.send(text("z".repeat(2000)));
  const info = await within(pair.server.closed);
  assert.equal(info.by, "error");
  assert.equal(info.error?.code, "framing");
  assert.equal((await within(pair.client.closed)).by, "remote");
});

Deno.test("TcpTransport closes with framing on garbage between envelopes", async () => {
  await using peer = await rawPeer();
  const { conn, server, receive } = peer;
  await writeAll(
    conn,
    new TextEncoder().encode(
      '{"id":"1","type":"text/plain","content":"ok"}\n garbage {"id":"2","type":"text/plain","content":"no"}',
    ),
  );
  assert.equal((await receive() as Message).content, "ok");
  const info = await within(server.closed);
  assert.equal(info.error?.code, "framing");
  assert.equal(await readUntil(conn, () => false), ""); // the server closed the connection
});

Deno.test("TcpTransport frames envelopes written one byte at a time", async () => {
  await using peer = await rawPeer();
  const { conn, server, receive } = peer;
  const wire = new TextEncoder().encode(
    '  {"id":"a","type":"text/plain","content":"braces } { and \\"quotes\\" and 😀"}\r\n' +
      '{"id":"b","type":"application/json","content":{"nested":{"deep":[1,{"x":"}"}]}}}',
  );
  for (const byte of wire) {
    await writeAll(conn, Uint8Array.of(byte));
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const first = await receive() as Message;
  assert.equal(first.content, 'braces } { and "quotes" and 😀');
  const second = await receive() as Message;
  assert.deepEqual(second.content, { nested: { deep: [1, { x: "}" }] } });
  conn.close();
  assert.equal((await within(server.closed)).by, "remote");
});

Deno.test("TcpTransportListener closes connections beyond its accept queue", async () => {
  const listener = new TcpTransportListener({ port: 0, acceptQueueSize: 1 });
  await listener.listen();
  const first = new TcpTransport();
  await first.open(`net.tcp://${listener.address}`);
  while (listener.transports.size < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const second = new TcpTransport();
  await second.open(`net.tcp://${listener.address}`);
  assert.equal((await within(second.closed)).by, "remote");
  assert.equal(first.isConnected, true);
  const { value } = await listener[Symbol.asyncIterator]().next();
  await first.send(text("queued one"));
  assert.equal((await inbox(value!)() as Message).content, "queued one");
  await first.close();
  await listener.close({ closeTransports: true });
});

Deno.test("TcpTransportListener await using closes the listener and its transports", async () => {
  const client = new TcpTransport();
  {
    await using listener = new TcpTransportListener({ port: 0 });
    await listener.listen();
    const accepted = listener[Symbol.asyncIterator]().next();
    await client.open(`net.tcp://${listener.address}`);
    await within(accepted);
  }
  assert.equal((await within(client.closed)).by, "remote");
});
