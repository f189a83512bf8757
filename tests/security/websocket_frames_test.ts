/**
 * Oversize WebSocket frames against a running LimeServer: four connections, each announcing a
 * 60 MiB text frame before any LIME session and sending it anyway, never completing a session
 * and ignoring the server's close. The server must refuse each on the frame header (1009, after
 * `failed` 21), end every connection within 2 s, keep its RSS within a few MiB of what it was,
 * and keep answering a bystander's `/ping` promptly.
 *
 * On the `Deno.serve` listener this replaces, the same attack raised the server's RSS by about
 * 330 MiB and the connections stayed open as long as the peers did.
 */
import assert from "node:assert/strict";
import { TestServer } from "../server_test_helpers.ts";
import { clientFrame, RawWebSocket } from "../websocket_raw_client.ts";
import { Bystander } from "./security_helpers.ts";

const MiB = 1024 * 1024;
const FRAME = 60 * MiB;

/** One attacker: the upgrade, the 60 MiB frame's header, then its payload until cut off. */
async function attack(address: string) {
  const client = await RawWebSocket.open(address, true); // goes on writing after a FIN
  const chunk = new Uint8Array(MiB).fill(0x20);
  const started = performance.now();
  let sent = 0;
  if (await client.write(clientFrame(1, "", { length: FRAME }).subarray(0, 14))) {
    for (; sent < FRAME; sent += chunk.length) {
      if (!(await client.write(chunk))) break;
    }
  }
  // Bounded, so that a server that never ends the connection fails the test instead of hanging.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = await Promise.race([
    client.endedAt,
    new Promise<number>((resolve) => timer = setTimeout(() => resolve(Infinity), 5000)),
  ]) - started;
  clearTimeout(timer);
  const close = await client.nextClose(100).catch(() => undefined);
  await client.close();
  return { sent, ended, close };
}

Deno.test("LimeServer refuses 4 × 60 MiB WebSocket frames on their headers, holding no memory for them", async () => {
  await using t = await TestServer.start();
  const bystander = (await Bystander.start(t)).run();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const baseline = t.server.connectionCount;
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 10);
  const started = performance.now();
  let results;
  try {
    results = await Promise.all([0, 1, 2, 3].map(() => attack(t.server.websocketAddress!)));
    while (t.server.connectionCount > baseline && performance.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    clearInterval(sampler);
  }
  const released = performance.now() - started;
  const grown = (peak - before) / MiB;
  console.log(
    `4 × 60 MiB WebSocket frames: server RSS +${grown.toFixed(1)} MiB at the peak; ` +
      `${results.map((r) => (r.sent / MiB).toFixed(0)).join("/")} MiB written before the cut; ` +
      `connections ended by the server after ${
        results.map((r) => r.ended.toFixed(0)).join("/")
      } ms, all released after ${released.toFixed(0)} ms`,
  );
  for (const { ended, close } of results) {
    assert.ok(ended < 2000, `a connection ended after ${ended.toFixed(0)} ms`);
    assert.equal(close?.code, 1009);
    assert.match(close!.reason, /62914560 bytes, over the maximum envelope size of 65536/);
  }
  assert.equal(t.server.connectionCount, baseline, "every attacking connection was released");
  assert.ok(released < 2500, `released after ${released.toFixed(0)} ms`);
  assert.ok(grown < 32, `server RSS grew by ${grown.toFixed(1)} MiB`);
  await bystander.stop("4 × 60 MiB WebSocket frames");
});
