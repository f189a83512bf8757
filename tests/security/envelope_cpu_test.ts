/**
 * CPU on the event loop from one envelope, against a live server: before a session is
 * established no envelope over 64 KiB is even framed (the 5.7 MiB `new` with 600,000 metadata
 * entries never reaches `JSON.parse`), and after it no envelope with more than 100,000 object
 * members is parsed (what makes `JSON.parse` slow is keys, not bytes). A bystander keeps its
 * `/ping` p99 under 100 ms while these arrive back to back.
 */
import assert from "node:assert/strict";
import { TestServer } from "../server_test_helpers.ts";
import { rawGuest } from "../../tools/attack/wire.ts";
import { Bystander, RawPeer } from "./security_helpers.ts";

/** `{"state":"new","metadata":{…n numeric entries…}}`: 5.7 MiB for 600,000. */
function heavyNew(entries: number): string {
  const parts: string[] = [];
  for (let i = 0; i < entries; i++) parts.push(`"x${i.toString(36)}":${i}`);
  return `{"state":"new","metadata":{${parts.join(",")}}}`;
}

Deno.test("envelope CPU: new envelopes with 600,000 metadata entries (megabytes) are refused before any parse", async () => {
  // Made before the bystander starts: building it takes this process (the server's) long.
  const envelope = heavyNew(600_000);
  await using t = await TestServer.start();
  const bystander = (await Bystander.start(t)).run();
  const started = performance.now();
  let refused = 0;
  while (performance.now() - started < 1500) {
    const peer = await RawPeer.connect(t.server.tcpAddress!, "127.0.0.2");
    try {
      // The server stops at 64 KiB: the first 256 KiB are all it can be made to see (writing the
      // other 8 MiB would only load this test's own process, where the bystander runs too).
      peer.write(envelope.slice(0, 256 * 1024));
      const reply = await peer.next();
      assert.notEqual(reply, "closed");
      const reason = (reply as { reason: { code: number; description: string } }).reason;
      assert.equal(reason.code, 21);
      assert.match(reason.description, /larger than the maximum of 65536 bytes/);
      refused++;
    } finally {
      await peer.close();
    }
  }
  console.log(
    `envelope CPU: ${refused} new envelopes of ${(envelope.length / 1048576).toFixed(1)} MiB ` +
      "refused at 64 KiB in 1.5 s",
  );
  await bystander.stop("envelope CPU (before establishment)");
});

Deno.test("envelope CPU: an established peer's envelope with over 100,000 object members is refused unparsed", async () => {
  // 150,000 entries: 1.6 MiB, within the 8 MiB cap once established. Made before the bystander
  // starts: building it took this process (the server's) 100-140 ms, which the bystander's p99
  // counted against the server.
  const parts: string[] = [];
  for (let i = 0; i < 150_000; i++) parts.push(`"x${i.toString(36)}":"${i}"`);
  const message = `{"id":"m","to":"nobody@localhost","type":"text/plain","content":"x",` +
    `"metadata":{${parts.join(",")}}}`;
  await using t = await TestServer.start();
  const bystander = (await Bystander.start(t)).run();
  const started = performance.now();
  let refused = 0;
  while (performance.now() - started < 1500) {
    const peer = await rawGuest(t.server.tcpAddress!, "127.0.0.3", `heavy${refused}@localhost/x`);
    try {
      peer.write(message);
      const reply = await peer.next();
      const reason = (reply as { reason: { code: number; description: string } }).reason;
      assert.equal(reason.code, 21);
      assert.match(reason.description, /more than 100000 object members/);
      refused++;
    } finally {
      await peer.close();
    }
  }
  console.log(`envelope CPU: ${refused} messages with 150,000 metadata entries refused in 1.5 s`);
  await bystander.stop("envelope CPU (established)");
});
