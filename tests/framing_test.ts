import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { TransportError } from "../src/transport/errors.ts";
import { buildCorpus } from "../bench/corpus.ts";
import { mulberry32, randomInt } from "./prng.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const corpus = buildCorpus(300, 7);
// Objects with the hard cases: braces and quotes inside strings, escapes, backslash runs, unicode.
const tricky = [
  '{"id":"a","type":"text/plain","content":"} { \\" \\\\ \\\\\\" {{"}',
  '{"id":"b","type":"text/plain","content":"emoji 😀 and ção and 中文"}',
  '{"id":"c","type":"application/json","content":{"a":[{"b":"}"},[1,2,{"c":"\\\\"}]],"d":"\\u007b"}}',
  '{"id":"d","type":"text/plain","content":"\\\\\\\\"}',
];
const texts = [...corpus.texts, ...tricky];

function frameAll(framer: EnvelopeFramer, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) framer.push(chunk, (frame) => out.push(decoder.decode(frame)));
  return out;
}

/** The same with `onSpan`: objects wholly in a chunk come as offsets, decoded here. */
function frameAllWithSpans(framer: EnvelopeFramer, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    framer.push(
      chunk,
      (frame) => out.push(decoder.decode(frame)),
      (start, end) => out.push(decoder.decode(chunk.subarray(start, end))),
    );
  }
  return out;
}

function splitRandomly(bytes: Uint8Array, random: () => number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + randomInt(random, maxChunk);
    chunks.push(bytes.slice(i, i + n));
    i += n;
  }
  return chunks;
}

Deno.test("EnvelopeFramer yields the same envelopes for any random split of a concatenated corpus", () => {
  const random = mulberry32(42);
  const separators = ["", "\n", " ", "\r\n", "\t \n"];
  for (let round = 0; round < 40; round++) {
    const stream = encoder.encode(
      texts.map((t) => t + separators[randomInt(random, separators.length)]).join(""),
    );
    const maxChunk = [1, 2, 7, 64, 4096, 65536][round % 6];
    const chunks = splitRandomly(stream, random, maxChunk);
    const frames = frameAll(new EnvelopeFramer(), chunks);
    assert.deepEqual(frames, texts, `round ${round}, chunks up to ${maxChunk} bytes`);
    const spans = frameAllWithSpans(new EnvelopeFramer(), chunks);
    assert.deepEqual(spans, texts, `round ${round} with spans, chunks up to ${maxChunk} bytes`);
  }
});

Deno.test("EnvelopeFramer splits multi-byte UTF-8 characters across chunks without harm", () => {
  const text = '{"type":"text/plain","content":"😀😀😀 ção"}';
  const bytes = encoder.encode(text);
  for (let cut = 1; cut < bytes.length; cut++) {
    const frames = frameAll(new EnvelopeFramer(), [bytes.slice(0, cut), bytes.slice(cut)]);
    assert.deepEqual(frames, [text]);
  }
});

Deno.test("EnvelopeFramer handles an escape split at every position", () => {
  const text = tricky[0] + tricky[3];
  const bytes = encoder.encode(text);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(frameAll(new EnvelopeFramer(), [bytes.slice(0, cut), bytes.slice(cut)]), [
      tricky[0],
      tricky[3],
    ]);
  }
});

for (
  const [name, input] of [
    ["plain text", "hello"],
    ["a JSON array", "[1,2]"],
    ["a string", '"x"'],
    ["a closing brace", "}"],
    ["garbage after an envelope", '{"state":"new"}x'],
    ["a number between envelopes", '{"state":"new"} 1 {"state":"new"}'],
  ]
) {
  Deno.test(`EnvelopeFramer refuses ${name} between envelopes`, () => {
    assert.throws(
      () => frameAll(new EnvelopeFramer(), [encoder.encode(input)]),
      (e) =>
        e instanceof TransportError && e.code === "framing" && /between envelopes/.test(e.message),
    );
  });
}

Deno.test("EnvelopeFramer refuses an object over the size cap, holding at most cap + one chunk", () => {
  const cap = 1024 * 1024;
  const chunkSize = 64 * 1024;
  const framer = new EnvelopeFramer({ maxEnvelopeSize: cap });
  const chunk = encoder.encode("a".repeat(chunkSize));
  framer.push(encoder.encode('{"type":"text/plain","content":"'), () => {});
  let error: unknown;
  for (let i = 0; i < 100 && !error; i++) {
    try {
      framer.push(chunk, () => {});
    } catch (e) {
      error = e;
    }
    assert.ok(framer.buffered <= cap + chunkSize, `holds ${framer.buffered} bytes`);
  }
  assert.ok(
    error instanceof TransportError && error.code === "framing" &&
      /larger than the maximum/.test(error.message),
  );
});

Deno.test("EnvelopeFramer accepts an object of exactly the cap and refuses one byte more", () => {
  const body = (n: number) => `{"c":"${"x".repeat(n - 8)}"}`;
  assert.equal(encoder.encode(body(100)).length, 100);
  assert.equal(
    frameAll(new EnvelopeFramer({ maxEnvelopeSize: 100 }), [encoder.encode(body(100))]).length,
    1,
  );
  assert.throws(
    () => frameAll(new EnvelopeFramer({ maxEnvelopeSize: 100 }), [encoder.encode(body(101))]),
    TransportError,
  );
});

