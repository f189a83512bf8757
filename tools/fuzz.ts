/**
 * Fuzzer for hostile input (`deno task fuzz`).
 *
 * 1. Framer + codec: generated and mutated inputs (the spec test vectors of
 *    tests/codec_vectors_test.ts and tests/codec_invalid_test.ts, the bench corpus, structured
 *    random envelopes and random bytes; bit flips, byte insert/delete, truncation, splicing,
 *    duplicated braces/quotes/backslashes, deep nesting, huge numbers, invalid UTF-8, JSON-aware
 *    field mutations) split into random chunks and fed through `EnvelopeFramer.push`, every frame
 *    through `parseEnvelope`. Oracle: the framer only throws `framing` TransportErrors and agrees
 *    with a byte-at-a-time reference splitter (same frames, same error) for every split; it never
 *    holds more than the size cap plus one chunk; `parseEnvelope` only throws ValidationErrors;
 *    what it accepts survives `serializeEnvelope` → `parseEnvelope` unchanged (JSON equality);
 *    no input takes longer than the hang bound (a watchdog ends a stuck worker).
 * 2. Live server: hostile byte streams through a LimeServer over TCP (127.0.0.1, port 0, store
 *    `:memory:`), each a fresh connection that may first do all or part of the handshake, then
 *    sends mutated/random bytes in random chunks and closes, half-closes or goes silent. Oracle:
 *    no unhandled error or rejection and nothing logged by the server, every server-side
 *    connection ends within a bound, everything the server sends (before a gzip switch) is valid
 *    LIME, the registry returns to 0 sessions, and a healthy client still round-trips `/ping`
 *    after every 1,000 streams.
 *
 * Usage: `deno task fuzz [--seed=N] [--inputs=N] [--streams=N] [--concurrency=N] [--only=I]`.
 * Defaults: 1,000,000 inputs, 10,000 streams, concurrency 40, a random seed (printed; pass it
 * back with `--seed` to replay). `--only=I` replays codec input I of the seed alone. The exit code
 * is 1 on any failure; each failing input is printed in hex.
 * @module
 */
import { parseEnvelope, serializeEnvelope } from "../src/codec.ts";
import { ValidationError } from "../src/errors.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { TransportError } from "../src/transport/errors.ts";
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_ENVELOPE_SIZE } from "../src/transport/transport.ts";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { Command, type Envelope } from "../src/envelope.ts";
import { LimeServer } from "../src/server/lime_server.ts";
import { KvAccountStore } from "../src/server/account_store.ts";
import { TcpTransport } from "../src/transport/tcp.ts";
import { configure, reset } from "@logtape/logtape";
import { CORPUS } from "../bench/corpus.ts";
import { mulberry32 } from "../tests/prng.ts";
import {
  emptyWebSocketReport,
  hostileWebSocketStream,
  type WebSocketFuzzReport,
} from "./fuzz_websocket.ts";
import {
  emptyHttpReport,
  hostileHttpRequest,
  HTTP_BOT,
  HTTP_FUZZ_OPTIONS,
  type HttpFuzzReport,
} from "./fuzz_http.ts";
import { hashPassword } from "../src/server/password_hash.ts";

// ------------------------------------------------------------------------------------------------
// Options, report

/** What to run. */
export interface FuzzOptions {
  /** 32-bit seed; every input and stream derives from it and its index. */
  seed: number;
  /** Framer + codec inputs. */
  inputs: number;
  /** Hostile TCP streams through the live server. */
  streams: number;
  /** Hostile WebSocket streams through its WebSocket listener (tools/fuzz_websocket.ts). Default 0. */
  websocketStreams?: number;
  /** Hostile requests to its HTTP API (tools/fuzz_http.ts). Default 0. */
  httpRequests?: number;
  /** Streams at once. Default 40. */
  concurrency?: number;
  /** Run the codec part in a worker with a watchdog (and alongside the server part). Default true. */
  worker?: boolean;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
}

/** One failed check. */
export interface Failure {
  part: "codec" | "server";
  /** Input or stream index (-1: not tied to one). */
  index: number;
  kind: string;
  message: string;
  /** The failing input (codec) or the bytes the stream sent after its handshake (server). */
  hex?: string;
}

/** Figures of the codec part. */
export interface CodecReport {
  inputs: number;
  bytes: number;
  frames: number;
  /** Envelopes parseEnvelope accepted (frames and whole inputs); each was round-tripped. */
  accepted: number;
  /** Accepted envelopes with a number beyond ±1.8e308 in free-form JSON: it comes back null. */
  lossy: number;
  /** Whole inputs also given to parseEnvelope directly (text or bytes, unframed). */
  direct: number;
  /** Inputs that ended inside an object (not an error: the framer waits for more). */
  incomplete: number;
  framing: Record<string, number>;
  /** ValidationErrors by reason code (and by cause for code 21). */
  validation: Record<string, number>;
  crashes: number;
  hangs: number;
  slowestMs: number;
  slowestIndex: number;
  slowestSize: number;
  maxHeap: number;
  failures: Failure[];
}

/** Figures of the server part. */
export interface ServerReport {
  streams: number;
  bytesSent: number;
  /** Handshake step each stream reached before its hostile bytes. */
  reached: Record<string, number>;
  endings: Record<string, number>;
  /** How the server ended the streams it ended itself (last session envelope or plain close). */
  serverVerdicts: Record<string, number>;
  pings: number;
  unhandled: number;
  serverErrors: number;
  crashes: number;
  hangs: number;
  slowestMs: number;
  slowestIndex: number;
  /** The most connections the server served at once (the healthy client's included). */
  maxConnections: number;
  /** The longest the event loop of the server's thread was blocked (a 50 ms timer's delay). */
  maxLoopDelayMs: number;
  maxHeap: number;
  finalSessions: number;
  /** The WebSocket streams (their crashes, hangs and failures are counted above). */
  websocket: WebSocketFuzzReport;
  /** The HTTP requests (the same). */
  http: HttpFuzzReport;
  failures: Failure[];
}

/** Both parts. */
export interface FuzzReport {
  seed: number;
  codec: CodecReport;
  server: ServerReport;
  ok: boolean;
  seconds: number;
}

/** An input slower than this (twice) counts as a hang. */
const HANG_MS = 5000;
/** An input slower than this is timed a second time (the report keeps the faster run). */
const RETIME_MS = 50;
/** A worker silent for this long is stuck (an endless loop): it is ended, the input reported. */
const WATCHDOG_MS = 20_000;
const MAX_FAILURES = 10;

// ------------------------------------------------------------------------------------------------
// Seeds and vocabulary

const encoder = new TextEncoder();
const lenient = new TextDecoder();

/** Decodes the escapes of a template literal's source text (the vectors are copied from source). */
function unescapeTemplate(raw: string): string {
  return raw.replace(
    /\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\s\S])/g,
    (_, e: string) => {
      if (e[0] === "u" && e[1] === "{") return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
      if (e[0] === "u" && e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
      if (e[0] === "x" && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
      return ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", "0": "\0" } as Record<
        string,
        string
      >)[e] ?? e;
    },
  );
}

