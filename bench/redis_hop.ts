/**
 * The physical limit of a cross-server hop, for `cluster_load.ts`: the same bytes through
 * XADD → XREADGROUP → XACK with node-redis and no LIME code, one producer process and one consumer
 * process (as a cross-server message has a sending and a receiving server). The producer keeps
 * at most `--window` entries between its XADD and the consumer's XACK (the consumer adds what it
 * acknowledged to a counter key once per batch), issuing XADDs in batches of 256 like a server
 * routing what one read of a sender's socket brought. With `--batch=N`, each entry carries N
 * messages the way the cluster engine batches them (node and tracking-id lists, lengths, the
 * texts one after the other); the consumer splits them. Counts are messages, not entries.
 *
 * `deno run -A bench/redis_hop.ts --url=redis://… --role=producer|consumer --stream=KEY
 *  --bytes=N --window=N [--batch=N] --from=EPOCH_MS --until=EPOCH_MS`
 *
 * Counts the entries it handled between `--from` and `--until` (wall clock), then prints
 * `{"count":N,"cpuMs":N}` (CPU over that span) and exits.
 * @module
 */
import process from "node:process";
import { createClient } from "npm:redis@6.4.0";

const arg = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? "";
const url = arg("url");
const role = arg("role");
const stream = arg("stream");
const window = Number(arg("window") || 2048);
const from = Number(arg("from"));
const until = Number(arg("until"));
const payload = "x".repeat(Number(arg("bytes") || 225));
const batch = Number(arg("batch") || 1);
const node = "r@localhost/x";
const fields = batch === 1
  ? ["n", JSON.stringify([node]), "k", '[""]', "l", String(payload.length), "b", payload]
  : [
    "n",
    JSON.stringify(new Array(batch).fill(node)),
    "k",
    JSON.stringify(new Array(batch).fill("")),
    "l",
    new Array(batch).fill(payload.length).join(","),
    "b",
    payload.repeat(batch),
  ];

const client = createClient({ url, RESP: 2 });
client.on("error", () => {});
await client.connect();
const call = <T>(args: (string | number)[]) => client.sendCommand(args.map(String)) as Promise<T>;

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
let counted = 0;
let cpuAtStart = 0;
let measuring = false;
const tick = (n: number) => {
  const now = Date.now();
  if (!measuring && now >= from && now < until) {
    measuring = true;
    cpuAtStart = cpuMs();
  }
  if (measuring && now < until) counted += n;
};

if (role === "consumer") {
  await call(["XGROUP", "CREATE", stream, "g", "0", "MKSTREAM"]).catch(() => {});
  while (Date.now() < until) {
    const reply = await call<[string, [string, string[]][]][] | null>([
      "XREADGROUP",
      "GROUP",
      "g",
      "c",
      "COUNT",
      512,
      "BLOCK",
      100,
      "STREAMS",
      stream,
      ">",
    ]);
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) continue;
    // What a server does with each entry: split it into its messages.
    let messages = 0;
    for (const [, got] of entries) {
      const lengths = got[got.indexOf("l") + 1].split(",").map(Number);
      const body = got[got.length - 1];
      let at = 0;
      for (const length of lengths) {
        if (body.slice(at, at += length).length !== length) {
          throw new Error(`bad entry ${JSON.stringify(got).slice(0, 300)}`);
        }
      }
      messages += lengths.length;
    }
    call(["XACK", stream, "g", ...entries.map(([id]) => id)]);
    call(["INCRBY", `${stream}:acked`, messages]);
    tick(messages);
  }
} else {
  let produced = 0;
  let acked = 0;
  while (Date.now() < until) {
    if (produced - acked >= window) {
      acked = Number(await call<string | null>(["GET", `${stream}:acked`]) ?? 0);
      if (produced - acked >= window) await new Promise((resolve) => setTimeout(resolve, 0));
      continue;
    }
    const n = Math.min(256, window - (produced - acked));
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < n; i += batch) {
      adds.push(call(["XADD", stream, "*", "t", "e", "o", "s1", "h", 0, ...fields]));
    }
    const sent = Math.ceil(n / batch) * batch;
    produced += sent;
    await Promise.all(adds);
    tick(sent);
  }
}
const spent = cpuMs() - cpuAtStart;
console.log(JSON.stringify({ count: counted, cpuMs: spent }));
client.destroy();
