/**
 * `deno publish --dry-run` (offline: it checks the package and lists its files without reaching
 * JSR) passes and ships only the package: mod.ts, web.ts, web_client.ts, src/, spec/, README.md,
 * LICENSE, and deno.json (always part of a package: its name, version and exports; src/ reads
 * the version from it).
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { ROOT, runDeno } from "./test_utils.ts";

/** The files git tracks under `folder` (relative paths). */
async function tracked(folder: string): Promise<string[]> {
  const output = await new Deno.Command("git", {
    args: ["ls-files", folder],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).split("\n").filter(Boolean);
}

Deno.test("deno publish --dry-run passes and ships only the package's files", async () => {
  assert.equal(denoJson.license, "Apache-2.0");
  const { code, stdout, stderr } = await runDeno(["publish", "--dry-run", "--allow-dirty"]);
  const output = stdout + stderr;
  assert.equal(code, 0, output);
  assert.match(output, /Dry run complete/);
  assert.doesNotMatch(output, /\berror\b/i);
  const shipped = [...output.matchAll(/file:\/\/(\S+) \(/g)].map(([, path]) =>
    path.slice(ROOT.length + 1)
  );
  const top = [...new Set(shipped.map((path) => path.split("/")[0]))].sort();
  assert.deepEqual(top, [
    "LICENSE",
    "README.md",
    "cluster.ts",
    "deno.json",
    "mod.ts",
    "spec",
    "src",
    "web.ts",
    "web_client.ts",
  ]);
  // Every tracked file of src/ and spec/ ships (the generated code included).
  const expected = [...await tracked("src"), ...await tracked("spec")];
  assert.ok(expected.some((path) => path.startsWith("src/generated/")));
  for (const path of expected) assert.ok(shipped.includes(path), `${path} is not shipped`);
});

Deno.test("LICENSE is the Apache License 2.0, in full", async () => {
  const text = await Deno.readTextFile(`${ROOT}/LICENSE`);
  assert.match(text, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
  assert.match(text, /END OF TERMS AND CONDITIONS/);
  assert.equal(text.split("\n").length, 203);
});
