/**
 * The channel's receive loop (reactions, not an async function): it behaves as a `for await` over
 * the transport would — in order, one envelope at a time; a module that throws ends the channel
 * with that error, tells the transport's iterator (`return`) and closes the transport (before, the
 * channel then waited for a close that nobody made); a transport whose iterator cannot be made
 * ends the channel instead of throwing from its constructor.
 */
import assert from "node:assert/strict";
import { ClientChannel } from "../src/channel/client_channel.ts";
import type { ChannelModule } from "../src/channel/channel_module.ts";
import { Message } from "../src/envelope.ts";
import type { Envelope } from "../src/envelope.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { ReceiveQueue } from "../src/transport/receive_queue.ts";
import { within } from "./tcp_helpers.ts";
import { channelPair } from "./channel_test_helpers.ts";

Deno.test("receive loop: envelopes reach the handler in order, each after the previous", async () => {
  await using pair = await channelPair();
  const seen: string[] = [];
  const all = Promise.withResolvers<void>();
  pair.client.onMessage((message) => {
    seen.push(String(message.content));
    if (seen.length === 50) all.resolve();
  });
  for (let i = 0; i < 50; i++) await pair.server.sendMessage(new Message("text/plain", `${i}`));
  await within(all.promise, 2000);
  assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => `${i}`));
});

Deno.test("receive loop: a module that throws ends the channel with its error and tells the iterator", async () => {
  const failure = new Error("module bug");
  const module: ChannelModule = {
    onReceiving: (envelope: Envelope) => {
      if ((envelope as Message).content === "boom") throw failure;
      return envelope;
    },
  };
  // The transports' receive queues are the iterators the loops read: count their `return` calls.
  const original = ReceiveQueue.prototype.return;
  let returned = 0;
  ReceiveQueue.prototype.return = function () {
    returned++;
    return original.call(this);
  };
  try {
    await using pair = await channelPair({ modules: [module] });
    const received: string[] = [];
    pair.client.onMessage((message) => void received.push(String(message.content)));
    await pair.server.sendMessage(new Message("text/plain", "before"));
    await pair.server.sendMessage(new Message("text/plain", "boom"));
    // The client closes its transport on the failure: this one may not be sent any more.
    await pair.server.sendMessage(new Message("text/plain", "after")).catch(() => {});
    const info = await within(pair.client.closed, 2000);
    assert.equal(info.error, failure);
    assert.deepEqual(received, ["before"], "nothing after the failure is handled");
    assert.equal(returned, 1, "the loop left through its body tells the iterator once");
  } finally {
    ReceiveQueue.prototype.return = original;
  }
});

Deno.test("receive loop: a transport whose iterator throws ends the channel, the constructor does not throw", async () => {
  const [a, b] = MemoryTransport.pair();
  const broken = new Error("no iterator");
  (a as unknown as Record<symbol, unknown>)[Symbol.asyncIterator] = () => {
    throw broken;
  };
  const client = new ClientChannel(a);
  const info = await within(client.closed, 2000);
  assert.equal(info.error === broken || info.error?.cause === broken, true, String(info.error));
  await a.close();
  await b.close();
});
