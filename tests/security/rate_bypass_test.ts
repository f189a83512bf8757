/**
 * Ways around the rate shaper (README, "Rate limits shape, they do not refuse"): what a session
 * sends is charged to its buckets whatever it is, so a session cannot exceed its rate by sending
 * what the router never sees.
 */
import assert from "node:assert/strict";
import { TestServer } from "../server_test_helpers.ts";
import { rawGuest } from "../../tools/attack/wire.ts";

Deno.test("rate bypass: envelopes answered as invalid are shaped like the others", async () => {
  // Review finding: envelopes that are JSON but not valid LIME are answered by the channel
  // (21–27) without reaching the router, so they were never charged: a session got 40,000
  // answers a second past a limit of 1,000.
  await using t = await TestServer.start({ rateLimit: 1000 });
  const peer = await rawGuest(t.server.tcpAddress!, "127.0.0.2", "flood@localhost/f");
  try {
    const count = 3000;
    let batch = "";
    // A command request whose uri is not a LIME URI: a failure response (27) each.
    for (let i = 0; i < count; i++) batch += `{"id":"c${i}","method":"get","uri":"/%zz"}`;
    const started = performance.now();
    peer.write(batch);
    for (let i = 0; i < count; i++) {
      const answer = await peer.next(10_000) as { id: string; reason: { code: number } };
      assert.equal(answer.id, `c${i}`);
      assert.equal(answer.reason.code, 27);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`${count} invalid requests answered in ${seconds.toFixed(2)} s (limit 1,000/s)`);
    // The bucket holds one second's worth; the other 2,000 take two seconds at 1,000/s.
    assert.ok(seconds >= 1.6, `answered at ${(count / seconds).toFixed(0)}/s`);
  } finally {
    await peer.close();
  }
});
