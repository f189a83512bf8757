/**
 * The gzip bomb against a running LimeServer: a raw TCP client negotiates gzip (before
 * authenticating) and streams gzip that inflates into far more than it weighs. The server must
 * end that connection with `failed` (reason 21, said in its own gzip stream) within a bounded
 * time, while a session established before the attack keeps answering `/ping` promptly (median
 * under 100 ms, none over 500 ms).
 */
import assert from "node:assert/strict";
import { ReasonCode } from "../../src/generated/reasons.generated.ts";
import { batchOf, repeatedGzip, writeRepeated } from "../gzip_helpers.ts";
import { mulberry32 } from "../prng.ts";
import { TestServer } from "../server_test_helpers.ts";
import { CLOSED, percentile, pingLoop, RawClient, type Wire } from "./raw_client.ts";

const MiB = 1024 * 1024;

/**
 * Runs one bomb, `block` sync-flushed `times` times (after `prefix`, made from the session id),
 * against a fresh server with a bystander pinging it; returns the `failed` envelope the attacker
 * read, how long it took, and the pings.
 */
async function detonate(
  block: Uint8Array,
  times: number,
  prefix?: (sid: string) => string,
  options: Parameters<typeof TestServer.start>[0] = {},
) {
  await using test = await TestServer.start(options);
  const bystander = await test.login("bystander@localhost/desk");
  const attacker = await RawClient.tcp(test.server.tcpAddress!);
  try {
    await attacker.negotiateGzip();
    const bomb = await repeatedGzip(block, { prefix: prefix?.(attacker.sid) });
    await attacker.write(bomb.head);
    if (prefix) {
      const established = await attacker.next();
      assert.equal((established as Wire).state, "established", JSON.stringify(established));
    }
    batchOf(bomb); // made before the pings: it is this process's work, not the server's
    const pings = pingLoop(bystander);
    const started = performance.now();
    const sending = writeRepeated(attacker.conn, bomb, times, false);
    const answer = await attacker.untilFailedOrClosed(10000);
    const elapsed = performance.now() - started;
    await sending;
    const latencies = await pings.stop();
    // The bystander's session survived and still answers.
    assert.equal(bystander.state, "established");
    await bystander.getResource("/ping");
    return { answer, elapsed, latencies };
  } finally {
    await attacker.close();
  }
}

function assertRefused(
  result: Awaited<ReturnType<typeof detonate>>,
  description: RegExp,
): void {
  const { answer, elapsed, latencies } = result;
  assert.notEqual(answer, CLOSED, "the server closed without saying why");
  const failed = answer as Wire;
  assert.equal(failed.state, "failed");
  const reason = failed.reason as { code: number; description: string };
  assert.equal(reason.code, ReasonCode.VALIDATION_ERROR, JSON.stringify(failed));
  assert.match(reason.description, description);
  assert.ok(elapsed < 5000, `refused after ${Math.round(elapsed)} ms`);

  // An attack takes 2-3 s and the bystander completes only 2 to 8 pings meanwhile, so their p99 is
  // their worst: one ping that meets a collection or the VM's scheduler (105 and 133 ms were seen,
  // on the code before and after f9e1a71, against 25-45 ms usually) would fail a p99 bound. The
  // median says the bystander is served promptly; the worst bounds a stall.
  assert.ok(latencies.length > 0, "no ping completed during the attack");
  const median = percentile(latencies, 0.5), worst = Math.max(...latencies);
  console.log(
    `gzip bomb: bystander /ping median ${median.toFixed(1)} ms, worst ${worst.toFixed(1)} ms ` +
      `(n=${latencies.length})`,
  );
  assert.ok(median < 100, `bystander /ping median ${median} ms`);
  assert.ok(worst < 500, `bystander /ping worst ${worst} ms`);
}

Deno.test("LimeServer refuses a gzip bomb of 2 GiB of spaces in 2 MiB (ratio)", async () => {
  const result = await detonate(new Uint8Array(MiB).fill(0x20), 2048);
  assertRefused(result, /^Invalid input: The gzip stream inflates \d+ bytes .*maxInflationRatio/);
});

Deno.test("LimeServer refuses a stream of whitespace that compresses only 4:1 (rate)", async () => {
  // Spaces, tabs, CR and LF at random: about 2 bits each, far below the ratio cap, and still
  // nothing but whitespace between envelopes. 512 MiB at most; the rate cap ends it sooner.
  const random = mulberry32(21);
  const whitespace = [0x20, 0x09, 0x0d, 0x0a];
  const block = Uint8Array.from({ length: MiB }, () => whitespace[Math.floor(random() * 4)]);
  // The rate cap set below what this machine inflates even under load (the default is 16 MiB/s).
  const result = await detonate(block, 512, undefined, {
    inflation: { maxInflatedBytesPerSecond: 8 * MiB },
  });
  assertRefused(
    result,
    /^Invalid input: The gzip stream inflated to more than \d+ bytes within one second/,
  );
});

Deno.test("LimeServer refuses valid envelopes inflating 1,000:1 (ratio)", async () => {
  // A guest session, then messages of 4 MiB (under the 8 MiB envelope cap) of one letter each,
  // to a node that does not exist: each is valid and routed (dropped); the stream is cut once
  // a second's output passes 8 MiB at that ratio.
  const message = '{"to":"nobody@localhost/x","type":"text/plain","content":"' +
    "a".repeat(4 * MiB) + '"}';
  const result = await detonate(new TextEncoder().encode(message), 512, (sid) =>
    JSON.stringify({
      id: sid,
      state: "authenticating",
      from: "mallory@localhost/x",
      scheme: "guest",
      authentication: {},
    }));
  assertRefused(result, /^Invalid input: The gzip stream inflates \d+ bytes .*maxInflationRatio/);
});
