/**
 * Failures of a cluster of real processes under traffic, with resilient clients (`LimeClient`)
 * that fail over to another server: a server killed with SIGKILL, and Redis restarted (empty).
 * A message counts as confirmed when its sender got `received` from the destination client
 * (end to end: a server's `dispatched` only says it was written to a connection, which dies with
 * that server); what is not confirmed is resent until it is, or reported as a dead letter.
 */
import assert from "node:assert/strict";
import { type LimeClient, Message } from "../../mod.ts";
import { until } from "./cluster_helpers.ts";
import { ProcessCluster } from "./process_cluster.ts";

/** Traffic between pairs of clients, and what each side saw. */
class Traffic {
  readonly sent = new Set<string>();
  readonly confirmed = new Set<string>();
  readonly dead = new Set<string>();
  /** Deliveries to the receivers' applications, by message id. */
  readonly delivered = new Map<string, number>();
  readonly senders: LimeClient[] = [];

  /** Pairs: sender `s<i>` on server `i % n`, receiver `r<i>` on server `(i + 1) % n`. */
  static async start(cluster: ProcessCluster, pairs: number): Promise<Traffic> {
    const traffic = new Traffic();
    const n = cluster.servers.length;
    const resend = { confirmEvents: ["received" as const], window: 400, maxResends: 8 };
    for (let i = 0; i < pairs; i++) {
      const receiver = await cluster.client(`r${i}@localhost/in`, (i + 1) % n);
      receiver.onMessage((message) => {
        traffic.delivered.set(message.id!, (traffic.delivered.get(message.id!) ?? 0) + 1);
      });
      const sender = await cluster.client(`s${i}@localhost/out`, i % n, {
        resend,
        onDeadLetter: (letter) => traffic.dead.add(letter.message.id!),
      });
      sender.onNotification((notification) => {
        if (notification.event === "received") traffic.confirmed.add(notification.id!);
      });
      traffic.senders.push(sender);
    }
    return traffic;
  }

  /** Each sender sends `count` messages to its receiver, one every `every` ms. */
  async send(count: number, every: number, tag: string): Promise<void> {
    for (let k = 0; k < count; k++) {
      await Promise.all(this.senders.map((sender, i) => {
        const id = `${tag}-${i}-${k}`;
        this.sent.add(id);
        // A send cut by a dying connection rejects; the client tracks the message and resends it.
        return sender.sendMessage(
          new Message("text/plain", id, { id, to: `r${i}@localhost/in` }),
        ).catch(() => {});
      }));
      await new Promise((resolve) => setTimeout(resolve, every));
    }
  }

  /** Waits until every sent message is confirmed or dead. */
  async settled(ms: number): Promise<void> {
    await until(
      () => this.senders.every((sender) => sender.unconfirmed === 0),
      `settling (${this.confirmed.size} confirmed, ${this.dead.size} dead of ${this.sent.size})`,
      ms,
    );
  }

  /** The guarantees: nothing lost silently, confirmed ones exactly once, no duplicates shown. */
  check(): string {
    const lost = [...this.sent].filter((id) => !this.delivered.has(id) && !this.dead.has(id));
    assert.deepEqual(lost, [], "messages neither delivered nor reported");
    for (const id of this.confirmed) assert.equal(this.delivered.get(id), 1, `${id} once`);
    const twice = [...this.delivered].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], "duplicates reached an application");
    return `${this.sent.size} sent, ${this.confirmed.size} confirmed, ${this.delivered.size} ` +
      `delivered, ${this.dead.size} dead letters`;
  }
}

Deno.test("cluster: kill -9 of a server during traffic loses nothing silently; its sessions leave the directory within the TTL", async () => {
  await using cluster = await ProcessCluster.start(3, 1_500);
  const traffic = await Traffic.start(cluster, 6);
  const victim = cluster.servers[2];
  const sending = traffic.send(40, 15, "k");
  await new Promise((resolve) => setTimeout(resolve, 250));
  const killedAt = Date.now();
  await cluster.kill(2);
  await sending;
  await traffic.send(10, 15, "after");
  // The dead server's entries: gone from the directory within the TTL (plus a heartbeat).
  await until(
    async () => (await cluster.entriesOf(victim.serverId)).length === 0,
    "the dead server's directory entries expiring",
    cluster.ttl + 1_000,
  );
  const expiredWithin = Date.now() - killedAt;
  await traffic.settled(20_000);
  console.log(`kill -9: ${traffic.check()}; entries gone ${expiredWithin} ms after the kill`);
  assert.ok(traffic.confirmed.size > 0);
});

Deno.test("cluster: Redis restarted during traffic; the servers recover without a restart, nothing is lost silently", async () => {
  await using cluster = await ProcessCluster.start(2, 1_500);
  const traffic = await Traffic.start(cluster, 4);
  const sending = traffic.send(40, 15, "r");
  await new Promise((resolve) => setTimeout(resolve, 200));
  await cluster.redis.restart(300);
  await sending;
  // Recovered: traffic sent well after the restart crosses servers again.
  await traffic.send(10, 15, "after");
  await traffic.settled(20_000);
  console.log(`Redis restart: ${traffic.check()}`);
  const after = [...traffic.sent].filter((id) => id.startsWith("after"));
  assert.ok(after.every((id) => traffic.delivered.has(id)), "traffic after recovery delivered");
  assert.ok(cluster.servers.every((server) => !server.process.exited), "no server restarted");
});
