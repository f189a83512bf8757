/**
 * Rate limits shape instead of refusing: a session sending flat out at five times its limit is
 * held within 10% of the limit by the server no longer reading its connection, gets no `failed`
 * notification, and every message arrives; a bystander's `/ping` p99 stays under 100 ms; and an
 * identity cannot multiply its rate by opening sessions.
 */
import assert from "node:assert/strict";
import { type ClientChannel, Message, plainCredentials } from "../mod.ts";
import { TestServer } from "./server_test_helpers.ts";
import { within } from "./tcp_helpers.ts";
import { Bystander } from "./security/security_helpers.ts";

/** Sends `count` messages at `perSecond` (in 10 ms slices), not waiting for the network. */
async function sendAt(
  client: ClientChannel,
  to: string,
  count: number,
  perSecond: number,
  content: string,
): Promise<void> {
  const started = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    // Ahead of schedule: wait for it (the sender is "flat out" at perSecond, no faster).
    const due = started + (i * 1000) / perSecond;
    if (due - performance.now() > 5) {
      await new Promise((r) => setTimeout(r, due - performance.now()));
    }
    sends.push(client.sendMessage(new Message("text/plain", content, { id: `m${i}`, to })));
  }
  await within(Promise.all(sends), 30_000, "the sends");
}

/** Arrival times (ms since `start`) of `count` messages at `receiver`. */
function arrivals(receiver: ClientChannel, count: number, start: () => number): Promise<number[]> {
  const times: number[] = [];
  return new Promise((resolve) => {
    receiver.onMessage(() => {
      times.push(performance.now() - start());
      if (times.length === count) resolve(times);
    });
  });
}

/** Messages per second that arrived between `from` and `to` ms. */
function rateBetween(times: number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
}

Deno.test("LimeServer shapes a session sending at 5× its envelope rate: held within 10%, nothing refused, all delivered", async () => {
  const limit = 1000;
  await using t = await TestServer.start({ rateLimit: { envelopesPerSecond: limit } });
  await t.addAccount("sender@localhost", "pw");
  const sender = await t.login("sender@localhost/s", { credentials: plainCredentials("pw") });
  const receiver = await t.login("receiver@localhost/r");
  const bystander = (await Bystander.start(t)).run();
  const failures: unknown[] = [];
  sender.onNotification((n) => n.event === "failed" && failures.push(n));
  const count = 5000;
  let started = 0;
  const arrived = arrivals(receiver, count, () => started);
  started = performance.now();
  await sendAt(sender, "receiver@localhost/r", count, 5 * limit, "x".repeat(100));
  const times = await within(arrived, 20_000, "every message arriving");
  // After the first second's burst (the bucket holds one second's worth), the rate is the limit;
  // and over any stretch once shaped.
  const held = (count - limit) / (times[count - 1] / 1000);
  const steady = rateBetween(times, 1500, times[count - 1] - 100);
  console.log(
    `shaping: ${count} messages sent at ${5 * limit}/s against a limit of ${limit}/s arrived ` +
      `in ${(times[count - 1] / 1000).toFixed(2)} s; held at ${held.toFixed(0)}/s ` +
      `(${steady.toFixed(0)}/s from 1.5 s on); ` +
      `${failures.length} refused; shaped for ${
        t.server.registry.byNode("sender@localhost/s")!.shapedMs.toFixed(0)
      } ms`,
  );
  assert.equal(failures.length, 0, "no failed notification");
  assert.ok(Math.abs(held - limit) <= limit * 0.1, `held at ${held}/s, limit ${limit}/s`);
  assert.ok(Math.abs(steady - limit) <= limit * 0.1, `steady at ${steady}/s, limit ${limit}/s`);
  await bystander.stop("shaping");
});

Deno.test("LimeServer shapes by bytes too, and an identity's sessions share its limits", async () => {
  const bytes = 256 * 1024;
  await using t = await TestServer.start({
    rateLimit: {
      envelopesPerSecond: 0,
      bytesPerSecond: bytes,
      perIdentity: { envelopesPerSecond: 0, bytesPerSecond: bytes },
    },
  });
  await t.addAccount("sender@localhost", "pw");
  const credentials = plainCredentials("pw");
  // Two sessions of one identity, each sending 4 KiB messages: together at 5× the identity's rate.
  const senders = [
    await t.login("sender@localhost/one", { credentials }),
    await t.login("sender@localhost/two", { credentials }),
  ];
  const receiver = await t.login("receiver@localhost/r");
  const content = "y".repeat(4000);
  const perSender = 150; // 2 × 150 × ~4.1 KB ≈ 1.2 MB: about 4.5 s at 256 KiB/s
  const count = 2 * perSender;
  let started = 0;
  const arrived = arrivals(receiver, count, () => started);
  started = performance.now();
  const perSecond = (5 * bytes) / 4100 / 2;
  await Promise.all(
    senders.map((sender) => sendAt(sender, "receiver@localhost/r", perSender, perSecond, content)),
  );
  const times = await within(arrived, 30_000, "every message arriving");
  // The identity's bucket starts with one second's worth; the rest flowed at the rate.
  const sent = senders.reduce(
    (sum, sender) =>
      sum + (t.server.registry.byNode(sender.localNode!)!.channel.transport.receivedBytes ?? 0),
    0,
  );
  const held = (sent - bytes) / (times[count - 1] / 1000);
  console.log(
    `shaping by bytes: 2 sessions of one identity at 5× ${bytes} B/s together: ` +
      `${(sent / 1024).toFixed(0)} KiB arrived in ${(times[count - 1] / 1000).toFixed(2)} s: ` +
      `held at ${(held / 1024).toFixed(0)} KiB/s after the first second's burst`,
  );
  assert.ok(Math.abs(held - bytes) <= bytes * 0.1, `held at ${held} B/s, limit ${bytes} B/s`);
});
