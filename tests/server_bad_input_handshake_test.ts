/**
 * LimeServer under hostile input, part two (the harness and the healthy-session checks are in
 * tests/server_bad_input_test.ts): bytes that cannot be framed or decoded, envelopes out of the
 * session's order, bad establishment input, and the connection limits (maxEstablishing,
 * maxSessionsPerIdentity, the establishment timeout against a slowloris). Every row runs over TCP
 * and over WebSocket against one running server while two healthy sessions keep talking.
 */
import assert from "node:assert/strict";
import {
  advance,
  type Battery,
  battery,
  CAROL,
  type Category,
  CLOSED,
  closeQuietly,
  type Ctx,
  delay,
  E,
  failed,
  failedNotification,
  like,
  LIMITS,
  ping,
  pong,
  RawPeer,
  readLoop,
  refused,
  reply,
  REPLY_MS,
  send,
  SERVER,
  type Step,
  text,
  UUID,
  type Via,
  writeAll,
} from "./server_bad_input_test.ts";
import { within } from "./tcp_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NOBODY = "nobody@localhost";
const unexpectedByte = (hex: string) =>
  `Invalid input: Unexpected byte 0x${hex} between envelopes (expected "{")`;
const forbidden = (state: string, now = "authenticating") =>
  `Cannot receive a "${state}" session envelope (sent by the client): session state is "${now}"`;
const tooLarge = (via: Via) =>
  via === "tcp"
    ? /^Invalid input: The incoming envelope is larger than the maximum of 16384 bytes \(\d+ bytes so far\)$/
    // Refused on the frame header, which gives the exact size.
    : /^Invalid input: The incoming WebSocket message is \d+ bytes, over the maximum envelope size of 16384$/;
const authenticating = (
  c: Ctx,
  from: string | undefined,
  scheme: string,
  authentication: unknown,
) => E({ state: "authenticating", id: c.sid, ...(from ? { from } : {}), scheme, authentication });
/** A message nested `depth` levels deep, the envelope being the first level. */
const nested = (depth: number) =>
  `{"id":"d${depth}","to":"${NOBODY}","type":"application/json","content":` +
  '{"a":'.repeat(depth - 2) + "{}" + "}".repeat(depth - 2) + "}";

// ------------------------------------------------------------------ a WebSocket by hand

/** The mask of every hand-made client frame. */
const MASK = [0x12, 0x34, 0x56, 0x78];

/** A masked client frame announcing `length` payload bytes, followed by `payload` (maybe less). */
function wsFrame(opcode: number, payload: Uint8Array, length = payload.length): Uint8Array {
  const header = length < 126
    ? [0x80 | opcode, 0x80 | length]
    : [0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff];
  return Uint8Array.from([...header, ...MASK, ...payload.map((byte, i) => byte ^ MASK[i % 4])]);
}

/** One server frame at the start of `bytes`, when complete. */
function parseFrame(bytes: Uint8Array) {
  if (bytes.length < 2) return undefined;
  let length = bytes[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = (bytes[2] << 8) | bytes[3];
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    length = Number(new DataView(bytes.buffer, bytes.byteOffset + 2, 8).getBigUint64(0));
    offset = 10;
  }
  if (bytes.length < offset + length) return undefined;
  return {
    opcode: bytes[0] & 0x0f,
    payload: bytes.slice(offset, offset + length),
    size: offset + length,
  };
}

/**
 * A LIME WebSocket spoken by hand over TCP, for what the WebSocket API cannot do (send a frame a
 * byte at a time): `conn` takes raw bytes; the server's frames are parsed into envelopes, and its
 * close is answered.
 */
