/**
 * The explainer on demand: a program that never loads `src/codec.ts` (like the browser client
 * bundle) decodes with the fast checks only; an invalid envelope is first reported without a path
 * (reason 21), `explainLater` loads the explainer with a dynamic import and gives the full error,
 * and a transport that receives an invalid envelope fails with the full error. Each case runs in
 * a fresh `deno` process, because the other tests of this run have loaded the explainer already.
 * @module
 */
import assert from "node:assert/strict";
import { ROOT, runDeno, withTempDir } from "./test_utils.ts";

async function runScript(script: string): Promise<unknown> {
  return await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/main.ts`, script);
    const { code, stdout, stderr } = await runDeno(["run", "--allow-read", `${dir}/main.ts`], dir);
    assert.equal(code, 0, stderr);
    return JSON.parse(stdout);
  });
}

Deno.test("explainLater explains an error made before the explainer was loaded", async () => {
  const result = await runScript(`
import { explainLater, isUnexplained, parseEnvelope } from "file://${ROOT}/src/codec_core.ts";
const text = '{"id":"1","to":"@","type":"text/plain","content":"hi"}';
let first;
try { parseEnvelope(text); } catch (error) { first = error; }
const explained = await explainLater(first);
let second;
try { parseEnvelope(text); } catch (error) { second = error; }
console.log(JSON.stringify({
  first: { code: first.code, path: first.path, unexplained: isUnexplained(first), message: first.message },
  explained: { code: explained.code, path: explained.path, message: explained.message },
  second: { code: second.code, path: second.path, unexplained: isUnexplained(second) },
}));
`);
  assert.deepEqual(result, {
    first: {
      code: 21,
      path: [],
      unexplained: true,
      message: "Invalid message (not explained: the explainer was not loaded) (Code 21)",
    },
    explained: {
      code: 26,
      path: ["to"],
      message: 'Invalid message at to: expected a node (name@domain/instance), got "@": a node ' +
        "needs a name or a domain (Code 26)",
    },
    // Loaded once, the explainer runs synchronously.
    second: { code: 26, path: ["to"], unexplained: false },
  });
});

Deno.test("TransportBase fails with the full ValidationError when the explainer loads on demand", async () => {
  const result = await runScript(`
import { MemoryTransport } from "file://${ROOT}/src/transport/memory.ts";
const [a, b] = MemoryTransport.pair();
const received = [];
b.onEnvelope((envelope) => received.push(envelope.id));
await a.send({ id: "ok-1", type: "text/plain", content: "before" });
await a.send({ id: "bad", from: "x@y/z", type: "text/plain", content: 42 });
await a.send({ id: "ok-2", type: "text/plain", content: "after" });
const info = await b.closed;
await a.close();
const cause = info.error.cause;
console.log(JSON.stringify({
  by: info.by,
  code: info.error.code,
  cause: { name: cause.name, code: cause.code, path: cause.path },
  received,
}));
`);
  assert.deepEqual(result, {
    by: "error",
    code: "invalid-envelope",
    cause: { name: "ValidationError", code: 23, path: ["content"] },
    // Nothing after the invalid envelope is delivered while the explainer loads.
    received: ["ok-1"],
  });
});
