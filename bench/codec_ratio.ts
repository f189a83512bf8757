/**
 * Codec throughput as ratios to the JSON built-ins, printed as a Markdown table.
 *
 * `deno run bench/codec_ratio.ts [--round-ms=1000] [--rounds=7] [--warmup-ms=1500] [--slice-ms=20]`
 *
 * For each pair (decode text, decode bytes, encode) the script warms both functions up, then runs
 * `--rounds` rounds over the whole corpus of `corpus.ts`. In a round, baseline and codec
 * alternate in slices of `--slice-ms` until each side has run at least `--round-ms` (fine
 * alternation, because a shared machine's speed drifts within seconds and would otherwise favour
 * whichever side ran in the fast second). It reports the median throughput of the rounds and,
 * as the ratio that decides "met?", the median of the per-round codec ÷ baseline ratios (the
 * ratio of the two median throughputs is printed too; per-round ratios go to stderr). Targets
 * (issue 16): decode with validation ≥ 0.8× `JSON.parse` of the same bytes, encode ≥ 0.95×
 * `JSON.stringify`. The exit code is 0 whatever the result: this is a report.
 * @module
 */
import { parseEnvelope, serializeEnvelope } from "../src/codec.ts";
import { CORPUS } from "./corpus.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { numberOption } from "./cli_option.ts";

const { texts, bytes, objects, totalBytes } = CORPUS;
const utf8 = new TextDecoder();

const option = (name: string, fallback: number) => numberOption(name, fallback, { positive: true });
const ROUND_MS = option("round-ms", 1000);
const ROUNDS = option("rounds", 7);
const WARMUP_MS = option("warmup-ms", 1500);
const SLICE_MS = option("slice-ms", 20);

/** One pass over the whole corpus; returns something derived from every result. */
type Pass = () => number;

interface Pair {
  path: string;
  baselineName: string;
  baseline: Pass;
  codecName: string;
  codec: Pass;
  target: number;
}

// The corpus as one TCP-like stream (newline-separated, like lime-go), cut into 64 KiB reads.
const stream = new TextEncoder().encode(texts.join("\n"));
const streamChunks: Uint8Array[] = [];
for (let i = 0; i < stream.length; i += 65536) streamChunks.push(stream.subarray(i, i + 65536));

/** `JSON.parse` of every envelope text: the baseline of text decoding and of framing. */
const parseEachText: Pass = () => {
  let s = 0;
  for (let i = 0; i < texts.length; i++) {
    s ^= (JSON.parse(texts[i]) as { id?: string }).id?.length ?? 0;
  }
  return s;
};

const pairs: Pair[] = [
  {
    path: "decode (text)",
    baselineName: "JSON.parse(text)",
    baseline: parseEachText,
    codecName: "parseEnvelope(text)",
    codec: () => {
      let s = 0;
      for (let i = 0; i < texts.length; i++) s ^= parseEnvelope(texts[i]).id?.length ?? 0;
      return s;
    },
    target: 0.8,
  },
  {
    path: "decode (bytes)",
    baselineName: "JSON.parse(TextDecoder.decode(bytes))",
    baseline: () => {
      let s = 0;
      for (let i = 0; i < bytes.length; i++) {
        s ^= (JSON.parse(utf8.decode(bytes[i])) as { id?: string }).id?.length ?? 0;
      }
      return s;
    },
    codecName: "parseEnvelope(bytes)",
    codec: () => {
      let s = 0;
      for (let i = 0; i < bytes.length; i++) s ^= parseEnvelope(bytes[i]).id?.length ?? 0;
      return s;
    },
    target: 0.8,
  },
  {
    path: "encode",
    baselineName: "JSON.stringify(object)",
    baseline: () => {
      let s = 0;
      for (let i = 0; i < objects.length; i++) s ^= JSON.stringify(objects[i]).length;
      return s;
    },
    codecName: "serializeEnvelope(object)",
    codec: () => {
      let s = 0;
      for (let i = 0; i < objects.length; i++) s ^= serializeEnvelope(objects[i]).length;
      return s;
    },
    target: 0.95,
  },
  {
    path: "framing (bytes → frames)",
    baselineName: "JSON.parse(text)",
    baseline: parseEachText,
    codecName: "EnvelopeFramer.push(64 KiB chunks)",
    codec: () => {
      let s = 0;
      const framer = new EnvelopeFramer();
      for (const chunk of streamChunks) framer.push(chunk, (frame) => s ^= frame.length);
      return s;
    },
    target: 0,
  },
];