/** The JSON object literals written as template literals in the codec test files. */
function scrapeVectors(): string[] {
  const out: string[] = [];
  for (const file of ["codec_vectors_test.ts", "codec_invalid_test.ts", "framing_test.ts"]) {
    let source: string;
    try {
      source = Deno.readTextFileSync(new URL(`../tests/${file}`, import.meta.url));
    } catch {
      continue; // no read permission or no file: the other seeds remain
    }
    for (const match of source.matchAll(/`(\{[^`]*)`/g)) {
      if (!match[1].includes("${")) out.push(unescapeTemplate(match[1]));
    }
  }
  return out;
}

const EXTRA_SEEDS = [
  '{"state":"new"}',
  '{"id":"c","type":"application/json","content":{"a":[{"b":"}"},[1,2,{"c":"\\\\"}]],"d":"\\u007b"}}',
  '{"id":"a","type":"text/plain","content":"} { \\" \\\\ \\\\\\" {{"}',
  '{"id":"d","to":"alice@localhost/home","type":"text/plain","content":"emoji 😀 ção 中文 \\ud83d\\ude00"}',
  '{"id":"e","type":"application/vnd.lime.document-container+json","content":{"type":"text/plain","value":"x"}}',
  '{"id":"f","type":"application/vnd.lime.collection+json","content":{"itemType":"application/vnd.lime.document-container+json","items":[{"type":"application/json","value":{"k":null}}]}}',
  '{"id":"g","method":"set","uri":"/account","type":"application/vnd.lime.account+json","resource":{"password":"cGFzcw=="}}',
  '{"id":"h","method":"get","uri":"lime://localhost/contacts","metadata":{"x":"y"}}',
  '{"id":"i","from":"a@b/c","event":"failed","reason":{"code":42,"description":"x"}}',
  '{"id":"5b1f0c9e-1111-4c6d-9e8f-0a1b2c3d4e5f","state":"failed","reason":{"code":11}}',
  '{"id":"j","pp":"a@b/c","from":null,"to":"x@y","type":"text/plain","content":"","metadata":{"#a":"1"}}',
];

export interface Seeds {
  texts: string[];
  bytes: Uint8Array[];
  /** JSON.parse of each text, or undefined when it is not JSON. */
  values: unknown[];
  /** Where they come from (counts). */
  origin: string;
}

let seedsCache: Seeds | undefined;

function loadSeeds(): Seeds {
  if (seedsCache) return seedsCache;
  const vectors = scrapeVectors();
  const texts = [...new Set([...CORPUS.texts, ...vectors, ...EXTRA_SEEDS])];
  const values = texts.map((t) => {
    try {
      return JSON.parse(t);
    } catch {
      return undefined;
    }
  });
  seedsCache = {
    texts,
    bytes: texts.map((t) => encoder.encode(t)),
    values,
    origin:
      `${CORPUS.texts.length} bench corpus, ${vectors.length} test vectors, ${EXTRA_SEEDS.length} extra`,
  };
  return seedsCache;
}

const KEYS = [
  "id",
  "from",
  "to",
  "pp",
  "metadata",
  "type",
  "content",
  "event",
  "reason",
  "code",
  "description",
  "method",
  "uri",
  "resource",
  "status",
  "state",
  "encryption",
  "compression",
  "encryptionOptions",
  "compressionOptions",
  "scheme",
  "schemeOptions",
  "authentication",
  "password",
  "key",
  "token",
  "issuer",
  "items",
  "itemType",
  "total",
  "text",
  "options",
  "order",
  "value",
  "scope",
  "previewUri",
  "size",
  "identity",
  "name",
  "routingRule",
  "priority",
  "#uniqueId",
  "__proto__",
  "constructor",
  "toString",
  "",
];

const STRINGS = [
  "new",
  "negotiating",
  "authenticating",
  "established",
  "finishing",
  "finished",
  "failed",
  "get",
  "set",
  "merge",
  "delete",
  "subscribe",
  "unsubscribe",
  "observe",
  "success",
  "failure",
  "pending",
  "accepted",
  "dispatched",
  "received",
  "consumed",
  "none",
  "gzip",
  "tls",
  "guest",
  "plain",
  "key",
  "transport",
  "external",
  "text/plain",
  "application/json",
  "application/vnd.lime.presence+json",
  "application/vnd.lime.collection+json",
  "application/vnd.lime.contact+json",
  "application/vnd.lime.account+json",
  "application/vnd.lime.ping+json",
  "application/vnd.lime.receipt+json",
  "application/vnd.lime.chatstate+json",
  "application/vnd.lime.select+json",
  "application/vnd.lime.media-link+json",
  "application/vnd.lime.reply+json",
  "application/vnd.lime.document-container+json",
  "application/vnd.lime.identity",
  "application/x+json",
  "/ping",
  "/presence",
  "/account",
  "/contacts",
  "/receipt",
  "lime://localhost/ping",
  "lime://",
  "alice@localhost/home",
  "postmaster@localhost/server",
  "postmaster@localhost",
  "healthy@localhost/fuzz",
  "a@b",
  "@",
  "/",
  "",
  " ",
  "5b1f0c9e-1111-4c6d-9e8f-0a1b2c3d4e5f",
  "2024-01-01T00:00:00.000Z",
  "not a date",
  "\u0000",
  "\ud800",
  "\udfff",
  "😀",
  "\u202e",
  "a".repeat(300),
  "\\",
  '"',
  "{",
  "}",
  "aWxvdmV1d3c=",
  "====",
];

/** Number literals that strain a JSON parser or a validator. */
const HUGE_NUMBERS = [
  "1e400",
  "-1e400",
  "1e-400",
  "-0",
  "0.0",
  "-0.0e0",
  "123456789012345678901234567890",
  "9007199254740993",
  "-9007199254740993",
  "1E+308",
  "1.7976931348623157e309",
  "4.9e-324",
  "0.1e1",
  "1" + "0".repeat(400),
  "1." + "1".repeat(1000),
  "01",
  "1.",
  ".5",
  "+1",
  "0x10",
  "NaN",
  "Infinity",
  "-",
  "1e",
];

const INVALID_UTF8 = [
  [0xff],
  [0xfe],
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xc3],
  [0xc3, 0x28],
  [0xe2, 0x82],
  [0xe2, 0x28, 0xa1],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xef, 0xbb, 0xbf],
  [0xef, 0xbf, 0xbd],
];

const SPECIAL = [0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x5c, 0x3a, 0x2c, 0x20, 0x0a, 0x00];

// ------------------------------------------------------------------------------------------------
// Random helpers

export type Rng = () => number;

export function int(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[int(rng, items.length)];
}

/** A per-item generator: the same seed and index always give the same input. */
export function itemRng(seed: number, index: number, salt: number): Rng {
  let h = Math.imul((seed ^ salt) >>> 0, 0x9e3779b1) ^ Math.imul(index + 0x632be5ab, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return mulberry32((h ^ (h >>> 16)) >>> 0);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array, max = 1 << 20): string {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += bytes[i].toString(16).padStart(2, "0");
  return n < bytes.length ? `${s}… (${bytes.length} bytes, first ${n} shown)` : s;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}

// ------------------------------------------------------------------------------------------------
// Generation

export function uuid(rng: Rng): string {
  const hex = (k: number) => {
    let s = "";
    for (let i = 0; i < k; i++) s += "0123456789abcdef"[int(rng, 16)];
    return s;
  };
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[int(rng, 4)]}${hex(3)}-${hex(12)}`;
}

function randomString(rng: Rng): string {
  const r = rng();
  if (r < 0.6) return pick(rng, STRINGS);
  let s = "";
  const n = int(rng, 20);
  for (let i = 0; i < n; i++) {
    const c = rng();
    s += c < 0.7
      ? String.fromCharCode(0x20 + int(rng, 95))
      : c < 0.85
      ? String.fromCharCode(int(rng, 0x20))
      : String.fromCharCode(int(rng, 0x10000)); // lone surrogates included
  }
  return s;
}

function randomValue(rng: Rng, depth: number): unknown {
  const r = rng();
  if (depth > 4 || r < 0.35) return randomString(rng);
  if (r < 0.5) return pick(rng, [0, 1, -1, 42, 2 ** 31, 2 ** 53, 1.5, -0.25, 1e21, 1e-7]);
  if (r < 0.58) return pick(rng, [true, false, null]);
  if (r < 0.75) return Array.from({ length: int(rng, 4) }, () => randomValue(rng, depth + 1));
  const o: Record<string, unknown> = {};
  const n = int(rng, 5);
  for (let i = 0; i < n; i++) o[pick(rng, KEYS)] = randomValue(rng, depth + 1);
  return o;
}

/** An object with an envelope's keys and mostly plausible values. */
function randomEnvelope(rng: Rng): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (rng() < 0.8) o.id = rng() < 0.7 ? uuid(rng) : randomString(rng);
  if (rng() < 0.5) o.from = pick(rng, ["a@b/c", "alice@localhost/home", randomString(rng)]);
  if (rng() < 0.5) o.to = pick(rng, ["postmaster@localhost", "x@y", randomString(rng)]);
  const kind = int(rng, 4);
  if (kind === 0) {
    o.type = pick(rng, STRINGS.filter((s) => s.includes("/")));
    o.content = randomValue(rng, 1);
  } else if (kind === 1) {
    o.event = pick(rng, STRINGS);
    if (rng() < 0.3) o.reason = { code: int(rng, 100), description: randomString(rng) };
  } else if (kind === 2) {
    o.method = pick(rng, STRINGS);
    o.uri = pick(rng, STRINGS);
    if (rng() < 0.5) o.type = pick(rng, STRINGS);
    if (rng() < 0.5) o.resource = randomValue(rng, 1);
    if (rng() < 0.3) o.status = pick(rng, ["success", "failure", "pending", "x"]);
  } else {
    o.state = pick(rng, STRINGS);
    for (const k of ["encryption", "compression", "scheme", "authentication", "schemeOptions"]) {
      if (rng() < 0.2) o[k] = randomValue(rng, 2);
    }
  }
  if (rng() < 0.2) o.metadata = randomValue(rng, 2);
  if (rng() < 0.2) o[pick(rng, KEYS)] = randomValue(rng, 1);
  return o;
}

/** Bytes from an alphabet heavy in JSON punctuation. */
function tokenSoup(rng: Rng): Uint8Array {
  const pieces = ["{", "}", "[", "]", '"', "\\", ":", ",", " ", "\n", '"id"', '"state"', '"new"'];
  let s = "";
  const n = int(rng, 64);
  for (let i = 0; i < n; i++) {
    s += rng() < 0.8 ? pick(rng, pieces) : pick(rng, [...HUGE_NUMBERS, ...KEYS, "true", "null"]);
  }
  return encoder.encode(s);
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng() < 0.3 ? pick(rng, SPECIAL) : int(rng, 256);
  return out;
}

/** A document nested `depth` levels (arrays, objects, or both). */
function deepText(rng: Rng, depth: number): string {
  const style = int(rng, 3);
  if (style === 0) return "[".repeat(depth) + "]".repeat(depth);
  if (style === 1) return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
  return '[{"a":'.repeat(depth >> 1) + "0" + "}]".repeat(depth >> 1);
}

