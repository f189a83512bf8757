/**
 * `closed` of channels and transports is made when first asked for (a server never asks for most
 * of them): asked before or after the end, it resolves with how it ended, and it is one promise.
 */
import assert from "node:assert/strict";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { MemoryTransport } from "../src/transport/memory.ts";
import { within } from "./tcp_helpers.ts";

Deno.test("transport closed: the same promise before and after the end, with how it ended", async () => {
  const [a, b] = MemoryTransport.pair();
  const early = a.closed;
  assert.equal(a.closed, early);
  await a.close();
  assert.deepEqual(await within(early), { by: "local" });
  // Never asked for before the end: made resolved.
  const late = b.closed;
  assert.equal((await within(late)).by, "remote");
  assert.equal(b.closed, late);
});

Deno.test("channel closed: asked for only after the end, it resolves with how it ended", async () => {
  const [a, b] = MemoryTransport.pair();
  const channel = new ClientChannel(a);
  channel.abort(new Error("gone"));
  await within(a.closed);
  const info = await within(channel.closed);
  assert.equal(info.state, "new");
  assert.equal(info.error?.message, "gone");
  assert.equal(channel.closed, channel.closed);
  await b.close();
});