async function handMadeWebSocket(address: string): Promise<RawPeer> {
  const [hostname, port] = address.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await writeAll(
    conn,
    `GET / HTTP/1.1\r\nHost: ${address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: lime\r\n\r\n`,
  );
  let reading: Promise<void> = Promise.resolve();
  const peer = new RawPeer(
    "ws",
    (chunk) =>
      writeAll(conn, wsFrame(1, typeof chunk === "string" ? encoder.encode(chunk) : chunk)),
    async () => {
      closeQuietly(conn);
      await reading;
    },
  );
  peer.conn = conn;
  const head = Promise.withResolvers<string>();
  let buffer = new Uint8Array(0);
  let inHead = true;
  reading = readLoop(conn, (bytes) => {
    buffer = Uint8Array.from([...buffer, ...bytes]);
    if (inHead) {
      const end = decoder.decode(buffer).indexOf("\r\n\r\n");
      if (end < 0) return;
      inHead = false;
      head.resolve(decoder.decode(buffer.subarray(0, end)));
      buffer = buffer.slice(end + 4);
    }
    for (let frame = parseFrame(buffer); frame; frame = parseFrame(buffer)) {
      buffer = buffer.slice(frame.size);
      if (frame.opcode === 1) peer.pushFrames(frame.payload);
      if (frame.opcode === 8) {
        writeAll(conn, wsFrame(8, frame.payload.subarray(0, 2))).catch(() => {});
        peer.push(CLOSED);
        return;
      }
    }
  }).then(() => peer.push(CLOSED));
  assert.match(await within(head.promise, REPLY_MS, "the upgrade"), /^HTTP\/1\.1 101 /);
  return peer;
}

// ------------------------------------------------------------------ rows with several connections

/** maxEstablishing connections wait for `new`; one more is refused at once. */
async function tooManyEstablishing(b: Battery, via: Via, tag: string): Promise<void> {
  await b.ping(); // earlier rows' connections are gone by now
  const waiting: RawPeer[] = [];
  try {
    for (let i = 0; i < LIMITS.maxEstablishing; i++) waiting.push(await b.connect(via));
    const started = performance.now();
    const extra = await b.connect(via);
    const c: Ctx = { via, peer: extra, sid: "", node: "", battery: b };
    like(
      await extra.next(),
      failed(c, 11, "Too many connections are establishing a session; try again later"),
      "the refusal",
    );
    assert.equal(await extra.next(), CLOSED, "the refused connection is closed");
    const elapsed = performance.now() - started;
    assert.ok(elapsed < LIMITS.establishmentTimeout / 2, `refused at once (${elapsed} ms)`);
    // The waiting connections hold their slots: one of them establishes.
    const first = await advance(b, waiting[0], "established", `${tag}@localhost/raw`);
    await first.peer.send(ping("p"));
    like(await first.peer.next(), pong(first, "p"), "the waiting connection's session works");
  } finally {
    for (const peer of waiting) await peer.close();
  }
}

/** maxSessionsPerIdentity instances of one identity; another is refused with 12. */
async function tooManyInstances(b: Battery, via: Via, tag: string): Promise<void> {
  const identity = `${tag}@localhost`;
  const sessions: Ctx[] = [];
  for (let i = 0; i < LIMITS.maxSessionsPerIdentity; i++) {
    sessions.push(await advance(b, await b.connect(via), "established", `${identity}/i${i}`));
  }
  const c = await advance(b, await b.connect(via), "offered", "");
  await c.peer.send(authenticating(c, `${identity}/extra`, "guest", {}));
  like(
    await c.peer.next(),
    failed(
      c,
      12,
      `"${identity}" already has ${LIMITS.maxSessionsPerIdentity} sessions, the most allowed`,
    ),
    "refusal",
  );
  assert.equal(await c.peer.next(), CLOSED, "the refused connection is closed");
  // A guest never replaces a live session, not even one of the node it names: it proves nothing.
  const again = await advance(b, await b.connect(via), "offered", "");
  await again.peer.send(authenticating(again, `${identity}/i0`, "guest", {}));
  like(
    await again.peer.next(),
    failed(again, 12, `The node "${identity}/i0" is in use by a session this one cannot replace`),
    "the refused replacement",
  );
  assert.equal(await again.peer.next(), CLOSED);
  await sessions[0].peer.send(ping("p"));
  like(await sessions[0].peer.next(), pong(sessions[0], "p"), "the first session still works");
}

/**
 * Slowloris: `{"state":"new"}` one byte every 100 ms (over WebSocket: one frame, its payload a byte
 * at a time); the establishment timeout ends it with 16.
 */