function deepDepth(rng: Rng, small = false): number {
  const r = rng();
  if (r < 0.6 || small) return pick(rng, [10, 32, 62, 63, 64, 65, 66, 100]);
  if (r < 0.99) return pick(rng, [500, 1000, 3000]);
  return pick(rng, [10_000, 50_000]);
}

/** Walks to a random container inside a JSON value (or the value itself). */
function randomContainer(
  rng: Rng,
  root: Record<string, unknown>,
): Record<string, unknown> | unknown[] {
  let node: Record<string, unknown> | unknown[] = root;
  for (let d = 0; d < 6 && rng() < 0.5; d++) {
    const children = (Array.isArray(node) ? node : Object.values(node)).filter((v) =>
      typeof v === "object" && v !== null
    ) as (Record<string, unknown> | unknown[])[];
    if (children.length === 0) break;
    node = pick(rng, children);
  }
  return node;
}

/** Mutates a parsed envelope in place at the JSON level (keeps it JSON). */
function mutateValue(rng: Rng, root: Record<string, unknown>, seeds: Seeds): void {
  const node = randomContainer(rng, root);
  const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
  const set = (k: string | number, v: unknown) => {
    (node as Record<string | number, unknown>)[k] = v;
  };
  const op = int(rng, 8);
  const key = keys.length && op < 6 ? pick(rng, keys) : Array.isArray(node) ? node.length : pick(
    rng,
    KEYS,
  );
  switch (op) {
    case 0: // delete
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete (node as Record<string, unknown>)[key as string];
      break;
    case 1:
      set(key, randomValue(rng, 2));
      break;
    case 2:
      set(key, pick(rng, [null, "", 0, [], {}, true, -1, 1e300, "x".repeat(5000)]));
      break;
    case 3: { // a value from another seed
      const other = pick(rng, seeds.values);
      if (typeof other === "object" && other !== null && !Array.isArray(other)) {
        const entries = Object.entries(other);
        if (entries.length) set(key, structuredClone(pick(rng, entries)[1]));
      }
      break;
    }
    case 4: { // nest
      let v: unknown = randomValue(rng, 4);
      const depth = int(rng, 80);
      for (let i = 0; i < depth; i++) v = rng() < 0.5 ? [v] : { [pick(rng, KEYS)]: v };
      set(key, v);
      break;
    }
    case 5:
      set(key, randomString(rng));
      break;
    default: // add
      set(key, randomValue(rng, 1));
  }
}

function insert(bytes: Uint8Array, at: number, piece: Uint8Array | number[]): Uint8Array {
  const p = piece instanceof Uint8Array ? piece : Uint8Array.from(piece);
  const out = new Uint8Array(bytes.length + p.length);
  out.set(bytes.subarray(0, at));
  out.set(p, at);
  out.set(bytes.subarray(at), at + p.length);
  return out;
}

function remove(bytes: Uint8Array, at: number, n: number): Uint8Array {
  return concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + n))]);
}

/** A random position of one of `targets` in `bytes`, or a random position. */
function findByte(rng: Rng, bytes: Uint8Array, targets: readonly number[]): number {
  if (bytes.length === 0) return 0;
  const from = int(rng, bytes.length);
  for (let k = 0; k < bytes.length; k++) {
    const i = (from + k) % bytes.length;
    if (targets.includes(bytes[i])) return i;
  }
  return from;
}

/** One byte-level mutation. */
export function mutateBytes(rng: Rng, bytes: Uint8Array, seeds: Seeds, small = false): Uint8Array {
  const at = int(rng, bytes.length + 1);
  switch (int(rng, 14)) {
    case 0: { // bit flips
      if (!bytes.length) return bytes;
      const out = bytes.slice();
      const n = 1 + int(rng, 4);
      for (let i = 0; i < n; i++) out[int(rng, out.length)] ^= 1 << int(rng, 8);
      return out;
    }
    case 1:
      return insert(bytes, at, randomBytes(rng, 1 + int(rng, 8)));
    case 2:
      return remove(bytes, at, 1 + int(rng, rng() < 0.8 ? 4 : 64));
    case 3: // truncation
      return bytes.slice(0, int(rng, bytes.length + 1));
    case 4: { // splice two envelopes
      const other = pick(rng, seeds.bytes);
      return concat([bytes.subarray(0, at), other.subarray(int(rng, other.length + 1))]);
    }
    case 5: { // duplicate a brace, bracket, quote or backslash
      const i = findByte(rng, bytes, [0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x5c]);
      const b = bytes[i] ?? 0x7b;
      return insert(bytes, i, new Array(1 + int(rng, rng() < 0.9 ? 4 : 100)).fill(b));
    }
    case 6: { // a backslash run before a quote
      const i = findByte(rng, bytes, [0x22]);
      return insert(bytes, i, new Array(1 + int(rng, 7)).fill(0x5c));
    }
    case 7: // deep nesting at a random place
      return insert(bytes, at, encoder.encode(deepText(rng, deepDepth(rng, small))));
    case 8: { // a huge (or malformed) number replacing a digit run, or inserted after a colon
      const number = encoder.encode(pick(rng, HUGE_NUMBERS));
      const i = findByte(rng, bytes, [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);
      if (bytes[i] >= 0x30 && bytes[i] <= 0x39) {
        let j = i;
        while (j < bytes.length && bytes[j] >= 0x30 && bytes[j] <= 0x39) j++;
        return concat([bytes.subarray(0, i), number, bytes.subarray(j)]);
      }
      const colon = findByte(rng, bytes, [0x3a]);
      return insert(bytes, Math.min(bytes.length, colon + 1), number);
    }
    case 9: { // invalid UTF-8, mostly inside a string
      const i = rng() < 0.7 ? Math.min(bytes.length, findByte(rng, bytes, [0x22]) + 1) : at;
      return insert(bytes, i, pick(rng, INVALID_UTF8));
    }
    case 10: { // duplicate a range
      const n = int(rng, Math.min(64, bytes.length - Math.min(at, bytes.length)) + 1);
      return insert(bytes, int(rng, bytes.length + 1), bytes.slice(at, at + n));
    }
    case 11: // a whole other envelope in the middle
      return insert(bytes, at, pick(rng, seeds.bytes));
    case 12: // overwrite with a special byte
      if (!bytes.length) return bytes;
      return (() => {
        const out = bytes.slice();
        out[int(rng, out.length)] = pick(rng, SPECIAL);
        return out;
      })();
    default: // an escape sequence inside a string
      return insert(
        bytes,
        Math.min(bytes.length, findByte(rng, bytes, [0x22]) + 1),
        encoder.encode(
          pick(rng, ["\\u0000", "\\ud800", "\\udc00x", "\\u", "\\uZZZZ", "\\x41", "\\", "\\\\"]),
        ),
      );
  }
}

/** The codec input of `index` under `seed`. */
export function generateInput(seed: number, index: number): Uint8Array {
  return generate(itemRng(seed, index, 0xc0dec), loadSeeds());
}

/** `small`: no nesting deeper than 100 (the server part, which shares its thread with the fuzzer). */
function generate(rng: Rng, seeds: Seeds, small = false): Uint8Array {
  let bytes: Uint8Array;
  const r = rng();
  if (r < 0.06) {
    bytes = randomBytes(rng, int(rng, rng() < 0.9 ? 64 : 2048));
  } else if (r < 0.12) {
    bytes = tokenSoup(rng);
  } else if (r < 0.14) {
    // Nested documents in an otherwise valid envelope (deep enough to strain the validator).
    const depth = deepDepth(rng, small);
    bytes = encoder.encode(
      `{"id":"n","type":"${
        pick(rng, ["application/json", "application/vnd.lime.document-container+json"])
      }","content":${deepText(rng, depth)}}`,
    );
  } else if (r < 0.3) {
    bytes = encoder.encode(JSON.stringify(randomEnvelope(rng)));
  } else if (r < 0.5) {
    // A JSON-level mutation of a seed: still JSON, probing the validator.
    const i = int(rng, seeds.texts.length);
    const value = seeds.values[i];
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const copy = structuredClone(value) as Record<string, unknown>;
      const n = 1 + int(rng, 3);
      for (let k = 0; k < n; k++) mutateValue(rng, copy, seeds);
      bytes = encoder.encode(JSON.stringify(copy));
    } else {
      bytes = seeds.bytes[i];
    }
  } else if (r < 0.75) {
    bytes = pick(rng, seeds.bytes);
  } else {
    // A stream of several envelopes with whitespace between them.
    const parts: Uint8Array[] = [];
    const n = 2 + int(rng, 4);
    for (let k = 0; k < n; k++) {
      parts.push(pick(rng, seeds.bytes));
      if (rng() < 0.5) parts.push(encoder.encode(pick(rng, [" ", "\n", "\r\n", "\t", "  \n"])));
    }
    bytes = concat(parts);
  }
  const mutations = rng() < 0.3 ? 0 : rng() < 0.8 ? 1 + int(rng, 3) : 1 + int(rng, 8);
  for (let k = 0; k < mutations; k++) bytes = mutateBytes(rng, bytes, seeds, small);
  return bytes;
}

