/**
 * The routed-message load (tools/load.ts) in small, against an in-process LimeServer on
 * 127.0.0.1: 50 clients in a ring exchange 20,000 messages with ids over TCP and over WebSocket,
 * each answered by a `received` notification; nothing may be lost, duplicated or misaddressed and
 * every receipt must match its message. The ledger's own checks are shown to catch a lost, a
 * duplicated and a misaddressed message and bad receipts.
 */
import assert from "node:assert/strict";
import { KvAccountStore, LimeServer, Message, Notification } from "../mod.ts";
import { LOAD_CONTENT, LoadLedger, type LoadTransport, runLoad } from "../tools/load.ts";
import { within } from "./tcp_helpers.ts";

for (const transport of ["tcp", "ws"] as LoadTransport[]) {
  Deno.test(
    `runLoad delivers 20,000 messages among 50 clients over ${transport} exactly once, with matched receipts`,
    async () => {
      const store = await KvAccountStore.open(":memory:");
      const server = new LimeServer({
        store,
        tcp: transport === "tcp" ? { hostname: "127.0.0.1", port: 0 } : false,
        websocket: transport === "ws" ? { hostname: "127.0.0.1", port: 0 } : false,
        rateLimit: 0,
        // Every client is on 127.0.0.1: the per-address caps would count them as one peer.
        maxSessionsPerAddress: 0,
        maxEstablishingPerAddress: 0,
        passwordIterations: 1000,
      });
      try {
        await server.start();
        const result = await within(
          runLoad({
            address: transport === "tcp" ? server.tcpAddress! : server.websocketAddress!,
            transport,
            clients: 50,
            messages: 20_000,
            window: 8,
            stallTimeout: 5_000,
            settle: 100,
          }),
          20_000,
          `the ${transport} load`,
        );
        const problems = result.problems.join("\n");
        assert.deepEqual(
          {
            planned: result.planned,
            sent: result.sent,
            delivered: result.delivered,
            lost: result.lost,
            duplicated: result.duplicated,
            misaddressed: result.misaddressed,
            receipts: result.receipts,
            receiptsMissing: result.receiptsMissing,
            receiptsDuplicated: result.receiptsDuplicated,
            receiptsUnmatched: result.receiptsUnmatched,
            failed: result.failed,
            otherNotifications: result.otherNotifications,
            errors: result.errors,
            stalled: result.stalled,
            ok: result.ok,
          },
          {
            planned: 20_000,
            sent: 20_000,
            delivered: 20_000,
            lost: 0,
            duplicated: 0,
            misaddressed: 0,
            receipts: 20_000,
            receiptsMissing: 0,
            receiptsDuplicated: 0,
            receiptsUnmatched: 0,
            failed: 0,
            otherNotifications: 0,
            errors: 0,
            stalled: false,
            ok: true,
          },
          problems,
        );
        assert.equal(result.clients, 50);
        assert.ok(result.rate > 0 && result.seconds > 0);
        // Every latency is a real, ordered figure; a receipt comes after its delivery.
        assert.ok(result.delivery.p50 > 0 && result.delivery.p50 <= result.delivery.p99);
        assert.ok(result.delivery.p99 <= result.delivery.max);
        assert.ok(result.receipt.p50 > result.delivery.p50 && result.receipt.p99 > 0);
        // Every client finished its session.
        await within(
          (async () => {
            while (server.registry.size > 0) await new Promise((r) => setTimeout(r, 20));
          })(),
          5_000,
          "the sessions to end",
        );
      } finally {
        await server.shutdown();
        store.close();
      }
    },
  );
}

Deno.test("LoadLedger counts lost, duplicated and misaddressed messages and bad receipts", () => {
  const nodes = ["a@localhost/load", "b@localhost/load", "c@localhost/load"];
  const ledger = new LoadLedger(nodes, [3, 1, 0]);
  const at = 1_000;
  const sent = [ledger.message(0, 0, at), ledger.message(0, 1, at), ledger.message(0, 2, at)];
  const bSent = ledger.message(1, 0, at);
  assert.deepEqual(JSON.parse(JSON.stringify(sent[1])), {
    id: "0.1",
    to: "b@localhost/load",
    type: "text/plain",
    content: LOAD_CONTENT,
    metadata: { sentAt: "1000.000" },
  });
  assert.equal(bSent.to, "c@localhost/load");
  assert.throws(() => ledger.message(0, 0), RangeError);
  // As the server routes them: `from` stamped with the sender's node.
  const routed = (message: Message, from: string) =>
    Object.assign(new Message(message.type, message.content, message), { from });
  ledger.received(1, routed(sent[0], nodes[0]), at + 5); // delivered
  ledger.received(1, routed(sent[0], nodes[0]), at + 6); // duplicated
  ledger.received(2, routed(sent[1], nodes[0]), at + 7); // the wrong addressee
  ledger.received(1, routed(sent[2], nodes[2]), at + 7); // the wrong sender
  ledger.received(1, new Message("text/plain", LOAD_CONTENT, { id: "0.9", from: nodes[0] })); // unknown id
  ledger.received(2, routed(bSent, nodes[1]), at + 9); // delivered
  const receipt = (id: string, from: string) =>
    new Notification("received", { id, from, to: nodes[0] });
  assert.equal(ledger.notified(0, receipt("0.0", nodes[1]), at + 10), true);
  assert.equal(ledger.notified(0, receipt("0.0", nodes[1]), at + 11), false); // duplicated
  assert.equal(ledger.notified(0, receipt("0.1", nodes[2]), at + 11), false); // wrong from
  assert.equal(ledger.notified(0, receipt("1.0", nodes[1]), at + 11), false); // not its message
  assert.equal(
    ledger.notified(0, new Notification("failed", { id: "0.2", from: nodes[1] })),
    false,
  );
  assert.deepEqual(ledger.summary(), {
    planned: 4,
    sent: 4,
    delivered: 2,
    lost: 2,
    duplicated: 1,
    misaddressed: 3,
    receipts: 1,
    receiptsMissing: 3,
    receiptsDuplicated: 1,
    receiptsUnmatched: 2,
    failed: 1,
    otherNotifications: 0,
  });
  assert.deepEqual(ledger.deliveryLatency(), { p50: 9, p99: 9, max: 9 });
  assert.deepEqual(ledger.receiptLatency(), { p50: 10, p99: 10, max: 10 });
  assert.equal(ledger.problems.length, 8);
});
