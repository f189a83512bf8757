/**
 * The documentation's code works: every code block of README.md and every `@example` of mod.ts
 * and web.ts.
 *
 * - TypeScript blocks (and the module script of an HTML block) are type-checked together, then
 *   run one by one against a LimeServer this test starts (the addresses `deno task start` listens
 *   on, `net.tcp://127.0.0.1:55321` and `ws://127.0.0.1:8080`, are replaced by the test server's;
 *   it has the account alice@localhost, password `secret`). The published import names
 *   (`@lime/deno`, `@lime/deno/web`, …) and `./mod.ts` resolve to this working tree. When a block
 *   says what it prints (`// → text`, inline or on the next line), its output must be exactly
 *   that. A block marked `no-run` (a browser page, a process that runs until Ctrl-C) is only
 *   type-checked; a block marked `file=PATH` must be the code of that file (which its own test
 *   runs).
 * - JSON blocks parse; shell blocks name existing tasks, and their `lime` command lines parse
 *   (the `deno install` line grants exactly what the `lime` task does); a block showing what
 *   `deno task start` prints matches what it prints.
 * - Every option or API name in the README's prose (a camelCase identifier in backticks) exists in
 *   the code, so that prose cannot name an option that is not there.
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { parseCliArgs } from "../src/cli/args.ts";
import { StartProcess } from "./server_start_helpers.ts";
import { RedisServer } from "./cluster/redis_server.ts";
import { within } from "./tcp_helpers.ts";
import { TestServer } from "./server_test_helpers.ts";
import { ROOT } from "./test_utils.ts";

/** One fenced code block. */
interface Block {
  /** `README.md:68`, `mod.ts:10`. */
  where: string;
  /** The language of the fence (`ts`, `sh`, …; empty for none). */
  lang: string;
  /** The words after the language (`no-run`, `file=…`). */
  attributes: string[];
  /** The code, without the fence's indentation. */
  code: string;
}

/** The fenced blocks of a Markdown text (fences may be indented, as in a list). */
function markdownBlocks(text: string, source: string, firstLine = 1): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, lang, rest] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j].trim() !== "```") body.push(lines[j++]);
    blocks.push({
      where: `${source}:${firstLine + i}`,
      lang,
      attributes: rest.trim().split(/\s+/).filter(Boolean),
      code: body.map((line) => line.startsWith(indent) ? line.slice(indent.length) : line)
        .join("\n"),
    });
    i = j;
  }
  return blocks;
}

/** The `@example` blocks of a module's first JSDoc comment. */
function jsdocBlocks(text: string, source: string): Block[] {
  const doc = /^\/\*\*([\s\S]*?)\*\//.exec(text)![1];
  const unstarred = doc.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n");
  return markdownBlocks(unstarred, source, 0);
}

const README = await Deno.readTextFile(`${ROOT}/README.md`);
const BLOCKS: Block[] = [
  ...markdownBlocks(README, "README.md"),
  ...jsdocBlocks(await Deno.readTextFile(`${ROOT}/mod.ts`), "mod.ts"),
  ...jsdocBlocks(await Deno.readTextFile(`${ROOT}/web.ts`), "web.ts"),
];

const IMPORTS: Record<string, string> = {
  "./mod.ts": "mod.ts",
  "@lime/deno": "mod.ts",
  "./web.ts": "web.ts",
  "@lime/deno/web": "web.ts",
  "@lime/deno/web/client": "web_client.ts",
  "/dist/lime.web.js": "web_client.ts",
};

/** The TypeScript of a block: its code, or an HTML block's module script. */
function typescriptOf(block: Block): string | undefined {
  if (block.lang === "ts" || block.lang === "typescript") return block.code;
  if (block.lang === "html") {
    return /<script type="module">\n([\s\S]*?)<\/script>/.exec(block.code)?.[1];
  }
  return undefined;
}

/** What a block says it prints: the `// → text` comments, in order. */
function expectedOutput(code: string): string[] {
  return [...code.matchAll(/\/\/ → (.*)$/gm)].map(([, text]) => text);
}

/** The code of an example file, after its module comment, as the README shows it. */
async function exampleCode(path: string): Promise<string> {
  const text = await Deno.readTextFile(`${ROOT}/${path}`);
  return text.replace(/^\/\*\*[\s\S]*?\*\/\n/, "").replaceAll('"../mod.ts"', '"./mod.ts"').trim();
}

Deno.test("README.md and the @examples of mod.ts and web.ts: TypeScript type-checks and runs", async () => {
  await using test = await TestServer.start();
  await test.addAccount("alice@localhost", "secret");
  const folder = `${ROOT}/.tmp/docs`;
  await Deno.remove(folder, { recursive: true }).catch(() => {});
  await Deno.mkdir(folder, { recursive: true });
  const files: { block: Block; path: string; code: string }[] = [];
  for (const block of BLOCKS) {
    const source = typescriptOf(block);
    if (source === undefined) continue;
    const file = block.attributes.find((a) => a.startsWith("file="))?.slice(5);
    if (file) assert.equal(source.trim(), await exampleCode(file), `${block.where} is ${file}`);
    let code = source.replace(
      /from "([^"]+)"/g,
      (all, specifier: string) =>
        IMPORTS[specifier] ? `from "file://${ROOT}/${IMPORTS[specifier]}"` : all,
    );
    code = code.replaceAll("net.tcp://127.0.0.1:55321", `net.tcp://${test.server.tcpAddress}`)
      .replaceAll("ws://127.0.0.1:8080", `ws://${test.server.websocketAddress}`);
    const path = `${folder}/${block.where.replace(/[^\w]/g, "_")}.ts`;
    await Deno.writeTextFile(path, code);
    files.push({ block, path, code });
  }
  assert.ok(files.length >= 9, `${files.length} TypeScript blocks`);

  try {
    await checkAndRun(files);
  } finally {
    // A cleanup that fails (seen once here: an error from Deno.remove itself) must not fail the
    // test or hide the check's own error; the next run starts by removing the folder anyway.
    await Deno.remove(folder, { recursive: true }).catch((error) =>
      console.warn(`could not remove ${folder}: ${error}`)
    );
  }
});