// ------------------------------------------------------------------------------------------------
// Oracles

/** Structural JSON equality (key order aside; -0 equals 0, which JSON cannot tell apart). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x)) {
      const ya = y as unknown[];
      if (x.length !== ya.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], ya[i]]);
      continue;
    }
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const keys = Object.keys(xo);
    if (keys.length !== Object.keys(yo).length) return false;
    for (const k of keys) {
      if (!Object.hasOwn(yo, k)) return false;
      stack.push([xo[k], yo[k]]);
    }
  }
  return true;
}

type FramingKind = "unexpected-byte" | "too-deep" | "too-large" | "framing-other";

interface Reference {
  /** [start, end] (inclusive) of each complete object. */
  frames: [number, number][];
  error?: "unexpected-byte" | "too-deep";
  /** Where the error is. */
  errorAt: number;
  /** Start of the object open at the end or at the error, -1 when between objects. */
  open: number;
}

/** The framing rules of lime-protocol §5.1, one byte at a time (the differential reference). */
function referenceFrames(bytes: Uint8Array, maxDepth: number): Reference {
  const frames: [number, number][] = [];
  let braces = 0;
  let nesting = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === 0x5c) escaped = true;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (braces === 0) {
      if (b === 0x7b) {
        start = i;
        braces = 1;
        nesting = 1;
      } else if (!(b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09)) {
        return { frames, error: "unexpected-byte", errorAt: i, open: -1 };
      }
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      if (b === 0x7b) braces++;
      if (++nesting > maxDepth) return { frames, error: "too-deep", errorAt: i, open: start };
    } else if (b === 0x5d) nesting--;
    else if (b === 0x7d) {
      nesting--;
      if (--braces === 0) {
        frames.push([start, i]);
        start = -1;
      }
    }
  }
  return { frames, errorAt: -1, open: braces > 0 ? start : -1 };
}

