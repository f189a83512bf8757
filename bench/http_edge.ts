/**
 * The HTTP edge against its floors, on loopback, each ratio from the same run:
 *
 * 1. **HTTP API**: `POST /messages` (a ~200 B `text/plain` message, `Authorization: Key`) routed
 *    to a session over TCP, by `--concurrency` keep-alive clients (default 16) for `--duration`
 *    seconds (default 5, after 1 s of warm-up): messages/s, p50 and p99 latency, next to a bare
 *    `Deno.serve` that reads the same body, `JSON.parse`s it and answers 202. The servers run in
 *    their own process (`http_edge_peer.ts`), the clients in this one.
 * 2. **Webhook deliveries**: a LimeServer in this process (webhooks in an in-memory Deno KV)
 *    delivers `--messages` messages (default 1,000: at most `maxPendingPerIdentity` wait for one
 *    bot) sent by a session to bots whose webhooks all
 *    point to one endpoint in another process (answers 200): one bot (in order, one at a time)
 *    and `--bots` bots (default 16, one lane each), next to plain `fetch` POSTs of the same
 *    bodies to the same endpoint, one at a time and `--bots` at a time.
 *
 * `deno task bench:http [--duration=5] [--concurrency=16] [--messages=1000] [--bots=16]`
 * @module
 */
import {
  ClientChannel,
  hashPassword,
  keyAuthorization,
  KvAccountStore,
  LimeServer,
  Message,
  plainCredentials,
  serializeEnvelope,
  TcpTransport,
} from "../mod.ts";
import { numberOption } from "./cli_option.ts";

const option = (name: string, fallback: number) => numberOption(name, fallback);

const DURATION = option("duration", 5);
const CONCURRENCY = option("concurrency", 16);
const MESSAGES = option("messages", 1000);
const BOTS = option("bots", 16);
const PEER = new URL("./http_edge_peer.ts", import.meta.url).pathname;

/** Spawns the peer in `mode`; resolves with its port and a stop function. */
async function peer(mode: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--config=${new URL("../deno.json", import.meta.url).pathname}`,
      PEER,
      mode,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/port (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the ${mode} peer exited`);
    text += value;
  }
  return {
    port: Number(/port (\d+)/.exec(text)![1]),
    async stop() {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** `CONCURRENCY` loops POSTing `body` to `url` for warm-up + `DURATION` seconds. */
async function load(url: string, headers: Record<string, string>, body: () => string) {
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const started = performance.now();
      const response = await fetch(url, { method: "POST", headers, body: body() });
      await response.body?.cancel();
      if (response.status !== 202) throw new Error(`HTTP ${response.status}`);
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, loop);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, DURATION * 1000));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

let counter = 0;
const messageBody = () =>
  serializeEnvelope(
    new Message("text/plain", "x".repeat(120), { id: `m${++counter}`, to: "bob@localhost" }),
  );

async function httpApi() {
  const rows: string[] = [];
  const results: Record<string, { rate: number; p50: number; p99: number }> = {};
  for (const mode of ["bare", "lime"]) {
    const server = await peer(mode);
    try {
      results[mode] = await load(
        `http://127.0.0.1:${server.port}/messages`,
        {
          "content-type": "application/json",
          authorization: keyAuthorization("alice@localhost", "alice-key"),
        },
        messageBody,
      );
    } finally {
      await server.stop();
    }
  }
  const { bare, lime } = results;
  rows.push(
    `| bare Deno.serve (JSON.parse, 202) | ${bare.rate.toFixed(0)} | ${bare.p50.toFixed(2)} | ${
      bare.p99.toFixed(2)
    } | 1.00 |`,
    `| HTTP API POST /messages, routed | ${lime.rate.toFixed(0)} | ${lime.p50.toFixed(2)} | ${
      lime.p99.toFixed(2)
    } | ${(lime.rate / bare.rate).toFixed(2)} |`,
  );
  console.log(`\nHTTP API, ${CONCURRENCY} keep-alive clients, ${DURATION} s\n`);
  console.log("| server | messages/s | p50 ms | p99 ms | ratio |");
  console.log("| ------ | ---------: | -----: | -----: | ----: |");
  for (const row of rows) console.log(row);
}

