/**
 * A client channel receiving messages one `receiveMessage({ signal })` at a time, every call with
 * the same signal, as a bot passes its one stop signal to each receive: prints the time per
 * receive for the first and the last tenth of the run. Each wait used to leave an abort listener
 * on the signal, so the later receives cost more than the earlier ones; they should cost the same.
 * Over a memory transport pair (no socket: the channel's own cost). `--root=DIR`: the checkout
 * whose `src/` to load (default this one), to compare two commits from one script.
 *
 * `deno run -A bench/receive_on_signal.ts [--messages=50000] [--root=/tmp/other-checkout]`
 * @module
 */
import { parseArgs } from "node:util";
import { checkoutLoader } from "./checkout.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { messages: { type: "string", default: "50000" }, root: { type: "string" } },
});
const count = Number(values.messages);
if (!Number.isSafeInteger(count) || count < 10) throw new Error("--messages: a whole number ≥ 10");
const load = checkoutLoader(values.root);
const { ClientChannel } = await load(
  "src/channel/client_channel.ts",
) as typeof import("../src/channel/client_channel.ts");
const { Message, Session } = await load("src/envelope.ts") as typeof import("../src/envelope.ts");
const { MemoryTransport } = await load(
  "src/transport/memory.ts",
) as typeof import("../src/transport/memory.ts");

const [clientTransport, peer] = MemoryTransport.pair();
const fromClient: unknown[] = [];
peer.onEnvelope((envelope) => void fromClient.push(envelope));
const client = new ClientChannel(clientTransport);
const establishing = client.establishSession({ identity: "bot@example.org", instance: "bench" });
const server = "postmaster@example.org/server";
while (fromClient.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
await peer.send(
  new Session("authenticating", { id: "s1", from: server, schemeOptions: ["guest"] }),
);
while (fromClient.length === 1) await new Promise((resolve) => setTimeout(resolve, 1));
await peer.send(
  new Session("established", { id: "s1", from: server, to: "bot@example.org/bench" }),
);
await establishing;

const signal = new AbortController().signal;
const tenth = Math.floor(count / 10);
const stamps: number[] = [];
for (let i = 0; i < count; i++) {
  if (i % tenth === 0) stamps.push(performance.now());
  const receiving = client.receiveMessage({ signal });
  await peer.send(new Message("text/plain", `m${i}`));
  await receiving;
}
stamps.push(performance.now());
const perReceive = (from: number) => ((stamps[from + 1] - stamps[from]) * 1000 / tenth).toFixed(1);
console.log(
  `${count} receives on one signal (${values.root ?? "this checkout"}): ` +
    `${(stamps.at(-1)! - stamps[0]).toFixed(0)} ms in all; ${perReceive(0)} µs per receive in ` +
    `the first tenth, ${perReceive(stamps.length - 2)} µs in the last`,
);
await client.close();
