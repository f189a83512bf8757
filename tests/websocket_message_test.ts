import assert from "node:assert/strict";
import { TransportError } from "../src/transport/errors.ts";
import { frameMessage, isSingleObject } from "../src/transport/websocket_message.ts";

function isCode(code: string) {
  return (error: unknown) => error instanceof TransportError && error.code === code;
}

Deno.test("frameMessage keeps braces and escaped quotes inside strings within one envelope", () => {
  const limits = { maxEnvelopeSize: 1024, maxDepth: 4 };
  const frames = (message: string) => {
    const out: string[] = [];
    frameMessage(message, limits, (f) => {
      out.push(typeof f === "string" ? `text:${f}` : new TextDecoder().decode(f));
    });
    return out;
  };
  const tricky = String.raw`{"a":"}{\"","b":"\\","c":[{"d":"]]"}]}`;
  assert.equal(isSingleObject(tricky, 4), true);
  assert.deepEqual(frames(tricky), [`text:${tricky}`]); // the text itself: the fast path
  assert.equal(isSingleObject(`{}{}`, 4), false);
  assert.equal(isSingleObject(`{"a":[[[[1]]]]}`, 4), false); // 5 levels
  assert.deepEqual(frames(`{}{"x":"}"} `), ["text:{}", `text:{"x":"}"}`]);
  assert.deepEqual(frames(" \n"), []);
  // 400 three-byte characters: 1,208 bytes in 408 UTF-16 units.
  assert.throws(
    () => frames(`{"a":"${"€".repeat(400)}"}`),
    (e) => isCode("framing")(e) && /1208 bytes/.test((e as Error).message),
  );
});
