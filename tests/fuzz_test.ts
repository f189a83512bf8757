/**
 * The hostile-input fuzzer (tools/fuzz.ts) in small: 20,000 framer + codec inputs and 200 hostile
 * TCP streams through a live LimeServer must find nothing, the same seed must give the same
 * inputs and figures, and its oracles must catch a broken framer.
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

Deno.test("fuzz finds no crash, hang or leak in 20,000 inputs and 200 hostile streams", async () => {
  const options: FuzzOptions = {
    seed: 0x5eed,
    inputs: 20_000,
    streams: 200,
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
});

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
    const options: FuzzOptions = {
      seed: 9,
      inputs: 0,
      streams: 20,
      concurrency: 20,
      worker: false,
    };
    const report = await fuzz(options);
    return { report, text: formatReport(report, options) };
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
