import assert from "node:assert/strict";
import { Message, Session } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { transportConformance } from "./transport_conformance.ts";

transportConformance("MemoryTransport", (options) => {
  const [client, server] = MemoryTransport.pair(options);
  return Promise.resolve({ client, server, dispose: () => Promise.resolve() });
});

Deno.test("MemoryTransport keeps envelopes that arrive before any consumer", async () => {
  const [a, b] = MemoryTransport.pair();
  await a.send(new Message("text/plain", "early", { id: "1" }));
  await a.send(new Message("text/plain", "early", { id: "2" }));
  const seen: string[] = [];
  b.onEnvelope((e) => seen.push(e.id!));
  assert.deepEqual(seen, ["1", "2"]);
  await a.close();
});

Deno.test("MemoryTransport applies backpressure: a sender waits while the receiver's buffer is full", async () => {
  const [a, b] = MemoryTransport.pair({ receiveBufferSize: 4 });
  let sent = 0;
  const sends = Array.from(
    { length: 10 },
    (_, i) => a.send(new Message("text/plain", `${i}`)).then(() => sent++),
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(sent <= 5, `sent ${sent} before anyone read`);
  const received: string[] = [];
  for await (const e of b) {
    received.push((e as Message).content as string);
    if (received.length === 10) break;
  }
  await Promise.all(sends);
  assert.equal(sent, 10);
  assert.deepEqual(received, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  await a.close();
});

Deno.test("MemoryTransport closes on an invalid envelope by default, with the reason as cause", async () => {
  const [a, b] = MemoryTransport.pair();
  // Bypass the typed API: a message whose content does not match its media type.
  await a.send({ type: "text/plain", content: { not: "a string" } } as unknown as Message);
  const info = await b.closed;
  assert.equal(info.by, "error");
  assert.equal(info.error?.code, "invalid-envelope");
  assert.equal((info.error?.cause as { code: number }).code, 23);
  await a.close();
});

Deno.test("MemoryTransport skips an invalid envelope when the policy says so", async () => {
  const errors: Error[] = [];
  const [a, b] = MemoryTransport.pair({
    onInvalidEnvelope: (e) => {
      errors.push(e);
      return "skip";
    },
  });
  await a.send({ type: "text/plain", content: 1 } as unknown as Message);
  await a.send(new Session("new"));
  for await (const e of b) {
    assert.equal((e as Session).state, "new");
    break;
  }
  assert.equal(errors.length, 1);
  await a.close();
});

Deno.test("MemoryTransport delivers the envelope an invalid-envelope policy returns, in order", async () => {
  const [a, b] = MemoryTransport.pair({
    onInvalidEnvelope: (e) => new Session("finishing", { id: String(e.envelope?.id) }),
  });
  await a.send({ id: "bad", state: "exploded" } as unknown as Session);
  await a.send(new Session("new", { id: "after" }));
  const received: Session[] = [];
  for await (const e of b) {
    received.push(e as Session);
    if (received.length === 2) break;
  }
  assert.deepEqual(received.map((s) => [s.state, s.id]), [["finishing", "bad"], ["new", "after"]]);
  await a.close();
});

Deno.test("MemoryTransport iterator throws the failure that closed it", async () => {
  const [a, b] = MemoryTransport.pair();
  await a.send({ id: "x", event: "nope" } as unknown as Message);
  await assert.rejects(async () => {
    for await (const _ of b) { /* nothing valid arrives */ }
  }, (e) => e instanceof TransportError && e.code === "invalid-envelope");
  await a.close();
});

Deno.test("MemoryTransport refuses compression it was not configured with and records the rest", async () => {
  const [a, b] = MemoryTransport.pair({ compression: ["none", "gzip"] });
  await a.setCompression("gzip");
  assert.equal(a.compression, "gzip");
  await assert.rejects(
    a.setEncryption("tls"),
    (e) => e instanceof TransportError && e.code === "unsupported",
  );
  await a.close();
  await b.closed;
});

Deno.test("MemoryTransport supports await using", async () => {
  const [a, b] = MemoryTransport.pair();
  {
    await using _client = a;
  }
  assert.equal((await b.closed).by, "remote");
});

Deno.test("MemoryTransport: closing a side that paused reading fails the peer's waiting sends", async () => {
  // The waiting sends looped on a gate that closing opened but did not clear: microtasks without
  // end, no timer ever ran again (review of 01fb2a5).
  const [a, b] = MemoryTransport.pair();
  assert.equal(b.pauseReceiving(), true);
  const waiting = [a.send(new Message("text/plain", "1")), a.send(new Message("text/plain", "2"))];
  await new Promise((resolve) => setTimeout(resolve, 5));
  await b.close();
  const timerRan = new Promise((resolve) => setTimeout(() => resolve(true), 10));
  const outcomes = await Promise.allSettled(waiting);
  assert.ok(await timerRan);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    assert.ok(outcome.reason instanceof TransportError);
    assert.equal(outcome.reason.code, "closed");
  }
  await a.close();
});
