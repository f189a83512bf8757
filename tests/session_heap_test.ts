/**
 * `deno task session-heap` in small: 100 idle sessions, pinged once a second. Checks that the
 * snapshots were taken and counted: a plausible heap cost per session, and a table of kinds.
 */
import assert from "node:assert/strict";

/** Runs the tool on 100 sessions; its output. */
async function sessionHeap(...extra: string[]): Promise<string> {
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
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout);
}

/** The heap bytes per session it printed. */
function perSession(out: string): number {
  return Number(out.match(/100 idle sessions \| \*\*([\d,]+)\*\*/)?.[1].replaceAll(",", ""));
}

Deno.test("session-heap counts what 100 idle sessions and a round of pings cost the heap", async () => {
  const out = await sessionHeap();
  // A session is some thousands of bytes of heap; nothing like a handful, nothing like a megabyte.
  assert.ok(perSession(out) > 2_000 && perSession(out) < 100_000, out);
  assert.match(out, /\| TcpTransport \| [\d,]+ \| 1\.00 \|/);
  assert.match(out, /after one round of pings/);
});

Deno.test("session-heap --websocket counts sessions that came over the WebSocket listener", async () => {
  const out = await sessionHeap("--websocket");
  assert.ok(perSession(out) > 2_000 && perSession(out) < 100_000, out);
  assert.match(out, /guest sessions over WebSocket/);
  assert.match(out, /\| WebSocketServerTransport \| [\d,]+ \| 1\.00 \|/);
  assert.match(out, /; [1-9][\d,]* pings answered/); // the client answered the server's pings
});
