import assert from "node:assert/strict";
import net from "node:net";
import { httpProblem } from "../src/transport/tcp_http_hint.ts";
import { TcpConnection } from "../src/transport/tcp_connection.ts";
import { TransportError } from "../src/transport/errors.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("httpProblem says an HTTP reply comes from an HTTP server and names the fix", () => {
  const error = httpProblem(bytes("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
  assert.ok(error instanceof TransportError);
  assert.equal(error.code, "framing");
  assert.match(
    error.message,
    /^The server answered in HTTP \("HTTP\/1\.1 400 Bad Request"\): this looks like an HTTP server/,
  );
  assert.match(error.message, /ws:\/\/ or wss:\/\/.*net\.tcp:\/\/ with the server's TCP port/);
});

Deno.test("httpProblem says an HTTP request reached a LIME TCP port", () => {
  assert.match(
    httpProblem(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))!.message,
    /^The peer sent an HTTP request \("GET \/ HTTP\/1\.1"\) to a LIME TCP port/,
  );
});

Deno.test("httpProblem leaves LIME, whitespace and other bytes alone", () => {
  for (const text of ['{"state":"new"}', "\n{", "HELLO", "GET", "", "hTTP/1.1 200"]) {
    assert.equal(httpProblem(bytes(text)), undefined, text);
  }
});

/** A `TcpConnection` on the accepting end of a real socket pair; the peer's socket to write with. */
async function connectionPair() {
  const data: string[] = [];
  const errors: TransportError[] = [];
  let ended = 0;
  const decoder = new TextDecoder();
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const peer = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const socket = await accepted;
  const connection = new TcpConnection(socket, {
    data: (chunk) => data.push(decoder.decode(chunk)),
    end: () => ended++,
    error: (error) => errors.push(error),
  });
  connection.start();
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return {
    data,
    errors,
    peer,
    until,
    ended: () => ended,
    async close() {
      peer.destroy();
      await connection.close(true);
      // Not waiting for close's callback: Deno 2.5's net.Server miscounts destroyed connections
      // and never calls it (see tcp_listener.ts).
      server.close();
    },
  };
}

Deno.test("TcpConnection checks only a connection's first bytes for HTTP", async () => {
  const t = await connectionPair();
  try {
    t.peer.write('{"state":"new"}');
    await t.until(() => t.data.length === 1);
    t.peer.write("HTTP/1.1 200 OK\r\n");
    await t.until(() => t.data.length === 2);
    assert.deepEqual(t.data, ['{"state":"new"}', "HTTP/1.1 200 OK\r\n"]);
    assert.equal(t.errors.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("TcpConnection reports first bytes in HTTP as an error, not as data", async () => {
  const t = await connectionPair();
  try {
    t.peer.write("HTTP/1.0 404 Not Found\r\n\r\n");
    await t.until(() => t.errors.length === 1);
    assert.equal(t.errors[0].code, "framing");
    assert.match(t.errors[0].message, /^The server answered in HTTP/);
    assert.deepEqual(t.data, []);
    t.peer.end();
    // The socket's listeners still serve this connection (its close, after the end, says so too).
    await t.until(() => t.ended() >= 1);
  } finally {
    await t.close();
  }
});
