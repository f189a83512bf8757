/**
 * `ServerSession.handedOver` in isolation: the slow-reader record of a routed message with an id,
 * for fresh parsed messages (as the server routes them), next to the `JSON.parse` of the same
 * message. `QUEUED=0` (default): the socket holds nothing, so the record keeps the last 4,096;
 * `QUEUED=4096`: it always holds something, so the record keeps every message of the last 16 MiB
 * sent (about 84,000 here), as under load. Run:
 * `QUEUED=4096 deno bench --allow-env bench/handed_over_bench.ts`.
 * @module
 */
import { ServerSession } from "../src/server/server_session.ts";
import { handedOverFixture } from "./handed_over_fixture.ts";

const fixture = handedOverFixture(ServerSession, Number(Deno.env.get("QUEUED") ?? 0));
let next = 0;

Deno.bench("handedOver: a routed message with an id (parse included)", () => {
  fixture.handOver(next++);
});

Deno.bench("baseline: JSON.parse of the same message", () => {
  fixture.parseOnly(next++);
});
