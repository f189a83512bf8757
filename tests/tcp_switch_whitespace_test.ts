/**
 * Whitespace after the negotiation confirmation (lime-go writes every envelope with Go's
 * `json.Encoder`, which appends `\n`) is discarded before the TLS handshake and before the gzip
 * switch, whether it comes in the same segment as the confirmation or in a later one; any other
 * byte there is still refused (the STARTTLS-injection class of bug). Scripted peers on real
 * sockets: the server side for the client transport, the client side for the server transport.
 */
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";
import { Message, type Session } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import { inbox, within } from "./tcp_helpers.ts";
import { tlsFixture } from "./tls_fixture.ts";

const CONFIRMATION = '{"id":"s1","state":"negotiating","encryption":"%E","compression":"%C"}';
const confirmation = (encryption: string, compression: string) =>
  CONFIRMATION.replace("%E", encryption).replace("%C", compression);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A scripted server: accepts one connection and hands its socket to `script`. */
async function scriptedServer(
  script: (socket: net.Socket) => Promise<void>,
): Promise<{ port: number; done: Promise<void>; close: () => void }> {
  let done!: Promise<void>;
  const accepted = Promise.withResolvers<void>();
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    done = script(socket).finally(() => socket.destroy());
    accepted.resolve();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get done() {
      return accepted.promise.then(() => done);
    },
    close: () => server.close(),
  };
}

/** Resolves with the first chunk `socket` receives. */
const firstData = (socket: net.Socket | tls.TLSSocket) =>
  new Promise<Uint8Array>((resolve) => socket.once("data", resolve));

for (
  const segment of [
    "the same segment",
    "a later segment",
    "a segment after the client's hello",
  ] as const
) {
  Deno.test(`TcpTransport client starts TLS after "}\\n" from the server (\\n in ${segment})`, async () => {
    const f = await tlsFixture();
    const peer = await scriptedServer(async (socket) => {
      if (segment === "the same segment") socket.write(confirmation("tls", "none") + "\n");
      else {
        socket.write(confirmation("tls", "none"));
        await sleep(30); // the client's hello is out by then, in the third case
        socket.write("\n");
      }
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        key: f.server.key,
        cert: f.server.cert,
      });
      await new Promise((resolve) => secure.once("secure", resolve));
      secure.write(JSON.stringify(new Message("text/plain", "over TLS")) + "\n");
      await firstData(secure); // the client's answer
    });
    const client = new TcpTransport({ tls: { caCerts: [f.ca] } });
    try {
      await client.open(`net.tcp://127.0.0.1:${peer.port}`);
      const next = inbox(client);
      assert.equal((await next() as Session).encryption, "tls");
      // In the second case the client's handshake starts after the later segment arrived; in the
      // third it starts at once, and the newline reaches it while it waits for the server's hello.
      if (segment === "a later segment") await sleep(80);
      await within(client.setEncryption("tls"));
      assert.equal(client.encryption, "tls");
      assert.equal((await next() as Message).content, "over TLS");
      await client.send(new Message("text/plain", "thanks"));
      await within(peer.done);
    } finally {
      await client.close();
      peer.close();
    }
  });

  if (segment === "a segment after the client's hello") continue;
  Deno.test(`TcpTransport client starts gzip after "}\\n" from the server (\\n in ${segment})`, async () => {
    const peer = await scriptedServer(async (socket) => {
      const gzip = zlib.createGzip();
      gzip.on("data", (chunk: Uint8Array) => socket.write(chunk));
      if (segment === "the same segment") socket.write(confirmation("none", "gzip") + "\n");
      else {
        socket.write(confirmation("none", "gzip"));
        await sleep(30);
        socket.write("\n");
      }
      gzip.write(JSON.stringify(new Message("text/plain", "compressed")));
      gzip.flush(zlib.constants.Z_SYNC_FLUSH);
      await firstData(socket);
      gzip.destroy();
    });
    const client = new TcpTransport();
    try {
      await client.open(`net.tcp://127.0.0.1:${peer.port}`);
      const next = inbox(client);
      assert.equal((await next() as Session).compression, "gzip");
      await within(client.setCompression("gzip"));
      assert.equal((await next() as Message).content, "compressed");
      await client.send(new Message("text/plain", "thanks"));
      await within(peer.done);
    } finally {
      await client.close();
      peer.close();
    }
  });
}

for (
  const [name, after, later] of [
    [
      "an envelope after the newline, same segment",
      '\n{"id":"x","type":"text/plain","content":"injected"}',
      "",
    ],
    ["a byte in a later segment", "", "\nX"],
    ["a byte after the client's hello", "", "\n{"],
  ] as const
) {
  Deno.test(`TcpTransport client still refuses other bytes before the TLS handshake: ${name}`, async () => {
    const f = await tlsFixture();
    const peer = await scriptedServer(async (socket) => {
      socket.write(confirmation("tls", "none") + after);
      if (later) {
        await sleep(30);
        socket.write(later);
      }
      await new Promise((resolve) => socket.once("close", resolve));
    });
    const client = new TcpTransport({ tls: { caCerts: [f.ca] } });
    try {
      await client.open(`net.tcp://127.0.0.1:${peer.port}`);
      assert.equal((await inbox(client)() as Session).encryption, "tls");
      if (later && !name.includes("hello")) await sleep(80);
      await assert.rejects(client.setEncryption("tls"), (error) => {
        assert.ok(error instanceof TransportError && error.code === "tls", String(error));
        assert.match(error.message, /bytes arrived after the negotiation confirmation/);
        return true;
      });
    } finally {
      await client.close();
      peer.close();
    }
  });
}

Deno.test("TcpTransport server skips a client's late newline before the TLS handshake", async () => {
  const f = await tlsFixture();
  await using listener = new TcpTransportListener({
    port: 0,
    tls: { cert: f.server.cert, key: f.server.key },
  });
  await listener.listen();
  const [host, port] = listener.address!.split(":");
  const socket = net.connect({ host, port: Number(port) });
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  const server = (await listener[Symbol.asyncIterator]().next()).value as TcpTransport;
  // The server confirms and switches; the client's newline (after its own choice) comes late.
  const switched = (async () => {
    await server.send(
      { id: "s1", state: "negotiating", encryption: "tls", compression: "none" } as Session,
    );
    await server.setEncryption("tls");
  })();
  await firstData(socket); // the confirmation
  await sleep(30);
  socket.write("\n\n");
  await sleep(30);
  const secure = tls.connect({ socket, ca: [f.ca], servername: "localhost" });
  secure.on("error", () => {});
  await new Promise((resolve) => secure.once("secureConnect", resolve));
  await within(switched);
  assert.equal(server.encryption, "tls");
  secure.write(JSON.stringify(new Message("text/plain", "hello")));
  assert.equal((await inbox(server)() as Message).content, "hello");
  secure.destroy();
  await server.close();
});
