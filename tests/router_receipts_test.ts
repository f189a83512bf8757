/**
 * The receipts the router sends a message's sender while delivering it (unit level, with stand-in
 * sessions): a target that took the message at once (the send queue's `TAKEN`) is recorded and
 * `dispatched` at once when it is the only target; with several targets every outcome waits for
 * its send, so the receipts keep the order of the sends' outcomes (found by review: a later
 * target's `dispatched` overtook an earlier target's `failed`).
 */
import assert from "node:assert/strict";
import { Router, type ServerEndpoint } from "../src/server/router.ts";
import { TAKEN } from "../src/transport/send_queue.ts";
import { Message } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import type { ServerSession } from "../src/server/server_session.ts";
import type { SessionRegistry } from "../src/server/session_registry.ts";

async function deliverLog(sends: (() => Promise<void>)[]): Promise<string[]> {
  const log: string[] = [];
  const sender = {
    node: "alice@localhost/home",
    identityKey: "alice@localhost",
    receiptEvents: new Set(["accepted", "dispatched", "failed"]),
    channel: {
      sendNotification(notification: { event: string; reason?: { code: number } }) {
        const code = notification.reason ? `(${notification.reason.code})` : "";
        log.push(`${notification.event}${code}`);
        return Promise.resolve();
      },
    },
  } as unknown as ServerSession;
  const targets = sends.map((send, i) => ({
    node: `bob@localhost/${i}`,
    handedOver: () => log.push(`handed over ${i}`),
    channel: {
      sendMessage: () => {
        log.push(`send ${i}`);
        return send();
      },
    },
  })) as unknown as ServerSession[];
  const router = new Router(
    {} as SessionRegistry,
    "localhost",
    "postmaster@localhost",
    {} as ServerEndpoint,
  );
  router.deliver(
    sender,
    new Message("text/plain", "x", { id: "m1", to: "bob@localhost" }),
    targets,
  );
  log.push("returned");
  await new Promise((resolve) => setTimeout(resolve, 10));
  return log;
}

Deno.test("Router: the only target took the message at once: handed over and dispatched at once", async () => {
  assert.deepEqual(await deliverLog([() => TAKEN]), [
    "accepted",
    "send 0",
    "handed over 0",
    "dispatched",
    "returned",
  ]);
});

Deno.test("Router: with several targets the receipts follow the order of the sends' outcomes", async () => {
  const refused = () => Promise.reject(new TransportError("slow-reader", "full"));
  assert.deepEqual(await deliverLog([refused, () => TAKEN]), [
    "accepted",
    "send 0",
    "send 1",
    "returned",
    "failed(51)",
    "handed over 1",
    "dispatched",
  ]);
});
