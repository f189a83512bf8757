import assert from "node:assert/strict";
import { ROOT, runDeno } from "./test_utils.ts";

Deno.test("examples/tcp_echo.ts runs and prints the echo", async () => {
  const { code, stdout, stderr } = await runDeno(["run", "-A", `${ROOT}/examples/tcp_echo.ts`]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "echo: Hello, LIME!");
});
