/**
 * A received chunk decoded once when it is all ASCII (`ascii_chunk.ts`, used by `TcpTransport`):
 * the decision, the framer's spans, and real sockets delivering exactly what was written,
 * whichever path a chunk takes (ASCII, not ASCII, invalid UTF-8, envelopes split across writes).
 */
import assert from "node:assert/strict";
import type { Envelope } from "../src/envelope.ts";
import { asciiSpans, asciiText, MIN_ASCII_CHUNK } from "../src/transport/ascii_chunk.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { rawPeer, within, writeAll } from "./tcp_helpers.ts";

const encoder = new TextEncoder();

Deno.test("asciiText: the text of an all-ASCII chunk, undefined for any other byte", () => {
  const ascii = '{"id":"1","type":"text/plain","content":"plain \\u00e9 text"}';
  assert.equal(asciiText(encoder.encode(ascii)), ascii);
  assert.equal(asciiText(new Uint8Array(0)), "");
  assert.equal(asciiText(Uint8Array.of(0x00, 0x7f)), "\u0000\u007f"); // the ends of ASCII
  // Valid UTF-8 beyond ASCII: fewer characters than bytes.
  assert.equal(asciiText(encoder.encode('{"content":"ação"}')), undefined);
  assert.equal(asciiText(encoder.encode('{"content":"😀"}')), undefined);
  // A real U+FFFD (3 bytes) is not ASCII either.
  assert.equal(asciiText(encoder.encode('{"content":"\uFFFD"}')), undefined);
  // Bytes that are not UTF-8 (decoded, one U+FFFD each: as many characters as bytes).
  assert.equal(asciiText(new Uint8Array(300).fill(0xff)), undefined);
  const oneBad = encoder.encode('{"content":"x"}');
  oneBad[12] = 0x80;
  assert.equal(asciiText(oneBad), undefined);
});

Deno.test("asciiSpans: text slices for an ASCII chunk, byte views otherwise, looked at only once an envelope ends", () => {
  let looked = 0;
  const textOf = (chunk: Uint8Array) => {
    looked++;
    return asciiText(chunk);
  };
  const framer = new EnvelopeFramer();
  const got: (string | Uint8Array)[] = [];
  const onFrame = (frame: string | Uint8Array) => got.push(frame);
  const push = (wire: string) => {
    const chunk = encoder.encode(wire);
    framer.push(chunk, onFrame, asciiSpans(chunk, onFrame, textOf));
  };
  push(`{"a":"${"x".repeat(300)}`); // no envelope ends here: not looked at
  assert.equal(looked, 0);
  push(`"}{"b":1} {"c":"${"y".repeat(300)}"}`);
  assert.equal(looked, 1);
  assert.deepEqual(got, [
    encoder.encode(`{"a":"${"x".repeat(300)}"}`), // assembled: bytes, through onFrame
    '{"b":1}',
    `{"c":"${"y".repeat(300)}"}`,
  ]);
  got.length = 0;
  push(`{"d":"ç"}{"e":2}${" ".repeat(300)}`); // not ASCII: views of the bytes
  assert.equal(looked, 2);
  assert.deepEqual(got.map((frame) => frame instanceof Uint8Array), [true, true]);
  assert.deepEqual(got.map((frame) => new TextDecoder().decode(frame as Uint8Array)), [
    '{"d":"ç"}',
    '{"e":2}',
  ]);
  got.length = 0;
  push(`{"f":3}${" ".repeat(300)}`); // ASCII again at once (no backoff)
  assert.deepEqual(got, ['{"f":3}']);
});

