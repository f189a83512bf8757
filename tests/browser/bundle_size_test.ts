/**
 * The size budget of the browser client bundle (`deno task bundle` → `dist/lime.web.js`, built
 * from `web_client.ts`): what a page loads before it runs must stay within 25 KB gzip. The test
 * builds into a temporary folder and prints the figures.
 * @module
 */
import assert from "node:assert/strict";
import { CLIENT_BUDGET_GZIP_BYTES, describeSize, ENTRIES, measure } from "../../tools/bundle.ts";
import { buildBundle } from "./browser_helpers.ts";

Deno.test("deno task bundle keeps lime.web.js within its gzip budget and the explainer on demand", async () => {
  await using dist = await buildBundle();
  const client = await measure(dist.dir, "lime.web.js");
  const all = await measure(dist.dir, "lime.web.all.js");
  console.log(`  ${describeSize(client)}\n  ${describeSize(all)}`);
  assert.ok(
    client.initial.gzip <= CLIENT_BUDGET_GZIP_BYTES,
    `lime.web.js loads ${client.initial.gzip} B gzip at once, over its budget of ` +
      `${CLIENT_BUDGET_GZIP_BYTES} B (${describeSize(client)})`,
  );
  // The explainer is not part of what loads at once: it is the one chunk loaded on demand.
  const read = (file: string) => Deno.readTextFile(`${dist.dir}/${file}`);
  const initial = (await Promise.all(client.initial.files.map(read))).join("\n");
  const onDemand = (await Promise.all(client.onDemand.files.map(read))).join("\n");
  assert.equal(client.onDemand.files.length, 1, describeSize(client));
  // A message only the explainer writes.
  const marker = "expected one of ";
  assert.ok(onDemand.includes(marker), "the on-demand chunk is the explainer");
  assert.ok(!initial.includes(marker), "the explainer is not loaded at once");
  // Neither zod nor anything Deno- or node-specific reached the bundles.
  for (const file of [...client.initial.files, ...all.initial.files]) {
    const code = await read(file);
    assert.ok(
      !/\bzod\b|ZodError|\bDeno\.|"node:/.test(code),
      `${file} mentions zod, Deno or node:`,
    );
  }
  // ESM with linked source maps, under the published names.
  for (const { name } of ENTRIES) {
    const code = await read(name);
    assert.match(
      code,
      new RegExp(`//# sourceMappingURL=${name.replaceAll(".", "\\.")}\\.map\\n?$`),
    );
    const map = JSON.parse(await read(`${name}.map`)) as { file: string; sources: string[] };
    assert.equal(map.file, name);
    assert.ok(map.sources.some((source) => source.endsWith("src/client/lime_client.ts")), name);
    assert.match(code, /\bexport\s*\{/);
  }
});

Deno.test("deno task bundle output is usable from another bundler, which keeps the explainer lazy", async () => {
  await using dist = await buildBundle();
  // An app that imports the published file, bundled by esbuild (through `deno bundle`).
  await Deno.writeTextFile(
    `${dist.dir}/app.js`,
    'import { LimeClient, Message } from "./lime.web.js";\n' +
      'export const ok = typeof LimeClient === "function" && new Message("text/plain", "x").type;\n',
  );
  const out = `${dist.dir}/app-out`;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--format=esm",
      "--minify",
      "--code-splitting",
      `--outdir=${out}`,
      `${dist.dir}/app.js`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const app = await measure(out, "app.js");
  const lazy = (await Promise.all(app.onDemand.files.map((f) => Deno.readTextFile(`${out}/${f}`))))
    .join("\n");
  assert.ok(lazy.includes("expected one of "), describeSize(app));
  assert.ok(app.initial.gzip <= CLIENT_BUDGET_GZIP_BYTES, describeSize(app));
  const loaded = await import(`file://${out}/app.js`);
  assert.equal(loaded.ok, "text/plain");
});
