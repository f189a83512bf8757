/**
 * `deno task session-heap` in small: 100 idle sessions, pinged once a second. Checks that the
 * snapshots were taken and counted: a plausible heap cost per session, and a table of kinds.
 */
import assert from "node:assert/strict";

Deno.test("session-heap counts what 100 idle sessions and a round of pings cost the heap", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      new URL("../tools/session_heap.ts", import.meta.url).pathname,
      "--sessions=100",
      "--ping-interval=1000",
      "--top=20",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const perSession = Number(
    out.match(/100 idle sessions \| \*\*([\d,]+)\*\*/)?.[1].replaceAll(",", ""),
  );
  // A session is some thousands of bytes of heap; nothing like a handful, nothing like a megabyte.
  assert.ok(perSession > 2_000 && perSession < 100_000, out);
  assert.match(out, /\| TcpTransport \| [\d,]+ \| 1\.00 \|/);
  assert.match(out, /after one round of pings/);
});
