import assert from "node:assert/strict";
import { checkFirstChunk, httpProblem } from "../src/transport/tcp_http_hint.ts";
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

Deno.test("checkFirstChunk checks only the first chunk", () => {
  const data: string[] = [];
  const errors: TransportError[] = [];
  const decoder = new TextDecoder();
  const onData = checkFirstChunk(
    (chunk) => data.push(decoder.decode(chunk)),
    (e) => errors.push(e),
  );
  onData(bytes('{"state":"new"}'));
  onData(bytes("HTTP/1.1 200 OK\r\n"));
  assert.deepEqual(data, ['{"state":"new"}', "HTTP/1.1 200 OK\r\n"]);
  assert.equal(errors.length, 0);
  const refused = checkFirstChunk(() => assert.fail("no data"), (e) => errors.push(e));
  refused(bytes("HTTP/1.0 404 Not Found\r\n"));
  assert.equal(errors.length, 1);
});
