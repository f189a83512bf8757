/**
 * `lime` and secrets, and `lime` on a terminal: the password (from LIME_PASSWORD through
 * `deno task lime`) never appears in the command line of any process, the password prompt does
 * not echo, and `lime watch` colors its lines on a terminal. The terminal is a pseudo-terminal
 * made by util-linux `script`; those tests are skipped where it is missing.
 */
import assert from "node:assert/strict";
import { commandLines, DENO_JSON } from "../server_start_helpers.ts";
import { TestServer } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { ROOT } from "../test_utils.ts";
import { lime, LIME_ARGS, LimeProcess } from "./cli_helpers.ts";

const PASSWORD = "pa55-only-in-env";

async function hasScript(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("script", { args: ["--version"] }).output();
    return success;
  } catch {
    return false;
  }
}
const SCRIPT = await hasScript();

Deno.test("lime never has the password on a command line (deno task lime, LIME_PASSWORD)", async () => {
  await using test = await TestServer.start();
  await test.addAccount("alice@localhost", PASSWORD);
  const tcp = `net.tcp://${test.server.tcpAddress}`;
  await using watcher = new LimeProcess(
    ["watch", "-s", tcp, "-i", "alice@localhost", "-n", "1"],
    { LIME_PASSWORD: PASSWORD },
    [Deno.execPath(), "task", `--config=${DENO_JSON}`, "lime"],
  );
  assert.equal((await watcher.watching()).split("/")[0], "alice@localhost");
  const lines = await commandLines(watcher.child.pid);
  assert.ok(lines.some((line) => line.includes("src/cli/main.ts watch")), lines.join("\n"));
  for (const line of lines) assert.ok(!line.includes(PASSWORD), `the password is in: ${line}`);
  // One message ends the watch (and the task).
  assert.equal((await lime(["send", "alice@localhost", "bye", "-s", tcp])).code, 0);
  assert.equal(await watcher.exit(), 0);
});

/** Runs `lime ...args` on a pseudo-terminal; `type` is typed once `after` was printed. */
async function onTerminal(args: string[], input?: { after: RegExp; type: string }) {
  const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
  const command = [Deno.execPath(), ...LIME_ARGS, ...args].map(quote).join(" ");
  const child = new Deno.Command("script", {
    args: ["-q", "-e", "-c", command, "/dev/null"],
    cwd: ROOT,
    env: { TERM: "xterm", NO_COLOR: "" }, // colored as on a terminal whatever the runner sets
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let output = "";
  const typed = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      if (input && input.after.test(output)) typed.resolve();
    }
  })();
  try {
    if (input) {
      await within(typed.promise, 15_000, `the prompt ${input.after}`);
      await writer.write(new TextEncoder().encode(input.type));
    }
    const status = await within(child.status, 20_000, "lime on a terminal");
    await reading;
    return { code: status.code, output };
  } finally {
    await writer.close().catch(() => {});
    await child.stderr.cancel();
    try {
      child.kill();
    } catch { /* ended */ }
  }
}

Deno.test({
  name: "lime asks for the password on a terminal without echoing it",
  ignore: !SCRIPT,
  async fn() {
    await using test = await TestServer.start();
    await test.addAccount("alice@localhost", PASSWORD);
    const tcp = `net.tcp://${test.server.tcpAddress}`;
    const run = await onTerminal(["get", "/account", "-s", tcp, "-i", "alice@localhost"], {
      after: /Password for alice@localhost: /,
      type: `${PASSWORD}\r`,
    });
    assert.equal(run.code, 0, run.output);
    assert.ok(!run.output.includes(PASSWORD), `the password was echoed: ${run.output}`);
    // Indented JSON on a terminal.
    assert.match(run.output, /\{\r?\n {2}"identity": "alice@localhost"\r?\n\}/);
  },
});

Deno.test({
  name: "lime watch colors its lines on a terminal",
  ignore: !SCRIPT,
  async fn() {
    await using test = await TestServer.start();
    const tcp = `net.tcp://${test.server.tcpAddress}`;
    const sending = (async () => {
      // Sent once the watcher's session exists (its node is bob@localhost/tty).
      for (let i = 0; i < 200 && !test.server.registry.byNodeKey("bob@localhost/tty"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return await lime(["send", "bob@localhost/tty", "Hi Bob", "-s", tcp]);
    })();
    const run = await onTerminal([
      "watch",
      "-s",
      tcp,
      "-i",
      "bob@localhost",
      "--guest",
      "--instance=tty",
      "-n",
      "1",
    ]);
    assert.equal((await sending).code, 0);
    assert.equal(run.code, 0, run.output);
    assert.ok(run.output.includes("\x1b[32mmessage"), run.output);
    assert.match(run.output, /Hi Bob/);
  },
});