async function slowloris(b: Battery, via: Via): Promise<void> {
  const peer = via === "tcp"
    ? await b.connect("tcp")
    : b.track(await handMadeWebSocket(b.address("ws")));
  const conn = peer.conn!;
  const envelope = encoder.encode('{"state":"new"}');
  const started = performance.now();
  if (via === "ws") await writeAll(conn, wsFrame(1, new Uint8Array(0), envelope.length));
  let dribbling = true;
  const dribble = (async () => {
    for (let i = 0; i < envelope.length && dribbling; i++) {
      const byte = via === "tcp" ? envelope[i] : envelope[i] ^ MASK[i % 4];
      try {
        await writeAll(conn, Uint8Array.of(byte));
      } catch {
        return; // the server closed
      }
      await delay(100);
    }
  })();
  try {
    const c: Ctx = { via, peer, sid: "", node: "", battery: b };
    like(
      await peer.next(),
      failed(c, 16, `The session establishment timed out after ${LIMITS.establishmentTimeout} ms`),
      "the timeout",
    );
    const elapsed = performance.now() - started;
    assert.ok(
      elapsed >= LIMITS.establishmentTimeout - 50,
      `failed by the timeout, not before (${elapsed} ms)`,
    );
    assert.equal(await peer.next(), CLOSED, "the server closes the connection");
  } finally {
    dribbling = false;
    await dribble;
  }
}

// ------------------------------------------------------------------ the rows

