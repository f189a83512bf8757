import assert from "node:assert/strict";
import { ROOT, runDeno, withTempDir } from "./test_utils.ts";

Deno.test("mod.ts imports by file:// URL from a folder with no deno.json and decodes an envelope", async () => {
  await withTempDir(async (dir) => {
    const script = `
import { parseEnvelope, serializeEnvelope, Message, isMessage, Node } from "file://${ROOT}/mod.ts";
const e = parseEnvelope('{"id":"1","from":"alice@localhost/home","type":"application/vnd.lime.chatstate+json","content":{"state":"composing"}}');
if (!isMessage(e)) throw new Error("not a message");
console.log(Node.parse(e.from!).name, JSON.stringify(e.content), serializeEnvelope(new Message("text/plain", "hi")));
`;
    await Deno.writeTextFile(`${dir}/main.ts`, script);
    const { code, stdout, stderr } = await runDeno(["run", "--allow-read", `${dir}/main.ts`], dir);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), 'alice {"state":"composing"} {"type":"text/plain","content":"hi"}');
  });
});

Deno.test("src/ imports only full specifiers and never the codegen tools", async () => {
  const offenders: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) {
        const text = await Deno.readTextFile(path);
        for (const [, spec] of text.matchAll(/from\s+"([^"]+)"/g)) {
          if (
            /ts-morph|quicktype/.test(spec) ||
            !/^(\.{1,2}\/|npm:(@[^/@]+\/)?[^@]+@\d+\.\d+\.\d+|node:)/.test(spec)
          ) {
            offenders.push(`${path}: ${spec}`);
          }
        }
      }
    }
  };
  await walk(`${ROOT}/src`);
  assert.deepEqual(offenders, []);
});

for (const entry of ["web.ts", "web_client.ts"]) {
  Deno.test(`${entry} loads nothing Deno- or node-specific, so it runs in a browser`, async () => {
    const { code, stdout, stderr } = await runDeno(["info", "--json", `${ROOT}/${entry}`]);
    assert.equal(code, 0, stderr);
    const graph = JSON.parse(stdout) as { modules: { specifier: string }[] };
    const offenders: string[] = [];
    for (const { specifier } of graph.modules) {
      if (specifier.startsWith("node:")) offenders.push(specifier);
      if (specifier.startsWith("file://")) {
        const text = await Deno.readTextFile(new URL(specifier));
        // Code (not comments) calling Deno APIs.
        const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
        if (/\bDeno\./.test(code)) offenders.push(`${specifier} uses Deno.*`);
      }
    }
    assert.deepEqual(offenders, []);
    assert.ok(graph.modules.some((m) => m.specifier.endsWith("/src/transport/websocket.ts")));
  });
}

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

Deno.test("web_client.ts loads the explainer only on demand and never zod", async () => {
  const { code, stdout, stderr } = await runDeno(["info", "--json", `${ROOT}/web_client.ts`]);
  assert.equal(code, 0, stderr);
  const graph = JSON.parse(stdout) as { roots: string[]; modules: GraphModule[] };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  // What loads before the page runs: the static imports, transitively.
  const initial = new Set<string>();
  const dynamic = new Set<string>();
  const visit = (specifier: string) => {
    if (initial.has(specifier)) return;
    initial.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (!dependency.code) continue;
      if (dependency.isDynamic) dynamic.add(dependency.code.specifier);
      else visit(dependency.code.specifier);
    }
  };
  visit(graph.roots[0]);
  const late = [...initial].filter((s) => /zod|validators\.generated|explain/.test(s));
  assert.deepEqual(late, []);
  assert.deepEqual([...dynamic].map((s) => s.slice(s.indexOf("/src/"))), ["/src/codec.ts"]);
  // The dynamic import brings the generated explainer.
  assert.ok(graph.modules.some((m) => m.specifier.endsWith("/src/generated/explain.generated.ts")));
});

Deno.test("src/codec.ts and web.ts do not load zod (decoding explains with the generated explainer)", async () => {
  for (const entry of ["src/codec.ts", "web.ts"]) {
    const { code, stdout, stderr } = await runDeno(["info", "--json", `${ROOT}/${entry}`]);
    assert.equal(code, 0, stderr);
    const graph = JSON.parse(stdout) as { modules: { specifier: string }[] };
    const zod = graph.modules.map((m) => m.specifier).filter((s) =>
      /zod|validators\.generated/.test(s)
    );
    assert.deepEqual(zod, [], entry);
    assert.ok(
      graph.modules.some((m) => m.specifier.endsWith("/src/generated/explain.generated.ts")),
    );
  }
});
