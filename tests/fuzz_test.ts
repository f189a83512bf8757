/**
 * The hostile-input fuzzer (tools/fuzz.ts) in small: 20,000 framer + codec inputs, 200 hostile
 * TCP streams and 200 hostile WebSocket streams through a live LimeServer must find nothing, the
 * same seed must give the same inputs and figures, and its oracles must catch a broken framer, a
 * server that logs errors or never lets connections go, and WebSocket output that breaks the
 * rules.
 */
import assert from "node:assert/strict";
import { ServerChannel } from "../src/channel/server_channel.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import {
  type CodecReport,
  formatReport,
  fuzz,
  type FuzzOptions,
  generateInput,
  jsonEqual,
  runCodecFuzz,
} from "../tools/fuzz.ts";
import { WebSocketPeer } from "../tools/fuzz_websocket.ts";
import { HttpApi } from "../src/http/http_api.ts";
import { createHash } from "node:crypto";

Deno.test("fuzz finds no crash, hang or leak in 20,000 inputs, 200 + 200 hostile TCP and WebSocket streams and 200 HTTP requests", async () => {
  const options: FuzzOptions = {
    seed: 0x5eed,
    inputs: 20_000,
    streams: 200,
    websocketStreams: 200,
    httpRequests: 200,
    concurrency: 20,
    worker: false, // in this thread (a worker would be type-checked first, which takes longer)
  };
  const report = await fuzz(options);
  const text = formatReport(report, options);
  assert.ok(report.ok, text);
  const { codec, server } = report;
  assert.equal(codec.inputs, 20_000);
  assert.deepEqual([codec.crashes, codec.hangs, codec.failures.length], [0, 0, 0], text);
  // Every outcome is reached: accepted envelopes, each framing error, validation refusals.
  assert.ok(codec.accepted > 5_000, text);
  for (const kind of ["unexpected-byte", "too-deep", "too-large"]) {
    assert.ok((codec.framing[kind] ?? 0) > 0, `${kind}: ${text}`);
  }
  for (const kind of ["21/not-json", "21/utf-8", "23"]) {
    assert.ok((codec.validation[kind] ?? 0) > 0, `${kind}: ${text}`);
  }
  assert.equal(server.streams, 200);
  assert.deepEqual(
    [server.crashes, server.hangs, server.unhandled, server.serverErrors, server.finalSessions],
    [0, 0, 0, 0, 0],
    text,
  );
  assert.ok((server.reached.established ?? 0) > 0, text);
  assert.ok(server.pings >= 2, text); // at the start and at the end
  // The peak was sampled: the lanes' connections and the healthy client's were seen.
  assert.ok(server.maxConnections > 1 && server.maxConnections <= 2 * 20 + 1, text);
  const { websocket } = server;
  assert.equal(websocket.streams, 200);
  // Upgrades and refusals, sessions established over WebSocket, every kind of hostile frame.
  assert.ok((websocket.statuses["101"] ?? 0) > 100, text);
  assert.ok((websocket.statuses["400"] ?? 0) > 0, text);
  assert.ok((websocket.reached.established ?? 0) > 20, text);
  assert.ok(Object.keys(websocket.frames).length >= 18, text);
  assert.ok(websocket.closeCodesJudged > 0, text);
  // Requests accepted (200 and 202) and refused in many ways.
  const { http } = server;
  assert.equal(http.requests, 200);
  for (const status of ["200", "202", "401/13", "405/63"]) {
    assert.ok((http.answers[status] ?? 0) > 0, `${status}: ${text}`);
  }
});

Deno.test("fuzz catches an HTTP API that answers outside its documented replies", async () => {
  const handle = HttpApi.prototype.handle;
  let calls = 0;
  HttpApi.prototype.handle = function (request, info) {
    // Every fifth request: a 500, or a refusal without its JSON reason.
    if (++calls % 5 === 0) {
      return Promise.resolve(
        calls % 10 === 0
          ? new Response("oops", { status: 500 })
          : new Response("no", { status: 400 }),
      );
    }
    return handle.call(this, request, info);
  };
  try {
    const { report, text } = await fuzzServer({
      seed: 11,
      streams: 0,
      httpRequests: 100,
      concurrency: 10,
    });
    assert.equal(report.ok, false, text);
    assert.match(text, /http bad answer: .*status 500/);
    assert.match(text, /http bad answer: .*a 400 whose body is not JSON: no/);
  } finally {
    HttpApi.prototype.handle = handle;
  }
});

