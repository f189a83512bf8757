import assert from "node:assert/strict";
import { copyTree, ROOT, runDeno, withTempDir } from "./test_utils.ts";

const POLL = {
  name: "Poll",
  mediaType: "application/vnd.example.poll+json",
  description: "A poll.",
  schema: {
    type: "object",
    properties: {
      question: { type: "string", description: "The question." },
      choices: { type: "array", items: { type: "string" }, description: "The choices." },
      closesAt: { type: "string", format: "date-time", description: "When it closes." },
    },
    required: ["question"],
  },
};

const valid = JSON.stringify({
  id: "1",
  to: "bob@localhost",
  type: POLL.mediaType,
  content: { question: "Lunch?", choices: ["pizza", "sushi"] },
});
const invalid = JSON.stringify({
  id: "2",
  to: "bob@localhost",
  type: POLL.mediaType,
  content: { choices: ["pizza"] },
});

Deno.test("spec change flows to the runtime: a new document type is decoded and validated", async () => {
  await withTempDir(async (dir) => {
    await copyTree(`${ROOT}/spec`, `${dir}/spec`);
    await copyTree(`${ROOT}/src`, `${dir}/src`);
    // Before: the media type is unknown, so any JSON object passes as a generic JSON document.
    const before = await import(`file://${dir}/src/codec.ts`);
    assert.deepEqual(before.parseEnvelope(invalid).content, { choices: ["pizza"] });

    await Deno.writeTextFile(
      `${dir}/spec/documents/poll.json`,
      JSON.stringify({ documents: [POLL] }),
    );
    const gen = await runDeno([
      "run",
      "-A",
      "codegen/main.ts",
      "--spec",
      `${dir}/spec`,
      "--out",
      `${dir}/src/generated`,
    ]);
    assert.equal(gen.code, 0, gen.stderr);

    // After: a fresh copy of the same hand-written runtime over the regenerated tables.
    await copyTree(`${dir}/src`, `${dir}/after`);
    const after = await import(`file://${dir}/after/codec.ts`);
    const registry = await import(`file://${dir}/after/generated/registry.generated.ts`);
    const { EXPLAINERS } = await import(`file://${dir}/after/generated/explain.generated.ts`);
    const entry = registry.DOCUMENT_TYPES.get(POLL.mediaType);
    assert.equal(entry.name, "Poll");
    // The generated explainer came with it: the first problem, with its path.
    assert.deepEqual(EXPLAINERS.Poll({ choices: ["pizza"] }), {
      path: ["question"],
      message: "required: expected a string, got nothing",
    });
    assert.equal(EXPLAINERS.Poll({ question: "Lunch?" }), undefined);
    assert.deepEqual(after.parseEnvelope(valid).content, {
      question: "Lunch?",
      choices: ["pizza", "sushi"],
    });
    assert.throws(
      () => after.parseEnvelope(invalid),
      (e: { code: number; path: unknown; message: string; issues: unknown[] }) => {
        assert.equal(e.code, 23);
        assert.deepEqual(e.path, ["content", "question"]);
        assert.equal(e.issues.length, 1);
        assert.match(e.message, /content\.question/);
        return true;
      },
    );
    const types = await Deno.readTextFile(`${dir}/after/generated/types.generated.ts`);
    assert.match(types, /export interface Poll \{[^}]*question: string;/s);
    // The hand-written runtime files are byte-for-byte the committed ones.
    for (
      const file of [
        "codec.ts",
        "codec_core.ts",
        "envelope_explain.ts",
        "document_check.ts",
        "document_explain.ts",
        "envelope.ts",
      ]
    ) {
      assert.equal(
        await Deno.readTextFile(`${dir}/after/${file}`),
        await Deno.readTextFile(`${ROOT}/src/${file}`),
      );
    }
  });
});
