/**
 * `readRequestHead` on real sockets: the head however it is split, the bytes after it, the
 * refusals, and its listeners, which stay on the socket and do nothing once it has resolved.
 */
import assert from "node:assert/strict";
import net from "node:net";
import {
  type HeadResult,
  ignoreError,
  readRequestHead,
  releaseHeadListeners,
} from "../src/transport/websocket_handshake.ts";

const encoder = new TextEncoder();

/** A server socket and its client, connected on 127.0.0.1; both destroyed on dispose. */
async function socketPair(): Promise<
  { server: net.Socket; client: net.Socket } & AsyncDisposable
> {
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => {});
  const server = await accepted;
  server.on("error", () => {});
  listener.close(); // no callback awaited: Deno 2.5 never calls it
  return {
    server,
    client,
    async [Symbol.asyncDispose]() {
      const closed = (socket: net.Socket) =>
        socket.closed ? undefined : new Promise((resolve) => socket.once("close", resolve));
      const both = [closed(server), closed(client)];
      server.destroy();
      client.destroy();
      await Promise.all(both);
    },
  };
}

const head = "GET /lime?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";

Deno.test("readRequestHead reads a head written in pieces and gives the bytes after it", async () => {
  await using pair = await socketPair();
  const result = readRequestHead(pair.server, 8192, 5_000);
  for (const piece of [head.slice(0, 5), head.slice(5, 30), head.slice(30) + "early"]) {
    pair.client.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const read = await result as Extract<HeadResult, { head: unknown }>;
  assert.equal(read.head.pathname, "/lime");
  assert.equal(read.head.headers.get("upgrade"), "websocket");
  assert.deepEqual(read.rest, encoder.encode("early"));
});

Deno.test("readRequestHead gives no rest when nothing followed, and its listeners stay inert", async () => {
  await using pair = await socketPair();
  pair.client.write(head);
  const read = await readRequestHead(pair.server, 8192, 5_000) as Extract<
    HeadResult,
    { head: unknown }
  >;
  assert.equal(read.rest, undefined);
  assert.equal(pair.server.isPaused(), true);
  // The next owner reads on: what arrives is its alone, and the end reaches it (a listener of
  // the reader's that still acted would throw here: its read is gone).
  const chunks: string[] = [];
  pair.server.on("data", (chunk: Uint8Array) => chunks.push(new TextDecoder().decode(chunk)));
  pair.server.resume();
  pair.client.write("after");
  while (chunks.join("") !== "after") await new Promise((resolve) => setTimeout(resolve, 5));
  pair.client.end();
  await new Promise((resolve) => pair.server.once("end", resolve));
});

Deno.test("readRequestHead refuses what is not HTTP, a head too large, and drops a slow or closed client", async () => {
  {
    await using pair = await socketPair();
    pair.client.write('{"state":"new"}');
    assert.deepEqual(await readRequestHead(pair.server, 8192, 5_000), {
      refused: {
        status: 400,
        body: "This port speaks HTTP (LIME over WebSocket), not LIME over TCP",
      },
    });
  }
  {
    await using pair = await socketPair();
    pair.client.write("GET / HTTP/1.1\r\nX: " + "y".repeat(200));
    assert.deepEqual(await readRequestHead(pair.server, 100, 5_000), {
      refused: { status: 431, body: "The request head is over 100 bytes" },
    });
  }
  {
    await using pair = await socketPair();
    pair.client.write("GET / HT");
    assert.deepEqual(await readRequestHead(pair.server, 8192, 50), {
      dropped: "the request head took too long",
    });
    assert.equal(pair.server.destroyed, true);
  }
  {
    await using pair = await socketPair();
    const result = readRequestHead(pair.server, 8192, 5_000);
    pair.client.end("GET / HT");
    assert.deepEqual(await result, { dropped: "the connection closed" });
  }
});

Deno.test("readRequestHead reads a second head on the same socket once each", async () => {
  await using pair = await socketPair();
  pair.client.write("GET /one HTTP/1.1\r\n\r\n");
  const first = await readRequestHead(pair.server, 8192, 5_000) as Extract<
    HeadResult,
    { head: unknown }
  >;
  assert.equal(first.head.pathname, "/one");
  const second = readRequestHead(pair.server, 8192, 5_000);
  pair.client.write("GET /tw");
  await new Promise((resolve) => setTimeout(resolve, 10));
  pair.client.write("o HTTP/1.1\r\n\r\nXY");
  const read = await second as Extract<HeadResult, { head: unknown }>;
  assert.equal(read.head.pathname, "/two");
  assert.deepEqual(read.rest, encoder.encode("XY"));
});

Deno.test("releaseHeadListeners leaves the next owner's listeners alone on the socket, and the socket readable again", async () => {
  await using pair = await socketPair();
  const events = ["data", "close", "end", "error"];
  pair.server.on("error", ignoreError);
  const before = new Map(events.map((event) => [event, pair.server.listeners(event)]));
  pair.client.write("GET /one HTTP/1.1\r\n\r\n");
  await readRequestHead(pair.server, 8192, 5_000);
  const own = () => {};
  for (const event of events) pair.server.on(event, own);
  releaseHeadListeners(pair.server);
  releaseHeadListeners(pair.server); // again: nothing
  // What was there before the reader (but ignoreError) and the owner's: the reader's are gone.
  for (const event of events) {
    const kept = before.get(event)!.filter((listener) => listener !== ignoreError);
    assert.deepEqual(pair.server.listeners(event), [...kept, own], event);
  }
  for (const event of events) pair.server.off(event, own);
  // Read again: its listeners come back.
  const again = readRequestHead(pair.server, 8192, 5_000);
  pair.client.write("GET /two HTTP/1.1\r\n\r\n");
  assert.equal((await again as Extract<HeadResult, { head: unknown }>).head.pathname, "/two");
});

Deno.test("readRequestHead refuses to read a second head while one is being read, and its listeners are not released meanwhile", async () => {
  await using pair = await socketPair();
  const first = readRequestHead(pair.server, 8192, 5_000);
  await assert.rejects(readRequestHead(pair.server, 8192, 5_000), {
    name: "TypeError",
    message: "A request head is already being read on this socket",
  });
  assert.throws(() => releaseHeadListeners(pair.server), {
    name: "TypeError",
    message: "The request head is still being read on this socket",
  });
  pair.client.write("GET /first HTTP/1.1\r\n\r\n");
  assert.equal((await first as Extract<HeadResult, { head: unknown }>).head.pathname, "/first");
});