function framingKind(error: TransportError): FramingKind {
  if (error.message.startsWith("Unexpected byte")) return "unexpected-byte";
  if (error.message.includes("nested deeper")) return "too-deep";
  if (error.message.includes("larger than the maximum")) return "too-large";
  return "framing-other";
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Random chunk boundaries: few or many, sometimes right after every backslash or quote. */
function splitPoints(rng: Rng, bytes: Uint8Array): number[] {
  const n = bytes.length;
  const points: number[] = [];
  const mode = rng();
  if (n === 0) return [0];
  if (mode < 0.25) {
    points.push(n);
  } else if (mode < 0.3 && n <= 1024) {
    for (let i = 1; i <= n; i++) points.push(i); // byte by byte
  } else if (mode < 0.5 && n <= 8192) {
    for (let i = 0; i < n; i++) {
      if ((bytes[i] === 0x5c || bytes[i] === 0x22 || bytes[i] === 0x7d) && rng() < 0.7) {
        points.push(i + 1);
      }
    }
    points.push(n);
  } else {
    const k = 1 + int(rng, Math.min(n, 32));
    for (let i = 0; i < k; i++) points.push(1 + int(rng, n));
    points.push(n);
  }
  return [...new Set(points)].sort((a, b) => a - b);
}

// ------------------------------------------------------------------------------------------------
// Codec fuzzing

function emptyCodecReport(): CodecReport {
  return {
    inputs: 0,
    bytes: 0,
    frames: 0,
    accepted: 0,
    lossy: 0,
    direct: 0,
    incomplete: 0,
    framing: {},
    validation: {},
    crashes: 0,
    hangs: 0,
    slowestMs: 0,
    slowestIndex: -1,
    slowestSize: 0,
    maxHeap: 0,
    failures: [],
  };
}

export function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/** Parses, counts, and round-trips what is accepted; returns a problem or undefined. */
function checkParse(input: string | Uint8Array, report: CodecReport): string | undefined {
  let envelope: Envelope;
  try {
    envelope = parseEnvelope(input);
  } catch (error) {
    if (!(error instanceof ValidationError)) return `parseEnvelope threw ${describe(error)}`;
    const code = error.reason.code;
    if (code === 21) {
      const cause = error.message.includes("UTF-8")
        ? "utf-8"
        : error.message.includes("not JSON")
        ? "not-json"
        : error.message.includes("nested too deeply")
        ? "too-deep"
        : error.message.includes("expected a JSON object")
        ? "not-object"
        : error.message.includes("tells its kind")
        ? "no-kind"
        : "field";
      bump(report.validation, `21/${cause}`);
    } else bump(report.validation, String(code));
    return undefined;
  }
  report.accepted++;
  let again: Envelope;
  let text: string;
  try {
    text = serializeEnvelope(envelope);
  } catch (error) {
    return `serializeEnvelope threw ${describe(error)} on an accepted envelope`;
  }
  try {
    again = parseEnvelope(text);
  } catch (error) {
    return `the serialized envelope is refused: ${describe(error)}: ${text.slice(0, 300)}`;
  }
  if (jsonEqual(again, envelope)) return undefined;
  // Documented normalizations: serializeEnvelope leaves out null metadata values; JSON has no
  // Infinity (a number literal beyond ±1.8e308 parses to ±Infinity and is written as null).
  const expected = canonical(envelope);
  if (jsonEqual(again, expected.value)) {
    if (expected.nonFinite) report.lossy++;
    return undefined;
  }
  return `round trip changed the envelope: ${text.slice(0, 300)}`;
}

/**
 * The envelope as a peer reading its serialization sees it: non-finite numbers as null, null
 * metadata values and null top-level fields left out.
 */
function canonical(envelope: Envelope): { value: unknown; nonFinite: boolean } {
  let nonFinite = false;
  const copy = (value: unknown): unknown => {
    if (typeof value === "number" && !Number.isFinite(value)) {
      nonFinite = true;
      return null;
    }
    if (typeof value !== "object" || value === null) return value;
    if (Array.isArray(value)) return value.map(copy);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: copy(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  const value = copy(envelope) as Record<string, unknown>;
  const metadata = value.metadata;
  if (typeof metadata === "object" && metadata !== null) {
    for (const [k, v] of Object.entries(metadata)) {
      if (v === null) delete (metadata as Record<string, unknown>)[k];
    }
  }
  for (const [k, v] of Object.entries(value)) if (v === null) delete value[k];
  return { value, nonFinite };
}

/** Runs one input through the framer (random split) and the codec; returns a problem. */
function runInput(rng: Rng, bytes: Uint8Array, report: CodecReport): string | undefined {
  const maxSize = rng() < 0.5
    ? DEFAULT_MAX_ENVELOPE_SIZE
    : pick(rng, [64, 256, 512, 1024, 4096, 65536]);
  const reference = referenceFrames(bytes, DEFAULT_MAX_DEPTH);
  const framer = new EnvelopeFramer({ maxEnvelopeSize: maxSize });
  const frames: Uint8Array[] = [];
  const stopRate = rng() < 0.2 ? 0.5 : 0;
  let problem: string | undefined;
  let thrown: FramingKind | undefined;
  const points = splitPoints(rng, bytes);
  let previous = 0;
  outer: for (const point of points) {
    let rest = bytes.subarray(previous, point);
    previous = point;
    for (;;) {
      let consumed: number;
      try {
        consumed = framer.push(rest, (frame) => {
          frames.push(frame.slice());
          report.frames++;
          problem ??= checkParse(frame, report);
          return stopRate && rng() < stopRate ? false : undefined;
        });
      } catch (error) {
        if (error instanceof TransportError && error.code === "framing") {
          thrown = framingKind(error);
          bump(report.framing, thrown);
          break outer;
        }
        return `EnvelopeFramer.push threw ${describe(error)}`;
      }
      if (framer.buffered > maxSize + rest.length) {
        return `the framer holds ${framer.buffered} bytes (cap ${maxSize}, chunk ${rest.length})`;
      }
      if (consumed === rest.length) break;
      if (consumed > rest.length || consumed <= 0) {
        return `push consumed ${consumed} of ${rest.length} bytes`;
      }
      rest = rest.subarray(consumed);
    }
  }
  if (problem) return problem;

  // Differential check against the reference splitter.
  const big = reference.frames.findIndex(([s, e]) => e - s + 1 > maxSize);
  let expectedFrames = reference.frames.length;
  const allowed: (FramingKind | undefined)[] = [];
  if (big >= 0) {
    expectedFrames = big;
    allowed.push("too-large");
  } else if (reference.error) {
    allowed.push(reference.error);
    if (reference.open >= 0 && reference.errorAt - reference.open + 1 > maxSize) {
      allowed.push("too-large");
    }
  } else if (reference.open >= 0 && bytes.length - reference.open > maxSize) {
    allowed.push("too-large");
  } else {
    allowed.push(undefined);
  }
  if (!allowed.includes(thrown)) {
    return `framer ended with ${thrown ?? "no error"}, the reference with ${
      allowed.map((a) => a ?? "no error").join(" or ")
    }`;
  }
  if (frames.length !== expectedFrames) {
    return `framer gave ${frames.length} frames, the reference ${expectedFrames}`;
  }
  for (let i = 0; i < frames.length; i++) {
    const [s, e] = reference.frames[i];
    if (!sameBytes(frames[i], bytes.subarray(s, e + 1))) return `frame ${i} differs`;
  }
  if (thrown === undefined) {
    const open = reference.open >= 0;
    if (framer.inObject !== open) return `framer.inObject is ${framer.inObject}, expected ${open}`;
    const held = open ? bytes.length - reference.open : 0;
    if (framer.buffered !== held) return `framer holds ${framer.buffered} bytes, expected ${held}`;
    if (open) report.incomplete++;
  }

  // The whole input, unframed, as text or bytes (non-objects, trailing garbage, deep nesting).
  if (rng() < 0.3 && bytes.length < (1 << 20)) {
    report.direct++;
    problem = checkParse(rng() < 0.5 ? bytes : lenient.decode(bytes), report);
  }
  return problem;
}

/** Fuzzes codec inputs `start` … `start + count - 1` of `seed`, synchronously. */
export function runCodecFuzz(
  seed: number,
  start: number,
  count: number,
  progress?: Int32Array,
  onProgress?: (done: number) => void,
  report: CodecReport = emptyCodecReport(),
): CodecReport {
  const seeds = loadSeeds();
  for (let index = start; index < start + count; index++) {
    if (progress) Atomics.store(progress, 0, index);
    const t0 = performance.now();
    const rng = itemRng(seed, index, 0xc0dec);
    let bytes: Uint8Array = new Uint8Array();
    let problem: string | undefined;
    try {
      bytes = generate(rng, seeds);
      problem = runInput(rng, bytes, report);
    } catch (error) {
      problem = `the fuzzer itself threw ${describe(error)}`;
    }
    let ms = performance.now() - t0;
    if (ms > RETIME_MS && !problem) {
      // A pause (GC, a busy machine) or the input itself? Time it again; keep the faster run.
      const t1 = performance.now();
      const again = itemRng(seed, index, 0xc0dec);
      runInput(again, generate(again, seeds), emptyCodecReport());
      ms = Math.min(ms, performance.now() - t1);
    }
    report.inputs++;
    report.bytes += bytes.length;
    if (ms > report.slowestMs) {
      report.slowestMs = ms;
      report.slowestIndex = index;
      report.slowestSize = bytes.length;
    }
    if (ms > HANG_MS) {
      report.hangs++;
      problem ??= `took ${ms.toFixed(0)} ms`;
    } else if (problem) report.crashes++;
    if (problem && report.failures.length < MAX_FAILURES) {
      report.failures.push({
        part: "codec",
        index,
        kind: ms > HANG_MS ? "hang" : "crash",
        message: problem,
        hex: toHex(bytes),
      });
    }
    if (index % 1000 === 0 || index === start) {
      const heap = Deno.memoryUsage().heapUsed;
      if (heap > report.maxHeap) report.maxHeap = heap;
    }
    if (onProgress && (index + 1) % 100_000 === 0) onProgress(index + 1);
  }
  return report;
}

/**
 * Like {@link runCodecFuzz} (inputs 0 … count - 1) in this thread, in batches that let the event
 * loop run between them (so the server part can run meanwhile).
 */
export async function runCodecFuzzInBatches(
  seed: number,
  count: number,
  log?: (line: string) => void,
  batch = 50,
): Promise<CodecReport> {
  const report = emptyCodecReport();
  for (let start = 0; start < count; start += batch) {
    runCodecFuzz(seed, start, Math.min(batch, count - start), undefined, (done) => {
      log?.(`codec: ${done.toLocaleString("en")} inputs`);
    }, report);
    await delay(0);
  }
  return report;
}

interface WorkerRequest {
  seed: number;
  start: number;
  count: number;
  progress: SharedArrayBuffer;
}

type WorkerReply = { done: CodecReport } | { progress: number } | { error: string };

/** Runs the codec part in a worker; ends it and reports the input if it stops making progress. */
async function runCodecInWorker(
  seed: number,
  count: number,
  log?: (line: string) => void,
): Promise<CodecReport> {
  const shared = new SharedArrayBuffer(8);
  const progress = new Int32Array(shared);
  const worker = new Worker(import.meta.url, { type: "module" });
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    return await new Promise<CodecReport>((resolve) => {
      let last = -1;
      let lastChange = performance.now();
      timer = setInterval(() => {
        const now = Atomics.load(progress, 0);
        if (now !== last) {
          last = now;
          lastChange = performance.now();
          return;
        }
        if (performance.now() - lastChange < WATCHDOG_MS) return;
        // Stuck on one input: end the worker and report that input.
        const report = emptyCodecReport();
        report.inputs = now;
        report.hangs = 1;
        report.failures.push({
          part: "codec",
          index: now,
          kind: "hang",
          message: `no progress for ${WATCHDOG_MS} ms on this input (the worker was ended)`,
          hex: toHex(generateInput(seed, now)),
        });
        resolve(report);
      }, 1000);
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const data = event.data;
        if ("done" in data) resolve(data.done);
        else if ("progress" in data) log?.(`codec: ${data.progress.toLocaleString("en")} inputs`);
        else {
          const report = emptyCodecReport();
          report.crashes = 1;
          report.failures.push({ part: "codec", index: -1, kind: "crash", message: data.error });
          resolve(report);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const report = emptyCodecReport();
        report.crashes = 1;
        const index = Atomics.load(progress, 0);
        report.failures.push({
          part: "codec",
          index,
          kind: "crash",
          message: `the worker died: ${event.message}`,
          hex: toHex(generateInput(seed, index)),
        });
        resolve(report);
      };
      worker.postMessage({ seed, start: 0, count, progress: shared } satisfies WorkerRequest);
    });
  } finally {
    clearInterval(timer);
    worker.terminate();
  }
}

// ------------------------------------------------------------------------------------------------
// Server fuzzing

/** Server channel options: short timeouts, so silent and half-done connections end quickly. */
const SERVER_CHANNEL = {
  establishmentTimeout: 400,
  remotePingInterval: 250,
  remoteIdleTimeout: 2000,
  closeTimeout: 500,
  sendTimeout: 2000,
  commandTimeout: 2000,
};
/** maxEnvelopeSize of the fuzzed server (some payloads are bigger). */
export const SERVER_MAX_ENVELOPE = 32 * 1024;
/** A stream not ended by the server after its bytes within this is a hang. */
export const STREAM_BOUND_MS = 5000;
/** Hostile connections still served this long after the last stream are a hang. */
const CONNECTION_BOUND_MS = 8000;
/** The server's shutdown (it waits for every connection's serving to end) within this. */
const SHUTDOWN_BOUND_MS = 10_000;
export const STEP_MS = 3000;

const CONNECTION_ERRORS = [
  Deno.errors.BadResource,
  Deno.errors.ConnectionReset,
  Deno.errors.BrokenPipe,
  Deno.errors.Interrupted,
  Deno.errors.ConnectionAborted,
  Deno.errors.NotConnected,
];

export function isConnectionError(error: unknown): boolean {
  return CONNECTION_ERRORS.some((type) => error instanceof type);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for a stream's reader to end once this side closed the connection; false when it did not
 * within 2 s (a runtime whose close does not wake a pending read: a hang of the fuzz, reported).
 */
export async function readerEnded(done: Promise<void>): Promise<boolean> {
  return await within(done, 2000, "the reader").then(() => true, () => false);
}

/** Writes all of `bytes`; false when the connection is gone (other errors are thrown). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    return true;
  } catch (error) {
    if (isConnectionError(error)) return false;
    throw error;
  }
}

/** Ends this side's writing (a connection already gone is fine). */
export async function closeWrite(conn: Deno.TcpConn): Promise<void> {
  try {
    await conn.closeWrite();
  } catch (error) {
    if (!isConnectionError(error)) throw error;
  }
}

/** Counts each problem the reader of a stream found in what the server sent. */
export function reportProblems(
  problems: readonly string[],
  report: ServerReport,
  fail: (kind: string, message: string) => void,
): void {
  for (const problem of problems) {
    report.crashes++;
    fail("bad server output", problem);
  }
}

/**
 * The end of a stream, whatever happened: its connection closed (unless it was), its reader
 * awaited (a hang past 2 s), the slowest stream kept.
 */
export async function finishStream(
  stream: { conn: Deno.Conn; closed: boolean; done: Promise<void>; index: number; t0: number },
  report: ServerReport,
  fail: (kind: string, message: string) => void,
): Promise<void> {
  if (!stream.closed) {
    try {
      stream.conn.close();
    } catch { /* already closed */ }
  }
  if (!await readerEnded(stream.done)) {
    report.hangs++;
    fail("hang", "reading the connection did not end within 2 s of closing it");
  }
  const ms = performance.now() - stream.t0;
  if (ms > report.slowestMs) {
    report.slowestMs = ms;
    report.slowestIndex = stream.index;
  }
}

/** Rejects after `ms` unless `promise` settles first; the timer never outlives the call. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw TCP peer: reads and checks everything the server sends. */
class RawPeer {
  readonly #conn: Deno.TcpConn;
  readonly #framer = new EnvelopeFramer();
  readonly #envelopes: Envelope[] = [];
  #wake: (() => void) | undefined;
  /** Set after choosing gzip: stop framing after the negotiation confirmation. */
  switchAfterConfirmation = false;
  #raw = false;
  ended = false;
  readonly problems: string[] = [];
  /** The last session envelope the server sent. */
  lastSession: Record<string, unknown> | undefined;
  readonly done: Promise<void>;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        if (!this.#raw) this.#push(buffer.subarray(0, n));
      }
    } catch (error) {
      if (!isConnectionError(error)) this.problems.push(`reading: ${describe(error)}`);
    } finally {
      this.ended = true;
      this.#wake?.();
    }
  }

  #push(chunk: Uint8Array): void {
    let rest = chunk;
    while (rest.length && !this.#raw) {
      let consumed: number;
      try {
        consumed = this.#framer.push(rest, (frame) => {
          let envelope: Envelope;
          try {
            envelope = parseEnvelope(frame);
          } catch (error) {
            this.problems.push(
              `the server sent an invalid envelope (${describe(error)}): ${
                lenient.decode(frame).slice(0, 300)
              }`,
            );
            return;
          }
          const record = envelope as unknown as Record<string, unknown>;
          if ("state" in record) this.lastSession = record;
          this.#envelopes.push(envelope);
          this.#wake?.();
          if (
            this.switchAfterConfirmation && record.state === "negotiating" && record.compression
          ) {
            this.#raw = true;
            return false;
          }
        });
      } catch (error) {
        this.problems.push(`the server's bytes do not frame: ${describe(error)}`);
        this.#raw = true;
        return;
      }
      rest = rest.subarray(consumed);
    }
  }

  /** The next envelope from the server; undefined when the connection ended or after `ms`. */
  async next(ms: number): Promise<Envelope | undefined> {
    const deadline = performance.now() + ms;
    while (!this.#envelopes.length && !this.ended) {
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    return this.#envelopes.shift();
  }
}

