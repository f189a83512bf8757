import assert from "node:assert/strict";
import { FrameReader, unmask, validCloseCode } from "../src/transport/websocket_frames.ts";
import {
  encodeCloseFrame,
  encodeTextFrames,
  headerLength,
} from "../src/transport/websocket_frame_writer.ts";
import { acceptKey, parseRequestHead } from "../src/transport/websocket_handshake.ts";
import { clientFrame } from "./websocket_raw_client.ts";

const decoder = new TextDecoder();

/** A reader whose events are recorded as strings. */
function recorder(maxMessageSize = 1024) {
  const events: string[] = [];
  const reader = new FrameReader({
    message: (payload, text) =>
      events.push(`${text ? "text" : "binary"}:${decoder.decode(payload)}`),
    ping: (payload) => events.push(`ping:${decoder.decode(payload)}`),
    pong: (payload) => events.push(`pong:${decoder.decode(payload)}`),
    close: (code, reason) => events.push(`close:${code}:${reason}`),
    error: (code, reason) => events.push(`error:${code}:${reason}`),
  }, maxMessageSize);
  return { reader, events };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Pushes `bytes` in pieces of `size` (copies, as a socket would hand them over). */
function pushIn(reader: FrameReader, bytes: Uint8Array, size: number): void {
  for (let at = 0; at < bytes.length; at += size) reader.push(bytes.slice(at, at + size));
}

Deno.test("FrameReader assembles a fragmented message with control frames in between, however the bytes are split", () => {
  const stream = concat(
    clientFrame(1, "hel", { fin: false }),
    clientFrame(9, "are you there"),
    clientFrame(0, "lo ", { fin: false, mask: new Uint8Array([9, 8, 7, 6]) }),
    clientFrame(10, "pong"),
    clientFrame(0, "wörld"),
    clientFrame(2, "{}"),
    clientFrame(1, ""),
  );
  for (const size of [1, 2, 3, 7, stream.length]) {
    const { reader, events } = recorder();
    pushIn(reader, stream, size);
    assert.deepEqual(events, [
      "ping:are you there",
      "pong:pong",
      "text:hello wörld",
      "binary:{}",
      "text:",
    ], `pieces of ${size}`);
  }
});

Deno.test("FrameReader reports close frames: code and reason, 1005 when empty", () => {
  const { reader, events } = recorder();
  const reason = new TextEncoder().encode("bye é");
  reader.push(clientFrame(8, concat(new Uint8Array([0x03, 0xe8]), reason)));
  reader.push(clientFrame(8, ""));
  assert.deepEqual(events, ["close:1000:bye é", "close:1005:"]);
});

for (
  const [what, frame, expected] of [
    ["an unmasked frame", clientFrame(1, "{}", { mask: null }), /^error:1002:.*must be masked/],
    ["reserved bits", clientFrame(1, "{}", { rsv: 0x40 }), /^error:1002:Reserved bits/],
    ["an unknown data opcode", clientFrame(3, "x"), /^error:1002:Unknown opcode 3/],
    ["an unknown control opcode", clientFrame(11, "x"), /^error:1002:Unknown opcode 11/],
    ["a continuation without a message", clientFrame(0, "x"), /^error:1002:Continuation/],
    ["a fragmented ping", clientFrame(9, "x", { fin: false }), /^error:1002:Fragmented control/],
    ["a 126-byte ping", clientFrame(9, "p".repeat(126)), /^error:1002:Control frame of 126/],
    ["a close frame of one byte", clientFrame(8, new Uint8Array([3])), /^error:1002:Close frame/],
    [
      "close code 1005 on the wire",
      clientFrame(8, new Uint8Array([3, 0xed])),
      /^error:1002:Close code 1005/,
    ],
    [
      "a close reason that is not UTF-8",
      clientFrame(8, new Uint8Array([3, 0xe8, 0xff])),
      /^error:1007:/,
    ],
    [
      "a new message inside a fragmented one",
      concat(clientFrame(1, "a", { fin: false }), clientFrame(1, "b")),
      /^error:1002:New message before/,
    ],
    [
      "a 64-bit length past 2^53",
      concat(new Uint8Array([0x81, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]), new Uint8Array(4)),
      /^error:1002:Frame too long/,
    ],
  ] as const
) {
  Deno.test(`FrameReader refuses ${what} and reads nothing after it`, () => {
    const { reader, events } = recorder();
    reader.push(concat(frame, clientFrame(1, "after")));
    assert.equal(events.length, 1, events.join(" | "));
    assert.match(events[0], expected);
  });
}

Deno.test("FrameReader refuses an oversize message on its header alone (1009), skips it and still reads the close", () => {
  const { reader, events } = recorder(1024);
  // 60 MiB announced; only the header arrives.
  reader.push(clientFrame(1, "", { length: 60 * 1024 * 1024 }).subarray(0, 14));
  assert.deepEqual(events, [
    "error:1009:The incoming WebSocket message is 62914560 bytes, over the maximum envelope size of 1024",
  ]);
  assert.equal(reader.buffered, 0);
  // The rest of a smaller oversize frame is skipped, not kept; the close after it is read.
  const { reader: second, events: seen } = recorder(1024);
  const big = clientFrame(1, "x".repeat(5000));
  pushIn(second, concat(big, clientFrame(8, new Uint8Array([3, 0xe8]))), 100);
  assert.equal(second.buffered, 0);
  assert.match(seen[0], /^error:1009:.* 5000 bytes/);
  assert.deepEqual(seen.slice(1), ["close:1000:"]);
});

Deno.test("FrameReader refuses fragments adding up past the limit at the fragment that passes it", () => {
  const { reader, events } = recorder(10);
  reader.push(clientFrame(1, "12345", { fin: false }));
  reader.push(clientFrame(0, "67890", { fin: false }));
  assert.deepEqual(events, []);
  reader.push(clientFrame(0, "x", { fin: false }).subarray(0, 6));
  assert.deepEqual(events, [
    "error:1009:The incoming WebSocket message is at least 11 bytes, over the maximum envelope size of 10",
  ]);
});

Deno.test("FrameReader grows its buffer with what arrived, not with what was announced", () => {
  const { reader } = recorder(8 * 1024 * 1024);
  reader.push(clientFrame(1, "", { length: 8 * 1024 * 1024 }).subarray(0, 14));
  reader.push(new Uint8Array(100));
  assert.equal(reader.buffered, 100);
});

Deno.test("FrameReader skips data once dropData is set (a closing connection)", () => {
  const { reader, events } = recorder(10);
  reader.dropData = true;
  reader.push(concat(clientFrame(1, "x".repeat(50)), clientFrame(8, "")));
  assert.deepEqual(events, ["close:1005:"]);
});

Deno.test("unmask matches a byte-by-byte XOR at every alignment and mask offset", () => {
  const mask = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const source = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) & 0xff);
  for (let start = 0; start < 5; start++) {
    for (let offset = 0; offset < 4; offset++) {
      const bytes = source.slice();
      const view = bytes.subarray(start, 200 + start);
      unmask(view, mask, offset);
      for (let i = 0; i < view.length; i++) {
        assert.equal(view[i], source[start + i] ^ mask[(offset + i) & 3]);
      }
    }
  }
});