let sink = 0;

/** Runs `pass` for at least `ms` milliseconds; returns [corpus passes, elapsed ms]. */
function slice(pass: Pass, ms: number): [number, number] {
  let passes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    sink ^= pass();
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return [passes, elapsed];
}

/**
 * One round: baseline and codec slices of `SLICE_MS` alternate until each side has run for
 * `ROUND_MS`, so both see the same machine (shared or throttled CPUs change speed within
 * seconds). Returns the corpus passes per second of each side.
 */
function round(baseline: Pass, codec: Pass, codecFirst: boolean): [number, number] {
  let bPasses = 0, bMs = 0, cPasses = 0, cMs = 0;
  while (bMs < ROUND_MS || cMs < ROUND_MS) {
    for (const isCodec of codecFirst ? [true, false] : [false, true]) {
      const [passes, ms] = slice(isCodec ? codec : baseline, SLICE_MS);
      if (isCodec) {
        cPasses += passes;
        cMs += ms;
      } else {
        bPasses += passes;
        bMs += ms;
      }
    }
  }
  return [bPasses / (bMs / 1000), cPasses / (cMs / 1000)];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Row {
  pair: Pair;
  baseline: number;
  codec: number;
  /** Median of the per-round ratios: each round's two sides ran interleaved, so drift cancels. */
  ratio: number;
  ratioOfMedians: number;
}

const envelopes = texts.length;
const megabytes = totalBytes / 1e6;
const size = fmt(totalBytes), average = fmt(totalBytes / envelopes);
console.log(
  `Corpus: ${envelopes} envelopes, ${size} bytes of UTF-8 JSON (${average} B average). ` +
    `${ROUNDS} rounds of ≥ ${ROUND_MS} ms per side, in alternating ${SLICE_MS} ms slices, after ` +
    `${WARMUP_MS} ms of warm-up; Deno ${Deno.version.deno}, V8 ${Deno.version.v8}.`,
);

const rows: Row[] = [];
for (const pair of pairs) {
  slice(pair.baseline, WARMUP_MS / 2);
  slice(pair.codec, WARMUP_MS / 2);
  const base: number[] = [];
  const codec: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [b, c] = round(pair.baseline, pair.codec, r % 2 === 1);
    base.push(b);
    codec.push(c);
    ratios.push(c / b);
  }
  const b = median(base), c = median(codec);
  rows.push({ pair, baseline: b, codec: c, ratio: median(ratios), ratioOfMedians: c / b });
  console.error(
    `  ${pair.path}: done (round ratios ${ratios.map((x) => x.toFixed(2)).join(", ")})`,
  );
}

console.log();
console.log("ops/s = envelopes per second; MB/s = corpus UTF-8 bytes (10^6) per second.");
console.log();
console.log(
  "| path | baseline | codec | baseline ops/s | codec ops/s | baseline MB/s | codec MB/s | ratio | " +
    "ratio of medians | target | met? |",
);
console.log("|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|");
for (const row of rows) {
  const met = row.ratio >= row.pair.target;
  console.log(
    `| ${row.pair.path} | \`${row.pair.baselineName}\` | \`${row.pair.codecName}\` | ` +
      `${fmt(row.baseline * envelopes)} | ${fmt(row.codec * envelopes)} | ` +
      `${fmt(row.baseline * megabytes, 1)} | ${fmt(row.codec * megabytes, 1)} | ` +
      `${row.ratio.toFixed(2)}× | ${row.ratioOfMedians.toFixed(2)}× | ${
        row.pair.target ? `≥ ${row.pair.target}×` : "–"
      } | ` +
      `${row.pair.target === 0 ? "(report)" : met ? "yes" : "**NO**"} |`,
  );
}
console.log();
for (const row of rows.filter((r) => r.pair.target > 0)) {
  const met = row.ratio >= row.pair.target;
  console.log(
    `${met ? "MET    " : "NOT MET"} ${row.pair.path}: ${row.ratio.toFixed(2)}× ` +
      `(target ≥ ${row.pair.target}×)`,
  );
}
if (sink === 0.5) console.log(sink); // never true; keeps the results observable