/** Valid or nearly valid envelopes for an established (or establishing) session. */
export function sessionEnvelope(rng: Rng, sid: string, node: string): string {
  const id = uuid(rng);
  const to = pick(rng, [
    "postmaster@localhost",
    "postmaster@localhost/server",
    "healthy@localhost/fuzz",
    "fuzz1@localhost/x",
    "nobody@localhost",
    "x@elsewhere.org",
    node,
  ]);
  const templates = [
    `{"id":"${id}","method":"get","uri":"/ping"}`,
    `{"id":"${id}","to":"${to}","method":"get","uri":"/ping"}`,
    `{"id":"${id}","method":"set","uri":"/presence","type":"application/vnd.lime.presence+json","resource":{"status":"available","routingRule":"identity"}}`,
    `{"id":"${id}","method":"get","uri":"/presence"}`,
    `{"id":"${id}","method":"get","uri":"/contacts"}`,
    `{"id":"${id}","method":"set","uri":"/contacts","type":"application/vnd.lime.contact+json","resource":{"identity":"bob@localhost"}}`,
    `{"id":"${id}","method":"get","uri":"/account"}`,
    `{"id":"${id}","method":"set","uri":"/receipt","type":"application/vnd.lime.receipt+json","resource":{"events":["received"]}}`,
    `{"id":"${id}","method":"delete","uri":"/nope"}`,
    `{"id":"${id}","method":"get","uri":"/ping","status":"success"}`,
    `{"id":"${id}","to":"${to}","type":"text/plain","content":"hi"}`,
    `{"to":"${to}","type":"application/vnd.lime.chatstate+json","content":{"state":"composing"}}`,
    `{"id":"${id}","to":"${to}","event":"received"}`,
    `{"id":"${id}","from":"spoof@localhost/x","to":"${to}","type":"text/plain","content":"x"}`,
    `{"id":"${sid}","state":"finishing"}`,
    `{"id":"${sid}","state":"new"}`,
    `{"state":"new"}`,
    `{"id":"${sid}","state":"authenticating","scheme":"guest","authentication":{}}`,
    `{"id":"${sid}","state":"negotiating","compression":"gzip","encryption":"tls"}`,
    `{"id":"${sid}","state":"established"}`,
    `{"id":"${sid}","state":"failed","reason":{"code":1}}`,
    `{"id":"other","state":"finishing"}`,
  ];
  return pick(rng, templates);
}

/** The hostile bytes of one stream. */
export function hostilePayload(rng: Rng, seeds: Seeds, sid: string, node: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const n = 1 + int(rng, 5);
  for (let k = 0; k < n; k++) {
    const r = rng();
    if (r < 0.4) parts.push(generate(rng, seeds, true));
    else if (r < 0.75) parts.push(encoder.encode(sessionEnvelope(rng, sid, node)));
    else if (r < 0.85) parts.push(randomBytes(rng, 1 + int(rng, 128)));
    else if (r < 0.9) {
      parts.push(encoder.encode(
        `{"id":"big","type":"text/plain","content":"${"x".repeat(SERVER_MAX_ENVELOPE)}"}`,
      ));
    } else if (r < 0.95) parts.push(encoder.encode(deepText(rng, 65 + int(rng, 200))));
    else parts.push(encoder.encode(pick(rng, [" ", "\n", "\r\n\t"])));
  }
  let bytes = concat(parts);
  if (rng() < 0.5) {
    const m = 1 + int(rng, 3);
    for (let k = 0; k < m; k++) bytes = mutateBytes(rng, bytes, seeds, true);
  }
  return bytes;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function emptyServerReport(): ServerReport {
  return {
    streams: 0,
    bytesSent: 0,
    reached: {},
    endings: {},
    serverVerdicts: {},
    pings: 0,
    unhandled: 0,
    serverErrors: 0,
    crashes: 0,
    hangs: 0,
    slowestMs: 0,
    slowestIndex: -1,
    maxConnections: 0,
    maxLoopDelayMs: 0,
    maxHeap: 0,
    finalSessions: -1,
    websocket: emptyWebSocketReport(),
    http: emptyHttpReport(),
    failures: [],
  };
}

export interface StreamContext {
  seed: number;
  hostname: string;
  port: number;
  seeds: Seeds;
  report: ServerReport;
  fail: (failure: Failure) => void;
}

/** One hostile connection. */
async function hostileStream(ctx: StreamContext, index: number): Promise<void> {
  const { report } = ctx;
  const rng = itemRng(ctx.seed, index, 0x5e55);
  const t0 = performance.now();
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: ctx.hostname, port: ctx.port });
  } catch (error) {
    report.streams++;
    report.crashes++;
    ctx.fail({ part: "server", index, kind: "connect", message: describe(error) });
    return;
  }
  conn.setNoDelay(true);
  const peer = new RawPeer(conn);
  let sent: Uint8Array = new Uint8Array();
  let closed = false;
  const write = (bytes: Uint8Array) => writeAll(conn, bytes);
  const fail = (kind: string, message: string) =>
    ctx.fail({ part: "server", index, kind, message, hex: toHex(sent, 4096) });
  try {
    // The handshake, all or part of it.
    const target = pick(rng, [0, 1, 2, 3, 4, 4, 4, 4]);
    const partial = rng() < 0.15;
    const node = `fuzz${index}@localhost/i${int(rng, 3)}`;
    let sid: string = uuid(rng);
    let reached = "connected";
    let gzipped = false;
    const step = async (text: string, last: boolean): Promise<boolean> => {
      const bytes = encoder.encode(text);
      if (last && partial) {
        await write(bytes.subarray(0, int(rng, bytes.length)));
        reached += "+partial";
        return false;
      }
      return await write(bytes);
    };
    handshake: {
      if (target < 1) break handshake;
      if (!await step(`{"state":"new"}`, target === 1)) break handshake;
      const offer = await peer.next(STEP_MS) as Record<string, unknown> | undefined;
      if (offer?.state !== "negotiating") break handshake;
      sid = String(offer.id);
      reached = "new";
      if (target < 2) break handshake;
      const compression = rng() < 0.15 ? "gzip" : "none";
      if (compression === "gzip" && !(partial && target === 2)) {
        peer.switchAfterConfirmation = true;
      }
      if (
        !await step(
          `{"id":"${sid}","state":"negotiating","compression":"${compression}","encryption":"none"}`,
          target === 2,
        )
      ) break handshake;
      const confirmation = await peer.next(STEP_MS) as Record<string, unknown> | undefined;
      if (confirmation?.state !== "negotiating") break handshake;
      reached = `negotiated-${compression}`;
      if (compression === "gzip") {
        gzipped = true;
        break handshake;
      }
      const auth = await peer.next(STEP_MS) as Record<string, unknown> | undefined;
      if (auth?.state !== "authenticating") break handshake;
      if (target < 3) break handshake;
      if (
        !await step(
          `{"id":"${sid}","from":"${node}","state":"authenticating","scheme":"guest","authentication":{}}`,
          target === 3,
        )
      ) break handshake;
      const established = await peer.next(STEP_MS) as Record<string, unknown> | undefined;
      if (established?.state !== "established") break handshake;
      reached = "established";
    }
    bump(report.reached, reached);

    // The hostile bytes, in random chunks.
    sent = hostilePayload(rng, ctx.seeds, sid, node);
    if (gzipped && rng() < 0.6) sent = await gzip(sent);
    report.bytesSent += sent.length;
    const chunks = 1 + int(rng, 16);
    const cuts = [...new Set(Array.from({ length: chunks - 1 }, () => int(rng, sent.length)))]
      .sort((a, b) => a - b);
    let previous = 0;
    for (const cut of [...cuts, sent.length]) {
      if (!await write(sent.subarray(previous, cut))) break;
      previous = cut;
      if (rng() < 0.2) await delay(int(rng, 4));
    }

    // The end: close, half-close, or silence until the server ends the connection.
    const ending = pick(rng, ["close", "close", "half-close", "half-close", "silent"]);
    bump(report.endings, ending);
    if (ending === "close") {
      conn.close();
      closed = true;
      await readerEnded(peer.done);
    } else {
      if (ending === "half-close") await closeWrite(conn);
      try {
        await within(peer.done, STREAM_BOUND_MS, "the server ending the connection");
      } catch {
        report.hangs++;
        fail("hang", `the server did not end a ${ending} connection within ${STREAM_BOUND_MS} ms`);
      }
      const verdict = peer.lastSession?.state === "failed"
        ? `failed ${(peer.lastSession.reason as { code?: number } | undefined)?.code}`
        : peer.lastSession?.state === "finished"
        ? "finished"
        : gzipped
        ? "closed (gzip)"
        : "closed";
      bump(report.serverVerdicts, verdict);
    }
    reportProblems(peer.problems, report, fail);
  } catch (error) {
    report.crashes++;
    fail("crash", `the stream failed: ${describe(error)}`);
  } finally {
    await finishStream({ conn, closed, done: peer.done, index, t0 }, report, fail);
    report.streams++;
  }
}

