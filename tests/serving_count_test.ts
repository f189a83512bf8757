/** `ServingCount`: what `LimeServer.shutdown` waits on before it stops. */
import assert from "node:assert/strict";
import { ServingCount } from "../src/server/serving_count.ts";
import { stillPending } from "./tcp_helpers.ts";

Deno.test("ServingCount: none() waits for every begun connection to be done with, and reports failures", async () => {
  const failures: unknown[] = [];
  const count = new ServingCount((error) => failures.push(error));
  await count.none(); // nothing served: at once
  count.begin();
  count.begin();
  const none = count.none();
  count.done();
  assert.ok(await stillPending(none, 20));
  const error = new Error("setup failed");
  count.done(error);
  await none;
  assert.deepEqual(failures, [error]);
  // A later wait is for the connections begun since.
  count.begin();
  const again = count.none();
  assert.ok(await stillPending(again, 20));
  count.done();
  await again;
});
