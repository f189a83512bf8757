/**
 * `deno task codegen`: compiles `spec/` into `src/generated/`.
 *
 * Options: `--spec DIR` (default `spec`), `--out DIR` (default `src/generated`), `--check`
 * (write nothing; exit 1 and print the difference when the output folder is stale or edited).
 * @module
 */
import { loadSpec } from "./spec_model.ts";
import { formatTs, type GeneratedFile, markPure } from "./emit_util.ts";
import { emitEnums } from "./emit_enums.ts";
import { emitReasonCodes, emitReasons } from "./emit_reasons.ts";
import { emitTypes } from "./emit_types.ts";
import { emitChecks } from "./emit_checks.ts";
import { emitExplain } from "./emit_explain.ts";
import { emitValidators } from "./emit_validators.ts";
import { emitRegistry } from "./emit_registry.ts";
import { emitSession } from "./emit_session.ts";
import { emitFormats } from "./emit_formats.ts";
import { diffLines } from "./diff.ts";

/** Generates every file for the spec in `specDir`, formatted. */
export async function generate(specDir: string): Promise<GeneratedFile[]> {
  const spec = await loadSpec(specDir);
  const files = [
    emitEnums(spec),
    emitReasons(spec),
    emitReasonCodes(spec),
    await emitTypes(spec),
    emitChecks(spec),
    emitExplain(spec),
    emitValidators(spec),
    emitRegistry(spec),
    emitSession(spec),
    emitFormats(spec),
  ];
  return await Promise.all(
    files.map(async (f) => ({ name: f.name, text: await formatTs(markPure(f.text)) })),
  );
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

async function main(args: string[]): Promise<number> {
  const opt = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const specDir = opt("--spec", "spec");
  const outDir = opt("--out", "src/generated");
  const check = args.includes("--check");
  const files = await generate(specDir);
  const expected = new Set(files.map((f) => f.name));
  let stale = 0;
  for (const file of files) {
    const path = `${outDir}/${file.name}`;
    const current = await readOrNull(path);
    if (current === file.text) continue;
    if (check) {
      stale++;
      console.error(
        current === null
          ? `missing: ${path}`
          : `stale or edited: ${path}\n${diffLines(file.text, current)}`,
      );
    } else {
      await Deno.mkdir(outDir, { recursive: true });
      await Deno.writeTextFile(path, file.text);
      console.log(`wrote ${path}`);
    }
  }
  try {
    for await (const entry of Deno.readDir(outDir)) {
      if (entry.name.endsWith(".generated.ts") && !expected.has(entry.name)) {
        stale++;
        console.error(`not produced by the spec (remove it): ${outDir}/${entry.name}`);
      }
    }
  } catch { /* no output folder yet */ }
  if (check) {
    if (stale) {
      console.error(
        `${stale} generated file(s) differ from what ${specDir}/ produces; run \`deno task codegen\`.`,
      );
      return 1;
    }
    console.log(`${outDir}/ is up to date with ${specDir}/ (${files.length} files).`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