Deno.test("validCloseCode accepts the registered and private codes only", () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4000, 4999]) {
    assert.ok(validCloseCode(code), String(code));
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000]) {
    assert.ok(!validCloseCode(code), String(code));
  }
});

Deno.test("encodeTextFrames writes unmasked frames with the shortest length field", () => {
  for (const length of [0, 125, 126, 65535, 65536]) {
    const text = "a".repeat(length);
    const frame = encodeTextFrames([text]);
    assert.equal(frame.length, headerLength(length) + length);
    assert.equal(frame[0], 0x81);
    assert.equal(frame[1] & 0x80, 0);
  }
  // Several texts (one reserving more header than it needs) back to back, multibyte included.
  const texts = ["é".repeat(50), "x", "€".repeat(30_000)];
  const frames = encodeTextFrames(texts);
  let at = 0;
  for (const text of texts) {
    const bytes = new TextEncoder().encode(text);
    const size = headerLength(bytes.length);
    assert.equal(frames[at], 0x81);
    assert.deepEqual(frames.subarray(at + size, at + size + bytes.length), bytes);
    at += size + bytes.length;
  }
  assert.equal(at, frames.length);
  // A large one goes its own way.
  const big = encodeTextFrames(["z".repeat(300_000), "y"]);
  assert.equal(big.length, 10 + 300_000 + 2 + 1);
});

Deno.test("encodeCloseFrame cuts the reason to 123 bytes on a character boundary", () => {
  const frame = encodeCloseFrame(4000, "é".repeat(100));
  assert.equal(frame[0], 0x88);
  assert.equal(frame[1], 2 + 122); // 61 two-byte characters fit in 123 bytes
  assert.deepEqual([...frame.subarray(2, 4)], [0x0f, 0xa0]);
  assert.equal(encodeCloseFrame(1005, "ignored").length, 2);
});

Deno.test("acceptKey computes the RFC 6455 example", () => {
  assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("parseRequestHead reads the request line and headers, and refuses malformed heads", () => {
  const head = parseRequestHead("GET /lime?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade:  websocket ");
  assert.equal(head?.pathname, "/lime");
  assert.equal(head?.headers.get("upgrade"), "websocket");
  assert.equal(parseRequestHead("GET /lime HTTP/2\r\nHost: a"), undefined);
  assert.equal(parseRequestHead("GET /lime HTTP/1.1\r\nno colon"), undefined);
  assert.equal(parseRequestHead("GET /lime HTTP/1.1\r\nBad Name: x"), undefined);
});
