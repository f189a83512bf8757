/**
 * What `TcpTransport` does with a received chunk, in one thread without a socket: frames it with
 * `EnvelopeFramer` and parses every frame with `parseEnvelope` (validated), decoding UTF-8 either
 * **per envelope** (a `TextDecoder` call for each: what the transport did before
 * `ascii_chunk.ts`) or **per read** as the transport does now (`asciiSpans`: a read that is all
 * ASCII decoded once and the framer's spans sliced from its text, no view of the bytes made;
 * other reads per envelope, after one `isAscii` scan of the read). Two streams, each cut into
 * 64 KiB reads: the corpus's envelopes whose text is all ASCII, and the whole corpus (a fifth of
 * its envelopes carry other characters, so every 64 KiB read has some: the per-read path is then
 * the per-envelope one plus that scan).
 *
 * The two ways alternate in 20 ms slices within each round (a shared machine drifts); printed:
 * ns per envelope (median of the rounds), each beside `JSON.parse` of the same texts, and the
 * median of the per-round ratios per read ÷ per envelope (below 1: the per-read way is faster).
 * Then what deciding costs against decoding: `isAscii` and a `TextDecoder` call on one 64 KiB
 * read of each stream, µs per call.
 *
 * `deno run bench/receive_path.ts [--rounds=7] [--round-ms=600]`
 * @module
 */
import { isAscii } from "node:buffer";
import { parseEnvelope } from "../src/codec_core.ts";
import { asciiSpans } from "../src/transport/ascii_chunk.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { numberOption } from "./cli_option.ts";
import { CORPUS } from "./corpus.ts";

const ROUNDS = numberOption("rounds", 7, { positive: true, integer: true });
const ROUND_MS = numberOption("round-ms", 600, { positive: true });
const SLICE_MS = 20;

interface Stream {
  name: string;
  texts: readonly string[];
  chunks: Uint8Array[];
}

function stream(name: string, texts: readonly string[]): Stream {
  const bytes = new TextEncoder().encode(texts.join("\n"));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.slice(i, i + 65536));
  return { name, texts, chunks };
}

const streams = [
  stream(
    "all-ASCII envelopes of the corpus",
    // deno-lint-ignore no-control-regex -- ASCII is the point
    CORPUS.texts.filter((text) => /^[\x00-\x7f]*$/.test(text)),
  ),
  stream("the whole corpus (a fifth not ASCII)", CORPUS.texts),
];

type Pass = (s: Stream) => number;

const perFrame: Pass = (s) => {
  let n = 0;
  const framer = new EnvelopeFramer();
  for (const chunk of s.chunks) {
    framer.push(chunk, (frame) => n ^= parseEnvelope(frame).id?.length ?? 0);
  }
  return n;
};

const perChunk: Pass = (s) => {
  let n = 0;
  const framer = new EnvelopeFramer();
  const onFrame = (frame: string | Uint8Array) => n ^= parseEnvelope(frame).id?.length ?? 0;
  for (const chunk of s.chunks) framer.push(chunk, onFrame, asciiSpans(chunk, onFrame));
  return n;
};

const jsonParse: Pass = (s) => {
  let n = 0;
  for (const text of s.texts) n ^= (JSON.parse(text) as { id?: string }).id?.length ?? 0;
  return n;
};

let sink = 0;
/** Passes run and ms spent in one slice of at least `ms`. */
function slice(pass: Pass, s: Stream, ms: number): [number, number] {
  const start = performance.now();
  let passes = 0, elapsed = 0;
  do {
    sink ^= pass(s);
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return [passes, elapsed];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

console.log(
  `Receive path: 64 KiB reads → frames → parseEnvelope; ${ROUNDS} rounds of ≥ ${ROUND_MS} ms per ` +
    `way in alternating ${SLICE_MS} ms slices; Deno ${Deno.version.deno}.\n`,
);
console.log(
  "| stream | envelopes | JSON.parse ns/env | per envelope ns/env | per read ns/env | per read ÷ per envelope (rounds) |",
);
console.log("|---|--:|--:|--:|--:|---|");
const ways = [jsonParse, perFrame, perChunk];
for (const s of streams) {
  for (const way of ways) slice(way, s, 300); // warm-up
  const ns: number[][] = ways.map(() => []);
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const totals = ways.map(() => [0, 0]);
    while (totals.some(([, ms]) => ms < ROUND_MS)) {
      for (let k = 0; k < ways.length; k++) {
        const w = (k + r) % ways.length; // the order rotates from round to round
        const [passes, ms] = slice(ways[w], s, SLICE_MS);
        totals[w][0] += passes;
        totals[w][1] += ms;
      }
    }
    const round = totals.map(([passes, ms]) => (ms * 1e6) / (passes * s.texts.length));
    round.forEach((value, k) => ns[k].push(value));
    ratios.push(round[2] / round[1]);
  }
  const [parse, frame, chunk] = ns.map(median);
  const spread = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  console.log(
    `| ${s.name} | ${s.texts.length} | ${parse.toFixed(0)} | ${frame.toFixed(0)} | ` +
      `${chunk.toFixed(0)} | **${median(ratios).toFixed(2)}×** (${spread}) |`,
  );
}

// What deciding costs against decoding, on one 64 KiB read of each stream (the first).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** µs per call of `f`, the median of ROUNDS runs of at least 50 ms. */
function perCall(f: () => unknown): number {
  const runs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    let calls = 0;
    while (performance.now() - start < 50) {
      if (f()) sink++;
      calls++;
    }
    runs.push(((performance.now() - start) * 1000) / calls);
  }
  return median(runs);
}
console.log();
for (const s of streams) {
  const read = s.chunks[0];
  console.log(
    `${s.name}, one read of ${read.length} B: isAscii ${
      perCall(() => isAscii(read)).toFixed(2)
    } µs, ` +
      `decoding it ${perCall(() => decoder.decode(read)).toFixed(2)} µs`,
  );
}
if (sink === 0.5) console.log(sink);
