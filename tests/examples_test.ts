import assert from "node:assert/strict";
import { ROOT, runDeno } from "./test_utils.ts";

Deno.test("examples/tcp_echo.ts runs and prints the echo", async () => {
  const { code, stdout, stderr } = await runDeno(["run", "-A", `${ROOT}/examples/tcp_echo.ts`]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "echo: Hello, LIME!");
});

Deno.test("examples/client_session.ts establishes a session with examples/echo_server.ts", async () => {
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/examples/echo_server.ts`, "0"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const { value } = await lines.read();
    const uri = /listening on (\S+)/.exec(value ?? "")?.[1];
    assert.ok(uri, `the server printed ${value}`);
    const { code, stdout, stderr } = await runDeno([
      "run",
      "-A",
      `${ROOT}/examples/client_session.ts`,
      uri,
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), "echo: Hello, LIME!\naccount: alice");
  } finally {
    server.kill();
    await lines.cancel();
    await server.status;
  }
});