Deno.test("EnvelopeFramer: onSpan gets the offsets of objects wholly in the chunk, onFrame the assembled ones", () => {
  const framer = new EnvelopeFramer();
  const got: string[] = [];
  const decoder = new TextDecoder();
  const push = (wire: string) => {
    const chunk = encoder.encode(wire);
    return framer.push(
      chunk,
      (frame) => got.push(`frame ${decoder.decode(frame)}`),
      (start, end) => got.push(`span ${start}-${end} ${wire.slice(start, end)}`),
    );
  };
  assert.equal(push(' {"a":"}"}\n{"b":[1]}{"c":'), 25);
  assert.equal(push('"x"}  {"d":"\\\\"} {"e"'), 21);
  assert.equal(push(":1}"), 3);
  assert.deepEqual(got, [
    'span 1-10 {"a":"}"}',
    'span 11-20 {"b":[1]}',
    'frame {"c":"x"}',
    'span 6-16 {"d":"\\\\"}',
    'frame {"e":1}',
  ]);
  // Stopping after a span: the bytes after it are not looked at.
  const stopping = new EnvelopeFramer();
  const wire = encoder.encode('{"a":1}{"b":2}');
  assert.equal(stopping.push(wire, () => true, () => false), 7);
});

const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

Deno.test("TcpTransport delivers what was written through every decoding path", async () => {
  await using peer = await rawPeer();
  const sent: string[] = [];
  const envelope = (i: number, content: string) =>
    JSON.stringify({ id: `m${i}`, to: "bob@localhost/x", type: "text/plain", content });
  let serial = 0;
  // A write of `count` envelopes (with whitespace between some), or the first `cut` bytes of it.
  const batch = (count: number, content: (i: number) => string): string => {
    let wire = "";
    for (let k = 0; k < count; k++) {
      const text = envelope(serial, content(serial));
      serial++;
      sent.push(text);
      wire += k % 3 === 0 ? `${text}\r\n` : text;
    }
    return wire;
  };
  const ascii = (i: number) => `plain ascii ${i} with {braces} and \\"quotes\\"`.repeat(1 + i % 3);
  const portuguese = (i: number) => `ação número ${i}, olá 😀`;
  const writes: Uint8Array[] = [];
  // 1. All ASCII, one envelope split across two writes (its tail opens the next write).
  const first = encoder.encode(batch(40, ascii));
  const split = first.length - 30;
  writes.push(first.subarray(0, split), first.subarray(split));
  // 2. Not ASCII: per-envelope decoding.
  for (let w = 0; w < 4; w++) writes.push(encoder.encode(batch(12, portuguese)));
  // 3. ASCII again, in chunks of at least MIN_ASCII_CHUNK bytes.
  for (let w = 0; w < 24; w++) {
    const wire = encoder.encode(batch(6, ascii));
    assert.ok(wire.length >= MIN_ASCII_CHUNK);
    writes.push(wire);
  }
  // 4. Short chunks (decoded per envelope), an envelope written byte by byte in the middle.
  const short = encoder.encode(batch(1, ascii));
  for (let i = 0; i < short.length; i += 7) writes.push(short.subarray(i, i + 7));
  // 5. Mixed in one write: ASCII envelopes and one with U+FFFD written as UTF-8.
  writes.push(encoder.encode(batch(5, (i) => (i % 5 === 2 ? "real \uFFFD here" : ascii(i)))));
  for (const bytes of writes) {
    await writeAll(peer.conn, bytes);
    await pause();
  }
  const got: Envelope[] = [];
  for (let i = 0; i < sent.length; i++) got.push(await peer.receive());
  assert.deepEqual(got, sent.map((text) => JSON.parse(text)));
});

Deno.test("TcpTransport refuses invalid UTF-8 in a large chunk of otherwise ASCII envelopes", async () => {
  await using peer = await rawPeer();
  const good = JSON.stringify({ id: "ok", type: "text/plain", content: "x".repeat(300) });
  const bad = encoder.encode(JSON.stringify({ id: "bad", type: "text/plain", content: "y!" }));
  bad[bad.indexOf(0x21)] = 0xff; // the "!" becomes a byte that is not UTF-8
  const wire = new Uint8Array([...encoder.encode(good), ...bad]);
  assert.ok(wire.length >= MIN_ASCII_CHUNK);
  await writeAll(peer.conn, wire);
  assert.equal((await peer.receive()).id, "ok");
  const info = await within(peer.server.closed);
  assert.equal(info.error?.code, "invalid-envelope");
  assert.match(info.error!.message, /not valid UTF-8/);
});