const ROWS: Category[] = [
  // ---------------------------------------------------------------- framing and decoding
  refused("not JSON", "connected", () => "hello", 21, unexpectedByte("68")),
  refused("a JSON array", "connected", () => '[{"state":"new"}]', 21, unexpectedByte("5b")),
  refused("a JSON string", "connected", () => '"new"', 21, unexpectedByte("22")),
  refused("a JSON number", "connected", () => "42", 21, unexpectedByte("34")),
  refused("JSON null", "connected", () => "null", 21, unexpectedByte("6e")),
  refused(
    "braces around something that is not JSON",
    "connected",
    () => "{new}",
    21,
    /^Invalid envelope: not JSON \(/,
  ),
  refused(
    "an empty object",
    "connected",
    () => "{}",
    21,
    'Invalid envelope: none of the keys "content", "event", "method", "state" tells its kind',
  ),
  refused(
    "a UTF-8 byte order mark before new",
    "connected",
    () => '\uFEFF{"state":"new"}',
    21,
    unexpectedByte("ef"),
  ),
  refused(
    "bad UTF-8 inside a string (WebSocket: a binary message)",
    "connected",
    () => Uint8Array.from([...encoder.encode('{"state":"new","x":"'), 0xff, 0xfe, 0x22, 0x7d]),
    21,
    "Invalid envelope: the bytes are not valid UTF-8",
  ),
  refused(
    "nesting deeper than 64",
    "established",
    () => nested(65),
    21,
    "Invalid input: The envelope is nested deeper than 64 levels",
  ),
  {
    name: "nesting of exactly 64 (the limit)",
    expect: "accepted and routed: failed notification 42; session goes on",
    stage: "established",
    steps: (c) => [
      send(nested(64)),
      reply(failedNotification(c, "d64", NOBODY, 42, `The destination "${NOBODY}" was not found`)),
    ],
    closes: false,
  },
  refused(
    `an envelope over maxEnvelopeSize (${LIMITS.maxEnvelopeSize} bytes)`,
    "established",
    () => text("big", NOBODY, { content: "x".repeat(LIMITS.maxEnvelopeSize) }),
    21,
    (c) => tooLarge(c.via),
  ),
  refused(
    "an unterminated object growing over maxEnvelopeSize",
    "connected",
    () => '{"state":"new","x":"' + "x".repeat(LIMITS.maxEnvelopeSize),
    21,
    (c) => tooLarge(c.via),
  ),
  {
    name: "garbage bytes between envelopes",
    expect: "failed session 21, closed (the envelope after the garbage is not read)",
    stage: "established",
    steps: (c) => [
      send(text("g1", c.node)),
      reply({ id: "g1", to: c.node, from: c.node, type: "text/plain", content: "x" }),
      send("\u0000\u0001garbage" + ping("g2")),
      reply(failed(c, 21, unexpectedByte("00"))),
    ],
    closes: true,
  },
  {
    name: "whitespace and newlines between envelopes (lime-go sends \\n)",
    expect: "accepted: established, answered, finished",
    stage: "established",
    separator: "\n",
    steps: (c) => [send("\r\n \t\n"), send(" " + ping("w1") + "\r\n\n"), reply(pong(c, "w1"))],
    closes: false,
  },
  {
    name: "half an envelope, then the end of the stream",
    expect:
      "TCP (write side closed): closed without a reply; WebSocket (one message): failed 21, closed",
    stage: "connected",
    steps: (c): Step[] =>
      c.via === "tcp" ? [send('{"state":"new"'), { endWrite: true }] : [
        send('{"state":"new"'),
        reply(failed(c, 21, "Invalid input: The WebSocket message ends inside an envelope")),
      ],
    closes: true,
  },
  // ---------------------------------------------------------------- out of the session's order
  refused(
    "a message before new",
    "connected",
    () => text("m0", NOBODY),
    15,
    'Cannot receive a message: session state is "new"',
  ),
  refused(
    "a notification before the session is established",
    "offered",
    () => E({ id: "n0", event: "received", to: NOBODY }),
    15,
    'Cannot receive a notification: session state is "authenticating"',
  ),
  refused(
    "a command before the session is established",
    "offered",
    () => ping("c0"),
    15,
    'Cannot receive a command: session state is "authenticating"',
  ),
  refused(
    "a second new, after the offer",
    "offered",
    () => '{"state":"new"}',
    15,
    forbidden("new"),
  ),
  refused(
    "new while established",
    "established",
    () => '{"state":"new"}',
    15,
    forbidden("new", "established"),
  ),
  refused(
    "authenticating while established",
    "established",
    (c) => authenticating(c, c.node, "guest", {}),
    15,
    forbidden("authenticating", "established"),
  ),
  refused(
    "failed sent by the client while established",
    "established",
    (c) => E({ state: "failed", id: c.sid, reason: { code: 1 } }),
    15,
    forbidden("failed", "established"),
  ),
  refused(
    "finishing with a wrong session id",
    "established",
    () => E({ state: "finishing", id: "not-this-one" }),
    11,
    'Invalid session id "not-this-one"',
  ),
  {
    name: "finishing twice",
    expect: "one finished, closed",
    stage: "established",
    steps: (c) => [
      send(E({ state: "finishing", id: c.sid }) + E({ state: "finishing", id: c.sid })),
      reply({ state: "finished", id: c.sid, from: SERVER, to: c.node }),
    ],
    closes: true,
  },
  {
    name: "an envelope after finishing",
    expect: "finished only (the ping after it is not answered), closed",
    stage: "established",
    steps: (c) => [
      send(E({ state: "finishing", id: c.sid }) + ping("late")),
      reply({ state: "finished", id: c.sid, from: SERVER, to: c.node }),
    ],
    closes: true,
  },
  {
    name: "two news in one write",
    expect:
      "the offer, then failed 17 (TCP: new is no negotiation choice) / 11 (WebSocket: no credentials), closed",
    stage: "connected",
    steps: (c) => [
      send('{"state":"new"}{"state":"new"}'),
      reply(
        c.via === "tcp"
          ? {
            state: "negotiating",
            id: UUID,
            from: SERVER,
            compressionOptions: ["none", "gzip"],
            encryptionOptions: ["none"],
          }
          : {
            state: "authenticating",
            id: UUID,
            from: SERVER,
            schemeOptions: ["guest", "plain", "key"],
          },
      ),
      reply(
        c.via === "tcp"
          ? failed(c, 17, "An invalid negotiation option was selected")
          : failed(c, 11, "The session establishment failed"),
      ),
    ],
    closes: true,
  },
  refused(
    "authenticating as the first envelope",
    "connected",
    () => E({ state: "authenticating", from: "a@localhost/x", scheme: "guest" }),
    11,
    'Invalid session id: a "authenticating" session envelope needs the session id',
  ),
  refused(
    "a wrong session id",
    "offered",
    () => E({ state: "authenticating", id: "nope", from: "a@localhost/x", scheme: "guest" }),
    11,
    'Invalid session id "nope"',
  ),
  refused(
    "a missing session id",
    "offered",
    () => E({ state: "authenticating", from: "a@localhost/x", scheme: "guest" }),
    11,
    'Invalid session id: a "authenticating" session envelope needs the session id',
  ),
  refused(
    "finishing during authentication",
    "offered",
    (c) => E({ state: "finishing", id: c.sid }),
    15,
    forbidden("finishing"),
  ),
  refused(
    "established sent by the client",
    "offered",
    (c) => E({ state: "established", id: c.sid }),
    15,
    forbidden("established"),
  ),
  refused(
    "failed sent by the client during authentication",
    "offered",
    (c) => E({ state: "failed", id: c.sid, reason: { code: 1 } }),
    15,
    forbidden("failed"),
  ),
  refused(
    "an unknown session state",
    "connected",
    () => '{"state":"bogus"}',
    21,
    /^Invalid session at state: /,
  ),
  // ---------------------------------------------------------------- negotiation and authentication
  {
    name: "negotiation with an option not offered (tls)",
    expect: "TCP: failed session 17; WebSocket (nothing to negotiate): failed session 15; closed",
    stage: "new-sent",
    steps: (c) => [
      send(E({ state: "negotiating", id: c.sid, compression: "none", encryption: "tls" })),
      reply(
        c.via === "tcp"
          ? failed(c, 17, "An invalid negotiation option was selected")
          : failed(c, 15, forbidden("negotiating")),
      ),
    ],
    closes: true,
  },
  refused(
    "negotiation with an unknown compression",
    "new-sent",
    (c) => E({ state: "negotiating", id: c.sid, compression: "brotli", encryption: "none" }),
    21,
    /^Invalid session at compression: /,
  ),
  refused(
    "an unknown scheme",
    "offered",
    (c) => authenticating(c, "a@localhost/x", "magic", {}),
    21,
    /^Invalid session at scheme: /,
  ),
  refused(
    "a scheme not offered (external)",
    "offered",
    (c) => authenticating(c, "a@localhost/x", "external", { token: "t", issuer: "i" }),
    11,
    "The session establishment failed",
  ),
  refused(
    "bad credentials (wrong password)",
    "offered",
    (c) => authenticating(c, `${CAROL}/x`, "plain", { password: btoa("wrong") }),
    13,
    "The session authentication failed",
  ),
  refused(
    "a password that is not base64",
    "offered",
    (c) => authenticating(c, `${CAROL}/x`, "plain", { password: "!!!" }),
    13,
    "The session authentication failed",
  ),
  refused(
    "guest for an identity that has an account",
    "offered",
    (c) => authenticating(c, `${CAROL}/x`, "guest", {}),
    13,
    `A guest cannot use "${CAROL}": the identity is owned`,
  ),
  refused(
    "an identity of another domain",
    "offered",
    (c) => authenticating(c, "eve@example.org/x", "guest", {}),
    13,
    "The session authentication failed",
  ),
  refused(
    "plain without from (only a guest may leave its name to the server)",
    "offered",
    (c) => authenticating(c, undefined, "plain", { password: btoa("x") }),
    13,
    "The session authentication failed",
  ),
  refused(
    "an invalid node in from",
    "offered",
    (c) => authenticating(c, "@@", "guest", {}),
    26,
    'Invalid session at from: expected a node (name@domain/instance), got "@@": the domain must not contain "@"',
  ),
  refused(
    "an authentication object of the wrong shape (a number)",
    "offered",
    (c) => authenticating(c, `${CAROL}/x`, "plain", 5),
    21,
    "Invalid session at authentication: expected an object, got number",
  ),
  refused(
    "a password that is not a string",
    "offered",
    (c) => authenticating(c, `${CAROL}/x`, "plain", { password: 5 }),
    21,
    "Invalid session at authentication.password: expected a string, got number",
  ),
  // ---------------------------------------------------------------- limits
  {
    name: `maxEstablishing exceeded (${LIMITS.maxEstablishing} waiting, one more)`,
    expect: "failed session 11 at once, closed",
    stage: "custom",
    run: tooManyEstablishing,
  },
  {
    name: `maxSessionsPerIdentity exceeded (${LIMITS.maxSessionsPerIdentity} instances, one more)`,
    expect: "failed session 12, closed",
    stage: "custom",
    run: tooManyInstances,
  },
  {
    name:
      `slowloris (one byte of new every 100 ms, establishmentTimeout ${LIMITS.establishmentTimeout} ms)`,
    expect: "failed session 16, closed",
    stage: "custom",
    run: (b, via) => slowloris(b, via),
  },
];

battery("answers bad input during establishment, and enforces its limits", ROWS);