/** Fuzzes a live LimeServer with `streams` hostile connections, `concurrency` at once. */
export async function runServerFuzz(
  seed: number,
  streams: number,
  concurrency = 40,
  log?: (line: string) => void,
  onReady?: () => void,
  websocketStreams = 0,
  httpRequests = 0,
): Promise<ServerReport> {
  const report = emptyServerReport();
  const fail = (failure: Failure) => {
    if (report.failures.length < MAX_FAILURES) report.failures.push(failure);
  };
  const onUnhandled = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    report.unhandled++;
    fail({
      part: "server",
      index: -1,
      kind: "unhandled rejection",
      message: describe(event.reason),
    });
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    report.unhandled++;
    fail({ part: "server", index: -1, kind: "uncaught error", message: describe(event.error) });
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  globalThis.addEventListener("error", onError);
  // The server logs through LogTape (silent unless configured): its errors (a session or a
  // listener that failed) are caught by a sink of this run, anything else on console.error too.
  const logged = (message: string) => {
    report.serverErrors++;
    fail({ part: "server", index: -1, kind: "server logged an error", message });
  };
  await configure({
    reset: true,
    sinks: {
      fuzz: (record) =>
        logged(
          `${record.category.join(".")}: ${
            record.message.map((part) => typeof part === "string" ? part : describe(part))
              .join("")
          }`,
        ),
    },
    loggers: [
      { category: ["lime"], sinks: ["fuzz"], lowestLevel: "error" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
  });
  const consoleError = console.error;
  console.error = (...args: unknown[]) => logged(args.map((a) => describe(a)).join(" "));

  const store = await KvAccountStore.open(":memory:");
  const server = new LimeServer({
    domain: "localhost",
    tcp: { hostname: "127.0.0.1", port: 0 },
    websocket: websocketStreams > 0 ? { hostname: "127.0.0.1", port: 0 } : false,
    http: httpRequests > 0 ? { hostname: "127.0.0.1", port: 0, ...HTTP_FUZZ_OPTIONS } : false,
    webhooks: false,
    store,
    passwordIterations: 1000,
    maxEnvelopeSize: SERVER_MAX_ENVELOPE,
    channel: SERVER_CHANNEL,
  });
  let healthy: ClientChannel | undefined;
  // The HTTP requests' connections, closed at the end.
  const httpClient = Deno.createHttpClient({});
  // Event-loop delay: how late a 50 ms timer fires (a stalled loop delays every session).
  let tick = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    report.maxLoopDelayMs = Math.max(report.maxLoopDelayMs, now - tick - 50);
    tick = now;
    // Connections the server still serves: at most one per lane and the healthy client's, plus
    // those whose peer closed and whose teardown is under way.
    report.maxConnections = Math.max(report.maxConnections, server.connectionCount);
  }, 50);
  const heap = () => {
    report.maxHeap = Math.max(report.maxHeap, Deno.memoryUsage().heapUsed);
  };
  try {
    await server.start();
    if (httpRequests > 0) {
      await store.createAccount({
        identity: HTTP_BOT.identity,
        document: {},
        passwordHash: await hashPassword(HTTP_BOT.password, 1000),
      });
    }
    const [hostname, port] = server.tcpAddress!.split(":");
    const transport = new TcpTransport();
    await transport.open(`net.tcp://${hostname}:${port}`);
    const client = new ClientChannel(transport, { commandTimeout: 5000 });
    healthy = client;
    await within(
      client.establishSession({ identity: "healthy@localhost", instance: "fuzz" }),
      5000,
      "establishing the healthy client",
    );
    // Hostile streams may address it: drop what they send.
    client.onMessage(() => {});
    client.onNotification(() => {});
    client.onCommand(() => {});
    const ping = async (when: string) => {
      try {
        const response = await within(
          client.processCommand(new Command("get", "/ping", { id: crypto.randomUUID() })),
          5000,
          "the healthy client's ping",
        );
        if (response.status !== "success") throw new Error(`status ${response.status}`);
        report.pings++;
      } catch (error) {
        report.crashes++;
        fail({
          part: "server",
          index: -1,
          kind: "healthy client",
          message: `the healthy client's /ping failed ${when}: ${describe(error)}`,
        });
      }
    };
    await ping("at the start");
    onReady?.();

    const ctx = {
      seed,
      hostname,
      port: Number(port),
      websocketPort: Number(server.websocketAddress?.split(":")[1] ?? 0),
      websocket: report.websocket,
      httpPort: Number(server.httpAddress?.split(":")[1] ?? 0),
      httpClient,
      http: report.http,
      seeds: loadSeeds(),
      report,
      fail,
    };
    // TCP and WebSocket streams and HTTP requests interleaved evenly (smooth weighted round
    // robin); each kind keeps its own indices (a stream replays the same whatever the number of
    // the others).
    const kinds = [
      { count: streams, run: hostileStream, weight: 0, next: 0 },
      { count: websocketStreams, run: hostileWebSocketStream, weight: 0, next: 0 },
      { count: httpRequests, run: hostileHttpRequest, weight: 0, next: 0 },
    ];
    const total = streams + websocketStreams + httpRequests;
    const nextKind = () => {
      for (const kind of kinds) kind.weight += kind.count;
      const chosen = kinds.reduce((a, b) => b.weight > a.weight ? b : a);
      chosen.weight -= total;
      return chosen;
    };
    let next = 0;
    let finished = 0;
    const checkpoints: Promise<void>[] = [];
    const lane = async () => {
      while (next < total) {
        next++;
        const kind = nextKind();
        await kind.run(ctx, kind.next++);
        finished++;
        if (finished % 100 === 0) heap();
        if (finished % 1000 === 0) {
          checkpoints.push(ping(`after ${finished} streams`));
          log?.(`server: ${finished.toLocaleString("en")} streams`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
    await Promise.all(checkpoints);

    // Every hostile connection ends; only the healthy client stays.
    const deadline = performance.now() + CONNECTION_BOUND_MS;
    const left = () => server.connectionCount > 1 || server.registry.size > 1;
    while (left() && performance.now() < deadline) await delay(20);
    if (left()) {
      report.hangs++;
      fail({
        part: "server",
        index: -1,
        kind: "hang",
        message: `${server.connectionCount - 1} hostile connections and ${
          server.registry.size - 1
        } hostile sessions still open ${CONNECTION_BOUND_MS} ms after the last stream`,
      });
    }
    if (client.state !== "established") {
      report.crashes++;
      fail({
        part: "server",
        index: -1,
        kind: "healthy client",
        message: `the healthy client is ${client.state}`,
      });
    }
    await ping("at the end");
    await within(client.finish(), 5000, "finishing the healthy client");
    const ends = performance.now() + 2000;
    while (server.registry.size > 0 && performance.now() < ends) await delay(10);
    report.finalSessions = server.registry.size;
    if (report.finalSessions !== 0) {
      report.crashes++;
      fail({
        part: "server",
        index: -1,
        kind: "registry",
        message: `${report.finalSessions} sessions left in the registry`,
      });
    }
    heap();
  } catch (error) {
    report.crashes++;
    fail({ part: "server", index: -1, kind: "crash", message: describe(error) });
  } finally {
    onReady?.();
    clearInterval(lag);
    await healthy?.close().catch(() => {});
    // Its pooled keep-alive connections go first: the server's shutdown waits for them.
    httpClient.close();
    // A server that cannot shut down (a connection it never lets go) is a hang too.
    await within(server.shutdown(), SHUTDOWN_BOUND_MS, "shutting the server down").catch(
      (error) => {
        report.hangs++;
        fail({ part: "server", index: -1, kind: "hang", message: describe(error) });
      },
    );
    store.close();
    // Let the last closes settle before the listeners go.
    await delay(0);
    console.error = consoleError;
    await reset();
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
    globalThis.removeEventListener("error", onError);
  }
  // Each lane has one connection open at a time; one whose peer closed is torn down within the
  // server's closeTimeout. Connections that outlive their streams pile up past this.
  const lanes = Math.min(concurrency, streams + websocketStreams + httpRequests);
  if (report.maxConnections > 2 * lanes + 1) {
    report.hangs++;
    fail({
      part: "server",
      index: -1,
      kind: "hang",
      message: `the server served ${report.maxConnections} connections at once for ${lanes} ` +
        `lanes: connections outlive their streams`,
    });
  }
  return report;
}

// ------------------------------------------------------------------------------------------------
// Both parts, the report, the command line

/** Runs both parts. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const seed = options.seed >>> 0;
  const log = options.progress;
  // The codec part starts once the healthy client is established (it loads the machine).
  let ready = () => {};
  const serverReady = new Promise<void>((resolve) => ready = resolve);
  const websocketStreams = options.websocketStreams ?? 0;
  const httpRequests = options.httpRequests ?? 0;
  const server = options.streams + websocketStreams + httpRequests > 0
    ? runServerFuzz(
      seed,
      options.streams,
      options.concurrency,
      log,
      ready,
      websocketStreams,
      httpRequests,
    )
    : (ready(), Promise.resolve(emptyServerReport()));
  const codec = serverReady.then(() =>
    options.inputs === 0 ? emptyCodecReport() : options.worker ?? true
      // In a worker, beside the server (two threads).
      ? runCodecInWorker(seed, options.inputs, log)
      // In this thread, in batches, the streams in between.
      : runCodecFuzzInBatches(seed, options.inputs, log)
  );
  const [c, s] = await Promise.all([codec, server]);
  const ok = c.failures.length === 0 && c.crashes === 0 && c.hangs === 0 &&
    s.failures.length === 0 && s.crashes === 0 && s.hangs === 0 && s.unhandled === 0 &&
    s.serverErrors === 0;
  return { seed, codec: c, server: s, ok, seconds: (performance.now() - t0) / 1000 };
}

function n(value: number): string {
  return value.toLocaleString("en");
}

function record(r: Record<string, number>): string {
  const entries = Object.entries(r).sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }));
  return entries.length ? entries.map(([k, v]) => `${k} ${n(v)}`).join(", ") : "none";
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** The report as text. */
export function formatReport(report: FuzzReport, options: FuzzOptions): string {
  const { codec: c, server: s } = report;
  const refused = Object.values(c.framing).reduce((a, b) => a + b, 0);
  const invalid = Object.values(c.validation).reduce((a, b) => a + b, 0);
  const lines = [
    `seed ${report.seed} (replay: deno task fuzz --seed=${report.seed} --inputs=${options.inputs} --streams=${options.streams} --websocket-streams=${
      options.websocketStreams ?? 0
    } --http-requests=${options.httpRequests ?? 0})`,
    `seeds: ${loadSeeds().texts.length} distinct (${loadSeeds().origin})`,
    `codec: ${n(c.inputs)} inputs (${mib(c.bytes)}), ${n(c.frames)} frames, ${
      n(c.direct)
    } also parsed whole`,
    `  accepted ${n(c.accepted)} envelopes, all round-tripped (${
      n(c.lossy)
    } with a number beyond ±1.8e308 in free-form JSON, which comes back null)`,
    `  refused by the framer ${n(refused)}: ${record(c.framing)}; ended inside an object ${
      n(c.incomplete)
    }`,
    `  refused by parseEnvelope ${n(invalid)} (ValidationError by code): ${record(c.validation)}`,
    `  crashes ${c.crashes}, hangs ${c.hangs}, slowest input ${
      c.slowestMs.toFixed(1)
    } ms (#${c.slowestIndex}, ${n(c.slowestSize)} bytes), max heap ${mib(c.maxHeap)}`,
    `server: ${n(s.streams)} hostile streams (${mib(s.bytesSent)} sent after handshakes)`,
    `  handshake reached: ${record(s.reached)}`,
    `  endings: ${record(s.endings)}`,
    `  the server ended them with: ${record(s.serverVerdicts)}`,
    ...(s.websocket.streams ? formatWebSocket(s.websocket) : []),
    ...(s.http.requests ? formatHttp(s.http) : []),
    `  healthy /ping round trips ${s.pings}, sessions left ${s.finalSessions}`,
    `  crashes ${s.crashes}, hangs ${s.hangs}, unhandled ${s.unhandled}, server errors logged ${s.serverErrors}`,
    `  slowest stream ${
      s.slowestMs.toFixed(0)
    } ms (#${s.slowestIndex}), most connections at once ${s.maxConnections}, max event-loop delay ${
      s.maxLoopDelayMs.toFixed(0)
    } ms, max heap ${mib(s.maxHeap)}`,
    `${report.ok ? "OK" : "FAILED"} in ${report.seconds.toFixed(1)} s`,
  ];
  for (const f of [...c.failures, ...s.failures]) {
    lines.push(`failure: ${f.part} ${f.index >= 0 ? `#${f.index} ` : ""}${f.kind}: ${f.message}`);
    if (f.hex !== undefined) lines.push(`  input (hex): ${f.hex}`);
  }
  return lines.join("\n");
}

function formatWebSocket(w: WebSocketFuzzReport): string[] {
  return [
    `  websocket: ${n(w.streams)} hostile streams (${mib(w.bytesSent)} of frames after handshakes)`,
    `    request heads: ${record(w.heads)}`,
    `    answers: ${record(w.statuses)}`,
    `    handshake reached: ${record(w.reached)}`,
    `    hostile frames: ${record(w.frames)}`,
    `    endings: ${record(w.endings)}`,
    `    the server ended them with: ${record(w.serverVerdicts)}`,
    `    close codes judged (a session's first frame broke RFC 6455): ${n(w.closeCodesJudged)}`,
  ];
}

function formatHttp(h: HttpFuzzReport): string[] {
  return [
    `  http: ${n(h.requests)} hostile requests (${mib(h.bytesSent)} of bodies)`,
    `    requests: ${record(h.targets)}`,
    `    Authorization: ${record(h.authorizations)}`,
    `    bodies: ${record(h.bodies)}`,
    `    answers (status/reason): ${record(h.answers)}`,
  ];
}

function parseArgs(args: string[]): FuzzOptions & { only?: number } {
  const value = (name: string) => {
    const arg = args.find((a) => a.startsWith(`--${name}=`));
    if (arg === undefined) return undefined;
    const v = Number(arg.slice(name.length + 3).replaceAll("_", ""));
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`);
    return v;
  };
  const unknown = args.filter((a) =>
    !/^--(seed|inputs|streams|websocket-streams|http-requests|concurrency|only)=/.test(a) &&
    a !== "--no-worker"
  );
  if (unknown.length) throw new Error(`unknown arguments: ${unknown.join(" ")}`);
  return {
    seed: value("seed") ?? crypto.getRandomValues(new Uint32Array(1))[0],
    inputs: value("inputs") ?? 1_000_000,
    streams: value("streams") ?? 10_000,
    websocketStreams: value("websocket-streams") ?? 5_000,
    httpRequests: value("http-requests") ?? 5_000,
    concurrency: value("concurrency") ?? 40,
    worker: !args.includes("--no-worker"),
    only: value("only"),
  };
}

async function main(): Promise<number> {
  const options = parseArgs(Deno.args);
  if (options.only !== undefined) {
    const bytes = generateInput(options.seed, options.only);
    const report = runCodecFuzz(options.seed, options.only, 1);
    console.log(`seed ${options.seed} input #${options.only}: ${toHex(bytes)}`);
    console.log(lenient.decode(bytes).slice(0, 2000));
    console.log(report.failures.length ? `FAILED: ${report.failures[0].message}` : "OK");
    return report.failures.length ? 1 : 0;
  }
  console.log(
    `fuzzing: seed ${options.seed}, ${n(options.inputs)} codec inputs, ${
      n(options.streams)
    } server streams (${options.concurrency} at once)`,
  );
  const report = await fuzz({
    ...options,
    progress: (line) => console.log(`  … ${line}`),
  });
  console.log(formatReport(report, options));
  return report.ok ? 0 : 1;
}

// In the codec worker: run the requested range and post the report.
const workerScope = (globalThis as { WorkerGlobalScope?: new () => unknown }).WorkerGlobalScope;
if (workerScope !== undefined && globalThis instanceof workerScope) {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
    postMessage(message: WorkerReply): void;
    close(): void;
  };
  scope.onmessage = (event) => {
    const { seed, start, count, progress } = event.data;
    try {
      const report = runCodecFuzz(
        seed,
        start,
        count,
        new Int32Array(progress),
        (done) => scope.postMessage({ progress: done }),
      );
      scope.postMessage({ done: report });
    } catch (error) {
      scope.postMessage({ error: describe(error) });
    }
    scope.close();
  };
} else if (import.meta.main) {
  Deno.exit(await main());
}
