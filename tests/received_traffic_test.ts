/**
 * `ReceivedTraffic` (where a channel's received traffic goes): handler lists that behave as sets
 * and may change while they are called, and buffers made on first use that still see a close
 * that came before them.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../src/clock.ts";
import { ReceivedTraffic } from "../src/channel/received_traffic.ts";
import { ChannelError } from "../src/channel/errors.ts";
import type { Envelope } from "../src/envelope.ts";

const message = (id: string) => ({ id, type: "text/plain", content: id }) as unknown as Envelope;
const traffic = () => new ReceivedTraffic(4, new ManualClock(), 0, { abort: () => {} });

Deno.test("ReceivedTraffic: a handler added twice is called once, and either remover removes it", () => {
  const received = traffic();
  const seen: string[] = [];
  const handler = (envelope: Envelope) => void seen.push(envelope.id!);
  const first = received.subscribe("message", handler);
  const second = received.subscribe("message", handler);
  received.deliver("message", message("a"));
  assert.deepEqual(seen, ["a"]);
  second();
  received.deliver("message", message("b"));
  assert.deepEqual(seen, ["a"], "removed by the second remover");
  first(); // removing what is gone is harmless
  // With no handler left, the envelope is buffered for receive calls.
  assert.equal(received.deliver("message", message("c")), undefined);
});

Deno.test("ReceivedTraffic: handlers that remove themselves or add others while called", () => {
  const received = traffic();
  const seen: string[] = [];
  let removeA = () => {};
  removeA = received.subscribe("command", (envelope: Envelope) => {
    seen.push(`a:${envelope.id}`);
    removeA();
    received.subscribe("command", (later: Envelope) => void seen.push(`c:${later.id}`));
  });
  received.subscribe("command", (envelope: Envelope) => void seen.push(`b:${envelope.id}`));
  received.deliver("command", message("1"));
  // Those subscribed when it arrived get it; the change takes effect for the next one.
  assert.deepEqual(seen, ["a:1", "b:1"]);
  received.deliver("command", message("2"));
  assert.deepEqual(seen, ["a:1", "b:1", "b:2", "c:2"]);
});

Deno.test("ReceivedTraffic: what was buffered goes to the first handler, then handlers get it all", async () => {
  const received = traffic();
  received.deliver("notification", message("n1"));
  received.deliver("notification", message("n2"));
  assert.equal((await received.take("notification")).id, "n1");
  const seen: string[] = [];
  received.subscribe("notification", (envelope: Envelope) => void seen.push(envelope.id!));
  received.deliver("notification", message("n3"));
  assert.deepEqual(seen, ["n2", "n3"]);
});

Deno.test("ReceivedTraffic: a buffer first used after the close sees it", async () => {
  const broken = traffic();
  const error = new ChannelError("closed", "The channel closed: gone");
  broken.close(error);
  // No buffer existed at the close: the ones made now are closed the same way.
  await assert.rejects(broken.take("message"), (caught) => caught === error);
  await assert.rejects(
    (async () => {
      for await (const _ of broken.iterate("command")) { /* nothing */ }
    })(),
    (caught) => caught === error,
  );

  const ended = traffic();
  ended.close();
  const left: Envelope[] = [];
  for await (const envelope of ended.iterate("notification")) left.push(envelope);
  assert.deepEqual(left, [], "a clean close ends the iterators quietly");
  await assert.rejects(
    ended.take("message"),
    (caught) => caught instanceof ChannelError && caught.code === "closed",
  );
});

Deno.test("ReceivedTraffic: a handler removed by another during a delivery is not called by it", () => {
  const received = traffic();
  const seen: string[] = [];
  let removeB = () => {};
  received.subscribe("message", (envelope: Envelope) => {
    seen.push(`a:${envelope.id}`);
    removeB();
  });
  removeB = received.subscribe(
    "message",
    (envelope: Envelope) => void seen.push(`b:${envelope.id}`),
  );
  received.deliver("message", message("1"));
  assert.deepEqual(seen, ["a:1"]);
});
