/**
 * Codec throughput against the JSON built-ins on the mixed corpus of `corpus.ts`.
 *
 * Run with `deno bench -A bench/codec_bench.ts`. Every iteration processes the whole corpus (1,000
 * envelopes); each group has a `JSON` baseline, so `deno bench` prints the codec's ratio to it.
 * Targets (lime issue): decode with validation ≥ 0.6× `JSON.parse`, encode ≥ 0.8×
 * `JSON.stringify`. `deno bench` runs the cases one after the other, so on a shared or throttled
 * machine its ratios drift with the machine's speed; `bench/codec_ratio.ts` measures the same
 * pairs interleaved in short slices and prints the ratios as a table.
 * @module
 */
import { parseEnvelope, serializeEnvelope } from "../src/codec.ts";
import { CORPUS } from "./corpus.ts";

const { texts, bytes, objects } = CORPUS;
const utf8 = new TextDecoder();

// Results go to a sink so the work cannot be optimized away.
let sink = 0;

Deno.bench("JSON.parse(text)", { group: "decode", baseline: true }, () => {
  for (let i = 0; i < texts.length; i++) {
    sink ^= (JSON.parse(texts[i]) as { id?: string }).id?.length ?? 0;
  }
});

Deno.bench("parseEnvelope(text)", { group: "decode" }, () => {
  for (let i = 0; i < texts.length; i++) sink ^= parseEnvelope(texts[i]).id?.length ?? 0;
});

Deno.bench(
  "JSON.parse(TextDecoder.decode(bytes))",
  { group: "decode-bytes", baseline: true },
  () => {
    for (let i = 0; i < bytes.length; i++) {
      sink ^= (JSON.parse(utf8.decode(bytes[i])) as { id?: string }).id?.length ?? 0;
    }
  },
);

Deno.bench("parseEnvelope(bytes)", { group: "decode-bytes" }, () => {
  for (let i = 0; i < bytes.length; i++) sink ^= parseEnvelope(bytes[i]).id?.length ?? 0;
});

Deno.bench("JSON.stringify(object)", { group: "encode", baseline: true }, () => {
  for (let i = 0; i < objects.length; i++) sink ^= JSON.stringify(objects[i]).length;
});

Deno.bench("serializeEnvelope(object)", { group: "encode" }, () => {
  for (let i = 0; i < objects.length; i++) sink ^= serializeEnvelope(objects[i]).length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink); // never true; keeps `sink` observable
});