Deno.test("EnvelopeFramer refuses nesting deeper than the limit, objects and arrays alike", () => {
  const nested = (depth: number) => '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1);
  assert.equal(
    frameAll(new EnvelopeFramer({ maxDepth: 64 }), [encoder.encode(nested(64))]).length,
    1,
  );
  assert.throws(
    () => frameAll(new EnvelopeFramer({ maxDepth: 64 }), [encoder.encode(nested(65))]),
    /nested deeper than 64/,
  );
  const arrays = '{"a":' + "[".repeat(70) + "]".repeat(70) + "}";
  assert.throws(
    () => frameAll(new EnvelopeFramer({ maxDepth: 64 }), [encoder.encode(arrays)]),
    /nested deeper/,
  );
  // A deep bomb that never closes is refused as soon as it passes the limit, not when it ends.
  const framer = new EnvelopeFramer({ maxDepth: 64 });
  assert.throws(
    () => framer.push(encoder.encode('{"a":'.repeat(100_000)), () => {}),
    /nested deeper/,
  );
});

Deno.test("EnvelopeFramer never hangs, crashes or grows past the cap on random bytes", () => {
  const random = mulberry32(7);
  const cap = 4096;
  let refused = 0;
  let framed = 0;
  for (let round = 0; round < 2000; round++) {
    const framer = new EnvelopeFramer({ maxEnvelopeSize: cap, maxDepth: 16 });
    const length = 1 + randomInt(random, 8192);
    const bytes = new Uint8Array(length);
    // Bias towards structural bytes so that objects do start and nest.
    const alphabet = [0x7b, 0x7d, 0x22, 0x5c, 0x5b, 0x5d, 0x20, 0x61, 0x3a, 0x2c, 0xc3, 0xff];
    for (let i = 0; i < length; i++) {
      bytes[i] = random() < 0.7
        ? alphabet[randomInt(random, alphabet.length)]
        : randomInt(random, 256);
    }
    try {
      for (const chunk of splitRandomly(bytes, random, 512)) {
        framer.push(chunk, () => framed++);
        assert.ok(framer.buffered <= cap + 512);
      }
    } catch (e) {
      assert.ok(e instanceof TransportError && e.code === "framing", String(e));
      refused++;
    }
  }
  assert.ok(refused > 100, `refused ${refused}`);
});

Deno.test("EnvelopeFramer refuses an envelope with more object members than maxMembers, before any parse", () => {
  const members = (n: number) => {
    const entries = Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(",");
    return encoder.encode(`{"state":"new","metadata":{${entries}}}`);
  };
  const framer = new EnvelopeFramer({ maxMembers: 1001 });
  let frames = 0;
  // 1,000 metadata entries plus "state" and "metadata": exactly the cap.
  framer.push(members(999), () => frames++);
  assert.equal(frames, 1);
  assert.throws(
    () => framer.push(members(1000), () => frames++),
    (e) =>
      e instanceof TransportError && e.code === "framing" &&
      /more than 1001 object members/.test(e.message),
  );
  // Colons inside strings are not members; the count restarts with every envelope.
  const strings = new EnvelopeFramer({ maxMembers: 2 });
  strings.push(encoder.encode(`{"a":"x:y:z:w"}{"b":"::::"}`), () => frames++);
  assert.equal(frames, 3);
});

Deno.test("EnvelopeFramer.maxEnvelopeSize can be lowered and raised between envelopes", () => {
  const framer = new EnvelopeFramer({ maxEnvelopeSize: 1 << 20 });
  framer.maxEnvelopeSize = 32;
  assert.throws(
    () => framer.push(encoder.encode(`{"content":"${"x".repeat(64)}"}`), () => {}),
    (e) => e instanceof TransportError && /larger than the maximum of 32 bytes/.test(e.message),
  );
  const again = new EnvelopeFramer({ maxEnvelopeSize: 32 });
  again.maxEnvelopeSize = 1 << 20;
  let frames = 0;
  again.push(encoder.encode(`{"content":"${"x".repeat(64)}"}`), () => frames++);
  assert.equal(frames, 1);
});

Deno.test("EnvelopeFramer frames node Buffers (what TCP sockets give) like plain bytes, into plain Uint8Array frames", () => {
  const random = mulberry32(2026);
  // Long strings take the indexOf path; views into a larger pool take byteOffset into account.
  const long = `{"id":"l","type":"text/plain","content":"${'x\\"y'.repeat(60)}"}`;
  const stream = encoder.encode([...texts, long, long].join("\n"));
  for (let round = 0; round < 20; round++) {
    const pool = Buffer.alloc(stream.length + 64);
    pool.set(stream, 32);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < stream.length;) {
      const n = 1 + randomInt(random, round < 10 ? 300 : 5_000);
      chunks.push(pool.subarray(32 + i, 32 + Math.min(stream.length, i + n)));
      i += n;
    }
    assert.ok(chunks.every((chunk) => chunk instanceof Buffer));
    const framer = new EnvelopeFramer();
    const frames: Uint8Array[] = [];
    const out: string[] = [];
    for (const chunk of chunks) {
      framer.push(chunk, (frame) => {
        frames.push(frame);
        out.push(decoder.decode(frame));
      });
    }
    assert.deepEqual(out, [...texts, long, long]);
    assert.ok(frames.every((frame) => frame.constructor === Uint8Array));
    assert.equal(framer.inObject, false);
  }
});
