/**
 * One conformance suite for every transport: a factory makes a connected pair, and the same
 * tests run against it (MQTT.js style: one abstract suite per transport).
 * @module
 */
import assert from "node:assert/strict";
import { Message } from "../src/envelope.ts";
import type { Envelope } from "../src/envelope.ts";
import { TransportError } from "../src/transport/errors.ts";
import type { Transport } from "../src/transport/transport.ts";

/** A connected pair and how to release what the factory made besides the two transports. */
export interface TransportPair {
  client: Transport;
  server: Transport;
  dispose(): Promise<void>;
}

/** Makes a connected pair with the given maximum envelope size. */
export type PairFactory = (options: { maxEnvelopeSize?: number }) => Promise<TransportPair>;

async function withPair(
  factory: PairFactory,
  options: { maxEnvelopeSize?: number },
  body: (p: TransportPair) => Promise<void>,
) {
  const pair = await factory(options);
  try {
    await body(pair);
  } finally {
    await Promise.allSettled([pair.client.close(), pair.server.close()]);
    await pair.dispose();
  }
}

async function take(transport: Transport, count: number): Promise<Envelope[]> {
  const out: Envelope[] = [];
  if (count === 0) return out;
  for await (const envelope of transport) {
    out.push(envelope);
    if (out.length === count) break;
  }
  return out;
}

/** Registers the conformance tests for one transport kind. */
export function transportConformance(name: string, factory: PairFactory): void {
  Deno.test(`${name} conformance: 10,000 envelopes each way at once arrive complete and in order`, async () => {
    await withPair(factory, {}, async ({ client, server }) => {
      const n = 10_000;
      const toServer = take(server, n);
      const toClient = take(client, n);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        sends.push(client.send(new Message("text/plain", `c${i}`, { id: `c${i}` })));
        sends.push(server.send(new Message("text/plain", `s${i}`, { id: `s${i}` })));
      }
      await Promise.all(sends);
      const [atServer, atClient] = await Promise.all([toServer, toClient]);
      assert.deepEqual(atServer.map((e) => e.id), Array.from({ length: n }, (_, i) => `c${i}`));
      assert.deepEqual(atClient.map((e) => e.id), Array.from({ length: n }, (_, i) => `s${i}`));
    });
  });

  Deno.test(`${name} conformance: a 1 MiB envelope round-trips`, async () => {
    await withPair(factory, {}, async ({ client, server }) => {
      const big = "x".repeat(1024 * 1024) + "é😀";
      const received = take(server, 1);
      await client.send(new Message("text/plain", big, { id: "big" }));
      const [envelope] = await received;
      assert.equal((envelope as Message).content, big);
      const back = take(client, 1);
      await server.send(envelope);
      assert.equal(((await back)[0] as Message).content, big);
    });
  });

  Deno.test(`${name} conformance: an oversize envelope is refused and the transport still works`, async () => {
    await withPair(factory, { maxEnvelopeSize: 64 * 1024 }, async ({ client, server }) => {
      await assert.rejects(
        client.send(new Message("text/plain", "y".repeat(64 * 1024))),
        (e) => e instanceof TransportError && e.code === "too-large",
      );
      assert.ok(client.isConnected);
      const received = take(server, 1);
      await client.send(new Message("text/plain", "still here", { id: "after" }));
      assert.equal((await received)[0].id, "after");
    });
  });

  for (const closer of ["client", "server"] as const) {
    Deno.test(`${name} conformance: a close by the ${closer} is seen by the other side`, async () => {
      await withPair(factory, {}, async (pair) => {
        const [closing, other] = closer === "client"
          ? [pair.client, pair.server]
          : [pair.server, pair.client];
        await closing.close();
        assert.equal((await closing.closed).by, "local");
        assert.equal((await other.closed).by, "remote");
        assert.equal(other.isConnected, false);
        // The other side's iterator ends.
        for await (const _ of other) assert.fail("no envelope after close");
      });
    });
  }

  Deno.test(`${name} conformance: sends pending at close reject cleanly, later sends reject as closed`, async () => {
    await withPair(factory, {}, async ({ client }) => {
      const pending = Array.from(
        { length: 200 },
        (_, i) => client.send(new Message("text/plain", `p${i}`)),
      );
      const closing = client.close();
      const results = await Promise.allSettled(pending);
      await closing;
      for (const r of results) {
        if (r.status === "rejected") {
          assert.ok(r.reason instanceof TransportError, String(r.reason));
          assert.equal(r.reason.code, "closed");
        }
      }
      await assert.rejects(
        client.send(new Message("text/plain", "late")),
        (e) => e instanceof TransportError && e.code === "closed",
      );
    });
  });
}
