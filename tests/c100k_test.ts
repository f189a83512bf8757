/**
 * `deno task c100k` in small (the real run is long and belongs to the benchmarks): 200 idle
 * sessions from two client processes over loopback source addresses, held 1 s, with 20 messages
 * to random sessions. Checks the report: all established, RSS reported, every message delivered,
 * and the bare `node:net` baseline measured in the same run.
 */
import assert from "node:assert/strict";

/** Runs the tool in small; its report. */
async function c100k(...extra: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-run",
      "--allow-env",
      new URL("../tools/c100k.ts", import.meta.url).pathname,
      "--sessions=200",
      "--workers=2",
      "--duration=1",
      "--messages=20",
      "--timeout=60",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout);
}

Deno.test("c100k establishes 200 idle sessions across processes and delivers to random ones", async () => {
  const out = await c100k();
  assert.match(out, /\| sessions established at once \| \*\*200\*\* of 200 \(0 failed/);
  assert.match(out, /\| server RSS with them all \| \*\*[\d.]+ MiB\*\*/);
  assert.match(out, /\(20 of 20 delivered\)/);
  // The baseline of the same run: a bare node:net server held as many connections.
  assert.match(
    out,
    /\| baseline: a bare `node:net` server holding as many idle connections \| [\d.]+ MiB \([\d.]+ MiB before; [\d.]+ KiB per connection, V8 heap -?[\d.]+ KiB\): a LIME session costs -?[\d.]+ KiB more than its bare socket \|/,
  );
});

Deno.test("c100k --websocket holds the idle sessions over WebSocket and delivers to them", async () => {
  const out = await c100k("--websocket", "--no-baseline");
  assert.match(out, /C100K \(sessions over WebSocket; /);
  assert.match(out, /\| sessions established at once \| \*\*200\*\* of 200 \(0 failed/);
  assert.match(out, /\(20 of 20 delivered\)/);
});
