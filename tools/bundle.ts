/**
 * `deno task bundle`: the browser bundles, built with Deno's own bundler (`deno bundle`, esbuild
 * inside) as minified ESM with source maps:
 *
 * - `dist/lime.web.js` from `web_client.ts`: the client path (WebSocket, session establishment,
 *   messages, notifications, commands, `LimeClient`). The size budget (25 KB gzip) applies to it.
 * - `dist/lime.web.all.js` from `web.ts`: everything browser-safe (server channel, memory
 *   transport, codec, registries, session machine tables...).
 *
 * Code splitting is on: code an entry needs at once may sit in `chunk-*.js` files it imports, and
 * the generated explainer (which says why a received envelope is invalid) is a chunk loaded on
 * demand with a dynamic import. Serve the `dist/` folder as a whole.
 *
 * Options: `--out=DIR` (default `dist`), `--quiet`.
 * @module
 */
import { gzipSync } from "node:zlib";

/** The repository root. */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** One bundle: its source entry and the file name it is written under. */
export interface BundleEntry {
  /** The entry module, relative to the repository root. */
  readonly source: string;
  /** The bundle's file name in the output folder. */
  readonly name: string;
}

/** The bundles `deno task bundle` writes. */
export const ENTRIES: readonly BundleEntry[] = [
  { source: "web_client.ts", name: "lime.web.js" },
  { source: "web.ts", name: "lime.web.all.js" },
];

/** The size budget of `dist/lime.web.js` and what it loads at once: gzip bytes (level 6). */
export const CLIENT_BUDGET_GZIP_BYTES = 25_000;

/** The size of a set of bundle files. */
export interface SizeFigures {
  /** The files, relative to the output folder. */
  readonly files: string[];
  /** Their minified size in bytes, summed. */
  readonly minified: number;
  /** Their size gzipped one by one (level 6, like `gzip` and most servers), summed. */
  readonly gzip: number;
}

/** What a bundle loads at once and what it may load later. */
export interface BundleSize {
  /** The bundle file. */
  readonly entry: string;
  /** The bundle and the chunks it imports statically (what a page loads before running it). */
  readonly initial: SizeFigures;
  /** Chunks reached only through a dynamic `import()` (loaded on demand). */
  readonly onDemand: SizeFigures;
}

async function run(args: string[]): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const decoder = new TextDecoder();
    throw new Error(
      `deno ${args.join(" ")} failed (code ${output.code}):\n${decoder.decode(output.stdout)}` +
        decoder.decode(output.stderr),
    );
  }
}

/**
 * Builds every entry of {@link ENTRIES} into `outDir` (emptied first). Chunk names carry a hash of
 * their content, so the chunks of the two bundles never clash.
 */
export async function bundle(outDir: string): Promise<void> {
  await Deno.remove(outDir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(outDir, { recursive: true });
  for (const { source, name } of ENTRIES) {
    await run([
      "bundle",
      "--quiet",
      "--platform=browser",
      "--format=esm",
      "--minify",
      "--code-splitting",
      "--sourcemap=linked",
      `--outdir=${outDir}`,
      source,
    ]);
    // esbuild names the entry after its source; give it its published name.
    const built = source.replace(/\.ts$/, ".js");
    const code = await Deno.readTextFile(`${outDir}/${built}`);
    await Deno.writeTextFile(
      `${outDir}/${name}`,
      code.replace(`//# sourceMappingURL=${built}.map`, `//# sourceMappingURL=${name}.map`),
    );
    const map = JSON.parse(await Deno.readTextFile(`${outDir}/${built}.map`));
    map.file = name;
    await Deno.writeTextFile(`${outDir}/${name}.map`, JSON.stringify(map));
    await Deno.remove(`${outDir}/${built}`);
    await Deno.remove(`${outDir}/${built}.map`);
  }
}

// esbuild's ESM output: `import{a as b}from"./chunk-X.js"`, `import"./chunk-X.js"`,
// `export{a}from"./chunk-X.js"`; on-demand chunks are `import("./codec-X.js")`.
const STATIC_IMPORT = /(?:^|[;}\s])(?:import|export)\s*(?:[^"'();]*?from\s*)?"(\.\/[^"]+)"/g;
const DYNAMIC_IMPORT = /\bimport\(\s*"(\.\/[^"]+)"\s*\)/g;

async function figures(outDir: string, files: string[]): Promise<SizeFigures> {
  let minified = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = await Deno.readFile(`${outDir}/${file}`);
    minified += bytes.length;
    gzip += gzipSync(bytes, { level: 6 }).length;
  }
  return { files, minified, gzip };
}

/** Measures a built bundle: the files it loads at once, and those it may load on demand. */
export async function measure(outDir: string, entry: string): Promise<BundleSize> {
  const initial: string[] = [];
  const lazy = new Set<string>();
  const visit = async (file: string, into: string[], seen: Set<string>) => {
    if (seen.has(file)) return;
    seen.add(file);
    into.push(file);
    const code = await Deno.readTextFile(`${outDir}/${file}`);
    for (const [, path] of code.matchAll(STATIC_IMPORT)) await visit(path.slice(2), into, seen);
    for (const [, path] of code.matchAll(DYNAMIC_IMPORT)) lazy.add(path.slice(2));
  };
  const seenInitial = new Set<string>();
  await visit(entry, initial, seenInitial);
  const onDemand: string[] = [];
  const seenLazy = new Set(seenInitial);
  for (const file of lazy) await visit(file, onDemand, seenLazy);
  return {
    entry,
    initial: await figures(outDir, initial),
    onDemand: await figures(outDir, onDemand),
  };
}

/** `12,345` */
function n(value: number): string {
  return value.toLocaleString("en-US");
}

/** One line per bundle: what it loads at once and on demand. */
export function describeSize(size: BundleSize): string {
  const { initial, onDemand } = size;
  return `${size.entry}: ${n(initial.gzip)} B gzip, ${n(initial.minified)} B minified at once ` +
    `(${initial.files.length} file${initial.files.length === 1 ? "" : "s"}); ` +
    `on demand ${n(onDemand.gzip)} B gzip, ${n(onDemand.minified)} B minified ` +
    `(${onDemand.files.join(", ") || "nothing"})`;
}

async function main(args: string[]): Promise<number> {
  const outDir = args.find((a) => a.startsWith("--out="))?.slice("--out=".length) ??
    `${ROOT}/dist`;
  const quiet = args.includes("--quiet");
  await bundle(outDir);
  let status = 0;
  for (const { name } of ENTRIES) {
    const size = await measure(outDir, name);
    if (!quiet) console.log(describeSize(size));
    if (name === "lime.web.js" && size.initial.gzip > CLIENT_BUDGET_GZIP_BYTES) {
      console.error(
        `${name} is over its budget: ${n(size.initial.gzip)} B gzip > ${
          n(CLIENT_BUDGET_GZIP_BYTES)
        } B`,
      );
      status = 1;
    }
  }
  return status;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
