/**
 * Where the floor of validated decoding lies: what reading every value of the corpus costs over
 * `JSON.parse` alone, what checking its addresses costs on top, and what `parseEnvelope` costs,
 * each as a ratio to `JSON.parse` of the same texts in the same run.
 *
 * `deno run --allow-read --allow-env bench/codec_floor.ts [--rounds=9] [--round-ms=600]`
 *
 * Rows (all parse the text first):
 * - `walk`: visits every value of the parsed envelope (for-in over objects, arrays, `typeof`):
 *   the least any validator that reads each field does.
 * - `walk + addresses (cache)`: `walk`, and `isNodeString` (the codec's cached check) on every
 *   `from`, `to`, `pp` and `identity` string.
 * - `walk + addresses (regex)`: the same with `NODE_PATTERN.test`, the uncached price.
 * - `walk + addresses + media types`: `walk + addresses (cache)`, and the registry's media type
 *   check (`isMediaTypeFast`) on every `type` and `itemType` string.
 * - `parseEnvelope`: the codec (kind, the spec's every check, nulls stripped).
 *
 * As in `codec_ratio.ts`, the paths alternate in slices of `--slice-ms` within each round, and the
 * ratio printed is the median of the per-round ratios. The exit code is 0: this is a report.
 * @module
 */
import { parseEnvelope } from "../src/codec.ts";
import { isNodeString } from "../src/formats.ts";
import { isMediaTypeFast } from "../src/document_check.ts";
import { NODE_PATTERN } from "../src/generated/formats.generated.ts";
import { CORPUS } from "./corpus.ts";
import { numberOption } from "./cli_option.ts";

const option = (name: string, fallback: number) => numberOption(name, fallback, { positive: true });
const ROUNDS = option("rounds", 9);
const ROUND_MS = option("round-ms", 600);
const SLICE_MS = option("slice-ms", 20);

const texts = CORPUS.texts;
const isAddressKey = (key: string) =>
  key === "from" || key === "to" || key === "pp" || key === "identity";

/** Visits every value; counts the strings (so that nothing is optimized away). */
function walk(value: unknown): number {
  if (typeof value !== "object" || value === null) return typeof value === "string" ? 1 : 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) n += walk(value[i]);
    return n;
  }
  for (const key in value) n += walk((value as Record<string, unknown>)[key]);
  return n;
}

/**
 * `walk`, checking every address string with `check` (and every media type, when `mediaTypes`);
 * counts the strings and the refusals.
 */
function walkAddresses(value: unknown, check: (s: string) => boolean, mediaTypes = false): number {
  if (typeof value !== "object" || value === null) return typeof value === "string" ? 1 : 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) n += walkAddresses(value[i], check, mediaTypes);
    return n;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item !== "string") n += walkAddresses(item, check, mediaTypes);
    else if (isAddressKey(key)) n += check(item) ? 1 : 2;
    else if (mediaTypes && (key === "type" || key === "itemType")) {
      n += isMediaTypeFast(item) ? 1 : 2;
    } else n++;
  }
  return n;
}

type Pass = () => number;
const pass = (decode: (text: string) => number): Pass => () => {
  let s = 0;
  for (let i = 0; i < texts.length; i++) s ^= decode(texts[i]);
  return s;
};
const regex = (s: string) => NODE_PATTERN.test(s);
const paths: [string, Pass][] = [
  ["JSON.parse", pass((t) => (JSON.parse(t) as { id?: string }).id?.length ?? 0)],
  ["walk", pass((t) => walk(JSON.parse(t)))],
  ["walk + addresses (cache)", pass((t) => walkAddresses(JSON.parse(t), isNodeString))],
  ["walk + addresses (regex)", pass((t) => walkAddresses(JSON.parse(t), regex))],
  [
    "walk + addresses + media types",
    pass((t) => walkAddresses(JSON.parse(t), isNodeString, true)),
  ],
  ["parseEnvelope", pass((t) => parseEnvelope(t).id?.length ?? 0)],
];

let sink = 0;
function slice(run: Pass, ms: number): [number, number] {
  let passes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    sink ^= run();
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return [passes, elapsed];
}

for (const [, run] of paths) slice(run, 300);
const ratios: number[][] = paths.map(() => []);
const perEnvelope: number[][] = paths.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  const passes = paths.map(() => 0), ms = paths.map(() => 0);
  while (ms.some((m) => m < ROUND_MS)) {
    for (let j = 0; j < paths.length; j++) {
      const i = (j + r) % paths.length; // rotate the order from round to round
      const [p, t] = slice(paths[i][1], SLICE_MS);
      passes[i] += p;
      ms[i] += t;
    }
  }
  const ns = paths.map((_, i) => (ms[i] * 1e6) / passes[i] / texts.length);
  paths.forEach((_, i) => {
    ratios[i].push(ns[0] / ns[i]);
    perEnvelope[i].push(ns[i]);
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
console.log(
  `Corpus: ${texts.length} envelopes; ${ROUNDS} rounds of ≥ ${ROUND_MS} ms per path in ` +
    `${SLICE_MS} ms slices; Deno ${Deno.version.deno}.`,
);
console.log();
console.log("| path | ns per envelope | ratio to JSON.parse | round ratios |");
console.log("|---|--:|--:|---|");
paths.forEach(([name], i) => {
  const sorted = [...ratios[i]].sort((a, b) => a - b);
  console.log(
    `| ${name} | ${median(perEnvelope[i]).toFixed(0)} | ${median(ratios[i]).toFixed(2)}× | ` +
      `${sorted[0].toFixed(2)}–${sorted[sorted.length - 1].toFixed(2)} |`,
  );
});
if (sink === 0.5) console.log(sink); // never true; keeps the results observable