/** Type-checks all the blocks' files at once, then runs those not marked `no-run`. */
async function checkAndRun(files: { block: Block; path: string; code: string }[]): Promise<void> {
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...files.map((f) => f.path)],
    cwd: ROOT,
  }).output();
  assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));

  for (const { block, path, code } of files) {
    if (block.attributes.includes("no-run")) continue;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", path],
      cwd: ROOT,
      stdin: "null",
      signal: AbortSignal.timeout(20_000),
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assert.equal(run.code, 0, `${block.where}: ${new TextDecoder().decode(run.stderr)}`);
    const expected = expectedOutput(code);
    if (expected.length > 0) {
      assert.deepEqual(stdout.trimEnd().split("\n"), expected, `${block.where} prints`);
    }
  }
}

Deno.test("README.md's JSON blocks parse and its shell blocks name real tasks and lime command lines", () => {
  const tasks = Object.keys(denoJson.tasks);
  const limeFlags = denoJson.tasks.lime.split(" ").filter((word) => word.startsWith("--"));
  let limeLines = 0;
  for (const block of BLOCKS) {
    if (block.lang === "json") JSON.parse(block.code);
    if (block.lang !== "sh") continue;
    for (const line of block.code.split("\n")) {
      const command = line.replace(/\s+#.*$/, "").trim();
      for (const [, name] of command.matchAll(/\btask ([\w:-]+)/g)) {
        assert.ok(tasks.includes(name), `${block.where}: no task "${name}" in deno.json`);
      }
      const lime = /\btask lime (.*)$/.exec(command.split("&&")[0].trim())?.[1];
      if (lime !== undefined) {
        limeLines++;
        const words = [...lime.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) =>
          m[1] ?? m[2] ?? m[3]
        );
        assert.equal(parseCliArgs(words).action, "run", `${block.where}: ${command}`);
      }
      if (/^deno install\b.* src\/cli\/main\.ts$/.test(command)) {
        const flags = command.split(" ").filter((word) => word.startsWith("--allow"));
        assert.deepEqual(flags, limeFlags, `${block.where}: the install grants what the task does`);
      }
    }
  }
  assert.ok(limeLines >= 5, `${limeLines} lime command lines`);
});

Deno.test("README.md shows what deno task start prints", async () => {
  const shown = BLOCKS.filter((block) => block.lang === "" && /^LIME server /m.test(block.code));
  assert.ok(shown.length >= 2);
  const printedLine = /^(LIME server| {2}\S)/;
  const shape = (line: string) =>
    line.replace(/:\d+/g, ":PORT").replace(/accounts {3}\S+/, "accounts   PATH")
      .replace(/, server \S+$/, ", server ID")
      .replace(/ \(\d+ created, \d+ updated\)$/, "");
  // What the embedded default prints, and what the Redis engine prints (a real redis-server).
  const printed = async (args: string[]) => {
    await using server = new StartProcess(
      ["--data=:memory:", "--tcp=127.0.0.1:0", "--ws=127.0.0.1:0", ...args],
      { LIME_ACCOUNTS: "alice@localhost:secret" },
    );
    await within(server.stdout.find(/^ {2}accounts/, () => server.exited), 10_000, "the start");
    return server.stdout.lines.filter((line) => printedLine.test(line)).map(shape);
  };
  const memory = await printed([]);
  await using redis = await RedisServer.start();
  const cluster = await printed(["--engine=redis", `--redis=${redis.url}`]);
  for (const block of shown) {
    const actual = /--engine=redis/.test(block.code) ? cluster : memory;
    for (const line of block.code.split("\n").filter((line) => printedLine.test(line))) {
      assert.ok(
        actual.includes(shape(line)),
        `${block.where}: "${line}" is not what deno task start prints:\n${actual.join("\n")}`,
      );
    }
  }
});

Deno.test("README.md names only options and APIs that exist", async () => {
  const sources: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.(ts|json)$/.test(entry.name)) sources.push(await Deno.readTextFile(path));
    }
  };
  for (const dir of ["src", "spec", "codegen", "tools", "tests"]) await walk(`${ROOT}/${dir}`);
  const code = sources.join("\n");
  const prose = README.replace(/```[\s\S]*?```/g, "");
  const missing: string[] = [];
  for (const [, span] of prose.matchAll(/`([^`\n]+)`/g)) {
    for (const [name] of span.matchAll(/(?<![\w.#/-])[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*(?![\w/])/g)) {
      // The README's own example document type (Poll) is generated only in a test's copy.
      if (/^(check|explain)Poll$/.test(name)) continue;
      if (!new RegExp(`\\b${name}\\b`).test(code)) missing.push(`${name} (in \`${span}\`)`);
    }
  }
  assert.deepEqual(missing, []);
});