/** What a WebSocketPeer makes of `bytes` sent after the answer to its request (with `key`). */
function serverOutput(...frames: number[][]): string[] {
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
  const peer = new WebSocketPeer({ read: () => new Promise<null>(() => {}) });
  peer.key = key;
  peer.push(new TextEncoder().encode(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: lime\r\n\r\n`,
  ));
  for (const frame of frames) peer.push(new Uint8Array(frame));
  return peer.problems;
}

Deno.test("fuzz's WebSocket oracle catches every way a server's frames can break the rules", () => {
  const text = (s: string) => [...new TextEncoder().encode(s)];
  const ping = `{"id":"1","method":"get","uri":"/ping"}`;
  // What a server may send passes: a text envelope, a ping, a close 1000 with a reason.
  assert.deepEqual(
    serverOutput([0x81, ping.length, ...text(ping)], [0x89, 0], [
      0x88,
      4,
      0x03,
      0xe8,
      ...text("ok"),
    ]),
    [],
  );
  const cases: [string, number[][]][] = [
    ["masked", [[0x81, 0x80 | 2, 1, 2, 3, 4, 0, 0]]],
    ["reserved bits", [[0xc1, 2, ...text("{}")]]],
    ["opcode 2", [[0x82, 2, ...text("{}")]]],
    ["opcode 3", [[0x83, 0]]],
    ["16-bit form", [[0x81, 126, 0, 2, ...text("{}")]]],
    ["control frame", [[0x09, 0]]], // a fragmented ping
    ["fragmented text", [[0x01, 2, ...text("{}")]]],
    ["invalid envelope", [[0x81, 2, ...text("{}")]]],
    ["not UTF-8", [[0x81, 2, 0xc3, 0x28]]],
    ["close code 1005", [[0x88, 2, 0x03, 0xed]]],
    ["one byte", [[0x88, 1, 3]]],
    ["after its close frame", [[0x88, 0], [0x89, 0]]],
    ["close reason", [[0x88, 4, 0x03, 0xe8, 0xc3, 0x28]]],
  ];
  for (const [problem, frames] of cases) {
    const problems = serverOutput(...frames);
    assert.equal(problems.length, 1, `${problem}: ${problems}`);
    assert.ok(problems[0].includes(problem), `${problem}: ${problems[0]}`);
  }
  // A wrong accept key, and a refusal followed by more bytes.
  const peer = new WebSocketPeer({ read: () => new Promise<null>(() => {}) });
  peer.key = "dGhlIHNhbXBsZSBub25jZQ==";
  peer.push(new TextEncoder().encode(
    "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\n\r\n",
  ));
  assert.match(peer.problems[0], /Sec-WebSocket-Accept x, not s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
  const refused = new WebSocketPeer({ read: () => new Promise<null>(() => {}) });
  refused.push(new TextEncoder().encode(
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nno\nHTTP",
  ));
  assert.match(refused.problems[0], /bytes after its 400 answer/);
});

/** A connection that yields `chunks` (one byte per character), then the end of the stream. */
function replay(chunks: string[]) {
  const left = chunks.map((chunk) => Uint8Array.from(chunk, (c) => c.charCodeAt(0)));
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      const chunk = left.shift();
      if (!chunk) return Promise.resolve(null);
      buffer.set(chunk);
      return Promise.resolve(chunk.length);
    },
  };
}

Deno.test("fuzz's WebSocket oracle catches a server that hangs up in the middle of what it sends", async () => {
  const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
    "Sec-WebSocket-Protocol: lime\r\n\r\n";
  const cases: [string[], RegExp | undefined][] = [
    [[head, "\x81\x02{}"], /invalid envelope/], // (whole, but not LIME)
    [[head, "\x88\x00"], undefined], // a close frame, then the end: fine
    [[head, "\x81\x05{}"], /hung up inside a frame \(4 bytes of it\)/],
    [[head.slice(0, 30)], /hung up inside its answer's head/],
    [["HTTP/1.1 400 Bad Request\r\nContent-Length: 10\r\n\r\nshort"], /5 bytes short of its 400/],
    [[head.replace("Connection: Upgrade\r\n", "")], /without Connection: Upgrade/],
  ];
  for (const [chunks, problem] of cases) {
    const peer = new WebSocketPeer(replay(chunks));
    peer.key = "dGhlIHNhbXBsZSBub25jZQ==";
    await peer.done;
    if (problem) assert.match(peer.problems.join("; "), problem, chunks.join(""));
    else assert.deepEqual(peer.problems, []);
  }
  // Not judged when this side hung up first.
  const peer = new WebSocketPeer(replay([head, "\x81\x05{}"]));
  peer.key = "dGhlIHNhbXBsZSBub25jZQ==";
  peer.hungUp = true;
  await peer.done;
  assert.deepEqual(peer.problems, []);
});

/** Runs the server part of `fuzz` alone (no codec inputs), in this thread; the report and its text. */
async function fuzzServer(options: Omit<FuzzOptions, "inputs" | "worker">) {
  const all: FuzzOptions = { ...options, inputs: 0, worker: false };
  const report = await fuzz(all);
  return { report, text: formatReport(report, all) };
}

/** Runs `fuzz` on 20 streams with `establishSession` replaced for every connection but the healthy client's. */
async function fuzzWithServing(
  replacement: (this: ServerChannel) => ReturnType<ServerChannel["establishSession"]>,
) {
  const establish = ServerChannel.prototype.establishSession;
  let calls = 0;
  ServerChannel.prototype.establishSession = function (...args) {
    return calls++ === 0 ? establish.apply(this, args) : replacement.call(this);
  };
  try {
    return await fuzzServer({ seed: 9, streams: 20, concurrency: 20 });
  } finally {
    ServerChannel.prototype.establishSession = establish;
  }
}

Deno.test("fuzz catches a server that logs errors while serving hostile connections", async () => {
  const { report, text } = await fuzzWithServing(() => Promise.reject(new Error("a server bug")));
  assert.equal(report.ok, false, text);
  assert.equal(report.server.serverErrors, 20, text);
  assert.match(text, /server errors logged 20/);
});

Deno.test("fuzz catches a server that never lets hostile connections go", async () => {
  const { report, text } = await fuzzWithServing(() => new Promise(() => {}));
  assert.equal(report.ok, false, text);
  assert.ok(report.server.hangs > 0, text);
  assert.ok(
    report.server.failures.some((failure) =>
      /shutting the server down did not settle/.test(failure.message)
    ),
    text,
  );
});

/** A report without its timings (which vary from run to run). */
function figures(report: CodecReport): Partial<CodecReport> {
  const { slowestMs: _ms, slowestIndex: _i, slowestSize: _s, maxHeap: _h, ...rest } = report;
  return rest;
}

Deno.test("fuzz replays: the same seed gives the same inputs and the same figures", () => {
  assert.deepEqual(generateInput(42, 1234), generateInput(42, 1234));
  assert.notDeepEqual(generateInput(42, 1234), generateInput(43, 1234));
  const first = runCodecFuzz(42, 0, 1500);
  const again = runCodecFuzz(42, 0, 1500);
  assert.deepEqual(figures(again), figures(first));
  assert.equal(first.inputs, 1500);
  assert.equal(first.failures.length, 0);
  // A range replays the same inputs as the whole run.
  const tail = runCodecFuzz(42, 1000, 500);
  assert.equal(tail.inputs, 500);
  assert.ok(tail.frames < first.frames);
});

Deno.test("fuzz catches a framer that loses frames or holds too much", () => {
  const push = EnvelopeFramer.prototype.push;
  try {
    let n = 0;
    EnvelopeFramer.prototype.push = function (chunk, onFrame) {
      return push.call(this, chunk, (frame) => ++n % 5 === 0 ? undefined : onFrame(frame));
    };
    const lost = runCodecFuzz(7, 0, 300);
    assert.ok(lost.failures.length > 0);
    assert.match(lost.failures[0].message, /frames?, the reference|frame \d+ differs/);
    assert.match(lost.failures[0].hex ?? "", /^[0-9a-f]*$/);
  } finally {
    EnvelopeFramer.prototype.push = push;
  }
  const buffered = Object.getOwnPropertyDescriptor(EnvelopeFramer.prototype, "buffered")!;
  try {
    Object.defineProperty(EnvelopeFramer.prototype, "buffered", { get: () => 1 << 30 });
    const held = runCodecFuzz(7, 0, 300);
    assert.match(held.failures[0].message, /^the framer holds 1073741824 bytes/);
  } finally {
    Object.defineProperty(EnvelopeFramer.prototype, "buffered", buffered);
  }
  assert.equal(runCodecFuzz(7, 0, 300).failures.length, 0);
});

Deno.test("jsonEqual compares JSON values structurally", () => {
  assert.equal(jsonEqual({ a: [1, { b: null }], c: "x" }, { c: "x", a: [1, { b: null }] }), true);
  assert.equal(jsonEqual({ a: 1 }, { a: 1, b: undefined }), false);
  assert.equal(jsonEqual({ a: null }, {}), false);
  assert.equal(jsonEqual([1, 2], [2, 1]), false);
  assert.equal(jsonEqual({ a: [] }, { a: {} }), false);
  assert.equal(jsonEqual("1", 1), false);
  assert.equal(jsonEqual(-0, 0), true); // JSON cannot tell them apart
  const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
  assert.equal(jsonEqual(deep, JSON.parse("[".repeat(100_000) + "]".repeat(100_000))), true);
});
