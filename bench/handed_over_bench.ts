/**
 * `ServerSession.handedOver` in isolation: the slow-reader record of a routed message with an id,
 * for fresh parsed messages (as the server routes them), next to the `JSON.parse` of the same
 * message. `QUEUED=0` (default): the socket holds nothing, so the record keeps the last 4,096;
 * `QUEUED=4096`: it always holds something, so the record keeps every message of the last 16 MiB
 * sent (about 84,000 here), as under load. Run:
 * `QUEUED=4096 deno bench --allow-env bench/handed_over_bench.ts`.
 * @module
 */
import type { ServerChannel } from "../src/channel/server_channel.ts";
import { ServerSession } from "../src/server/server_session.ts";

let sent = 0;
const queued = Number(Deno.env.get("QUEUED") ?? 0);
const channel = {
  transport: {
    get sentBytes() {
      return sent;
    },
    get queuedBytes() {
      return queued;
    },
  },
} as unknown as ServerChannel;
const sender = new ServerSession(channel, "alice@localhost/home", "member", "plain");
const target = new ServerSession(channel, "bob@localhost/home", "member", "plain");
const texts = Array.from(
  { length: 1024 },
  (_, i) =>
    `{"id":"${crypto.randomUUID()}","to":"bob@localhost/home","type":"text/plain",` +
    `"content":"message ${i}"}`,
);
let next = 0;

Deno.bench("handedOver: a routed message with an id (parse included)", () => {
  const message = JSON.parse(texts[next++ & 1023]);
  sent += 200;
  target.handedOver(sender, message);
});

Deno.bench("baseline: JSON.parse of the same message", () => {
  const message = JSON.parse(texts[next++ & 1023]);
  sent += 200;
  if (message.id === "") throw new Error("unreachable");
});
