/**
 * LimeClient across a real server restart: a sender and a receiver LimeClient on a LimeServer
 * over TCP (127.0.0.1), 10,000 messages with ids sent while the server shuts down mid-stream and
 * a new server (same :memory: store, same port) starts about a second later. Every message must
 * reach the receiver's handler exactly once (resends of unconfirmed messages, duplicates dropped
 * by id), and the sender must end with nothing unconfirmed and an empty outbox. The sender keeps
 * at most MAX_IN_FLIGHT messages unconfirmed: without that, a 300 ms resend window shorter than
 * the backlog's delivery time resends the whole backlog again and again (tens of thousands of
 * duplicates on a loaded machine).
 */
import assert from "node:assert/strict";
import {
  type DeadLetter,
  KvAccountStore,
  LimeClient,
  LimeClientError,
  type LimeClientStatus,
  LimeServer,
  Message,
} from "../mod.ts";
import { within } from "./tcp_helpers.ts";

const N = 10_000;
/** Unconfirmed messages the sender lets pile up before it waits (keeps resends from snowballing). */
const MAX_IN_FLIGHT = 2000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms; the caller bounds it with `within`. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(20);
}

Deno.test("LimeClient delivers 10,000 messages exactly once across a server restart", async () => {
  const store = await KvAccountStore.open(":memory:");
  const serverOn = (port: number) =>
    new LimeServer({
      store,
      domain: "localhost",
      tcp: { hostname: "127.0.0.1", port },
      websocket: false,
      rateLimit: 0,
      passwordIterations: 1000,
    });
  let server = serverOn(0);
  await server.start();
  const port = Number(server.tcpAddress!.split(":").at(-1));
  const uri = `net.tcp://127.0.0.1:${port}`;
  const reconnect = { initialDelay: 50, maxDelay: 400 };
  const dead: DeadLetter[] = [];
  const sender = new LimeClient({
    uri,
    identity: "alice@localhost",
    instance: "sender",
    encryption: "none",
    reconnect,
    resend: { confirmEvents: ["received"], window: 300, maxResends: 50 },
    onDeadLetter: (letter) => dead.push(letter),
  });
  const receiver = new LimeClient({
    uri,
    identity: "bob@localhost",
    instance: "receiver",
    encryption: "none",
    reconnect,
    dedupeWindow: 2 * N,
  });
  const counts = new Map<string, number>();
  let resentSeen = 0;
  let maxResentCount = 0;
  receiver.onMessage((message) => {
    counts.set(message.id!, (counts.get(message.id!) ?? 0) + 1);
    const resent = Number(message.metadata?.["#resentCount"] ?? 0);
    if (resent > 0) resentSeen++;
    maxResentCount = Math.max(maxResentCount, resent);
  });
  const senderStates: string[] = [];
  let backAt = 0;
  let reestablishedAt = 0;
  sender.onStatus((status: LimeClientStatus) => {
    senderStates.push(status.state);
    if (status.state === "established" && backAt && !reestablishedAt) {
      reestablishedAt = performance.now();
    }
  });
  try {
    await within(Promise.all([sender.start(), receiver.start()]), 5000, "starting the clients");

    let outboxFull = 0;
    let rejectedAfterTracking = 0;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        const message = new Message("text/plain", `m${i}`, {
          id: `msg-${i}`,
          to: "bob@localhost/receiver",
        });
        for (;;) {
          try {
            await sender.sendMessage(message);
            break;
          } catch (error) {
            if (error instanceof LimeClientError && error.code === "outbox-full") {
              outboxFull++;
              await delay(20); // wait for the connection to come back
              continue;
            }
            // Written while the connection dropped: it is tracked already and will be resent.
            rejectedAfterTracking++;
            break;
          }
        }
        if (i % 100 === 99) {
          await delay(10);
          // Flow control as an application would do it: at most MAX_IN_FLIGHT unconfirmed.
          while (sender.unconfirmed >= MAX_IN_FLIGHT) await delay(10);
        }
      }
    })();

    // Shut the server down mid-stream.
    await within(until(() => counts.size >= 2000), 8000, "the first 2,000 messages");
    const receivedBeforeShutdown = counts.size;
    await server.shutdown();
    const downAt = performance.now();
    await within(until(() => sender.status.state !== "established"), 2000, "the sender noticing");
    await delay(1000);
    server = serverOn(port);
    await server.start();
    backAt = performance.now();
    const downFor = backAt - downAt;

    await within(until(() => reestablishedAt > 0), 3000, "the sender reconnecting");
    const reconnectMs = reestablishedAt - backAt;
    await within(sending, 20_000, "sending every message");
    await within(
      until(() => counts.size === N && sender.unconfirmed === 0 && sender.outboxLength === 0),
      20_000,
      "every message confirmed",
    );

    console.log(
      `RESTART: server down ${downFor.toFixed(0)} ms after ${receivedBeforeShutdown} of ${N} ` +
        `received; sender re-established ${reconnectMs.toFixed(0)} ms after the new server ` +
        `started; sent ${N}, received ${counts.size} unique (each exactly once at the handler), ` +
        `duplicates dropped ${receiver.duplicatesDropped}, first copies that were resends ` +
        `(#resentCount > 0) ${resentSeen} (max #resentCount ${maxResentCount}), outbox-full ` +
        `rejections ${outboxFull}, sends rejected after tracking ${rejectedAfterTracking}, ` +
        `unconfirmed ${sender.unconfirmed}, outbox ${sender.outboxLength}, dead letters ${dead.length}`,
    );

    assert.ok(receivedBeforeShutdown < N, "the shutdown happened mid-stream");
    assert.ok(reconnectMs <= 2000, `re-established ${reconnectMs.toFixed(0)} ms after the return`);
    assert.equal(counts.size, N);
    for (let i = 0; i < N; i++) assert.equal(counts.get(`msg-${i}`), 1, `msg-${i} exactly once`);
    assert.equal(sender.unconfirmed, 0);
    assert.equal(sender.outboxLength, 0);
    assert.deepEqual(dead, []);
    // The outage was seen: established, then lost, then back.
    const lost = senderStates.indexOf("disconnected");
    assert.ok(lost > 0 && senderStates.indexOf("reconnecting", lost) > lost);
    assert.equal(senderStates.at(-1), "established");
  } finally {
    await sender.close();
    await receiver.close();
    await server.shutdown();
    store.close();
  }
  assert.equal(sender.status.state, "closed");
  assert.equal(receiver.status.state, "closed");
});