async function webhooks() {
  const sink = await peer("sink");
  const store = await KvAccountStore.open(":memory:");
  const server = new LimeServer({
    store,
    tcp: { hostname: "127.0.0.1", port: 0 },
    websocket: false,
    http: false,
    rateLimit: false,
    webhooks: { allowPrivateAddresses: true },
    passwordIterations: 1000,
  });
  const sinkUrl = `http://127.0.0.1:${sink.port}/`;
  const count = async () => Number(await (await fetch(sinkUrl)).text());
  try {
    await server.start();
    await store.createAccount({
      identity: "sender@localhost",
      document: {},
      passwordHash: await hashPassword("pw", 1000),
    });
    const bots = Array.from({ length: BOTS }, (_, i) => `bot${i}@localhost`);
    const { Command } = await import("../mod.ts");
    const transport = new TcpTransport();
    await transport.open(`net.tcp://${server.tcpAddress}`);
    await using sender = new ClientChannel(transport);
    await sender.establishSession({
      identity: "sender@localhost",
      instance: "bench",
      credentials: plainCredentials("pw"),
    });
    for (const bot of bots) {
      await store.createAccount({
        identity: bot,
        document: {},
        passwordHash: await hashPassword("pw", 1000),
      });
      const transport = new TcpTransport();
      await transport.open(`net.tcp://${server.tcpAddress}`);
      await using session = new ClientChannel(transport);
      await session.establishSession({
        identity: bot,
        instance: "setup",
        credentials: plainCredentials("pw"),
      });
      const set = await session.processCommand(
        new Command("set", "/webhook", {
          id: crypto.randomUUID(),
          type: "application/vnd.lime.webhook+json",
          resource: { messagesUrl: sinkUrl, secret: "bench-secret-0123456789" },
        }),
      );
      if (set.status !== "success") throw new Error(JSON.stringify(set));
      await session.finish();
    }
    const body = (to: string) =>
      serializeEnvelope(new Message("text/plain", "x".repeat(120), { to }));
    const results: string[] = [];
    for (const lanes of [1, BOTS]) {
      // Webhook deliveries: MESSAGES spread over `lanes` bots.
      const before = await count();
      const started = performance.now();
      let failed = 0;
      const stopCounting = sender.onNotification((notification) => {
        if (notification.event === "failed") failed++;
      });
      for (let i = 0; i < MESSAGES; i++) {
        await sender.sendMessage(
          new Message("text/plain", "x".repeat(120), {
            id: `w${lanes}-${i}`,
            to: bots[i % lanes],
          }),
        );
      }
      // Each message is delivered or its failure is reported (an id asks for that).
      const deadline = Date.now() + 120_000;
      while ((await count()) + failed < before + MESSAGES) {
        if (Date.now() > deadline) throw new Error("webhook deliveries stalled for 120 s");
        await new Promise((r) => setTimeout(r, 20));
      }
      stopCounting();
      if (failed) {
        throw new Error(
          `${failed} of ${MESSAGES} deliveries failed (over WebhookOptions.maxPendingPerIdentity?)`,
        );
      }
      const webhookRate = MESSAGES / ((performance.now() - started) / 1000);
      // Plain fetch POSTs of the same bodies, `lanes` at a time.
      const fetchStarted = performance.now();
      await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < MESSAGES; i += lanes) {
          const response = await fetch(sinkUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: body(bots[lane]),
          });
          await response.body?.cancel();
        }
      }));
      const fetchRate = MESSAGES / ((performance.now() - fetchStarted) / 1000);
      results.push(
        `| ${lanes} | ${webhookRate.toFixed(0)} | ${fetchRate.toFixed(0)} | ${
          (webhookRate / fetchRate).toFixed(2)
        } |`,
      );
    }
    console.log(`\nWebhook deliveries of ${MESSAGES} messages (~200 B), to one endpoint\n`);
    console.log("| bots (lanes) | webhook deliveries/s | plain fetch POSTs/s | ratio |");
    console.log("| -----------: | -------------------: | ------------------: | ----: |");
    for (const row of results) console.log(row);
    await sender.finish();
  } finally {
    await server.shutdown();
    store.close();
    await sink.stop();
  }
}

await httpApi();
await webhooks();
