/**
 * The whole way, with nothing of this module on the sending side: the npm client lime-js (under
 * Node, `limejs_npm.ts`) signs in to `deno task start` over WebSocket and sends a message to an
 * identity whose webhook is a real bot (`webhookBot` in a `Deno.serve` on 127.0.0.1); the bot
 * replies through the HTTP API, and lime-js gets the reply and the receipts (`dispatched` from
 * the server once the bot took the delivery, `received` and `consumed` from the bot).
 */
import assert from "node:assert/strict";
import { Command, LimeHttpClient, webhookBot } from "../../mod.ts";
import { installLimeJs, LIMEJS_DIR, runWithin } from "../limejs_npm.ts";
import { StartProcess } from "../server_start_helpers.ts";
import { within } from "../tcp_helpers.ts";

const SCRIPT = `${LIMEJS_DIR}limejs_webhook_client.cjs`;
const SECRET = "limejs-webhook-secret-0123";

const CLIENT_SCRIPT = `"use strict";
// Written by tests/http/webhook_limejs_test.ts: lime-js sends a message to a webhook bot and
// prints one JSON line per message or notification it receives.
const Lime = require("lime-js");
const WebSocketTransport = require("lime-transport-websocket");
const config = JSON.parse(process.argv[2]);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\\n");
setTimeout(() => { print({ step: "watchdog" }); process.exit(3); }, 12000).unref();

(async () => {
  const transport = new WebSocketTransport();
  const channel = new Lime.ClientChannel(transport, true, false);
  await transport.open(config.url);
  await channel.establishSession("none", "none", config.identity,
    new Lime.PlainAuthentication(Buffer.from(config.password).toString("base64")), "lime-js");
  const seen = { reply: null, events: [] };
  const done = new Promise((resolve) => {
    const check = () => { if (seen.reply && seen.events.length >= 3) resolve(); };
    channel.onMessage = (message) => { print({ step: "message", message }); seen.reply = message; check(); };
    channel.onNotification = (notification) => {
      print({ step: "notification", notification });
      if (notification.id === "m1") seen.events.push(notification.event);
      check();
    };
  });
  const receipt = await channel.processCommand({
    id: "r1", method: "set", uri: "/receipt", type: "application/vnd.lime.receipt+json",
    resource: { events: ["dispatched", "received", "consumed", "failed"] },
  }, 3000);
  print({ step: "receipt", status: receipt.status });
  channel.sendMessage({ id: "m1", to: config.bot, type: "text/plain", content: "hello bot" });
  await done;
  await channel.sendFinishingSession();
  print({ step: "done" });
  process.exit(0);
})().catch((error) => { print({ step: "error", message: String(error && error.stack || error) }); process.exit(1); });
`;

Deno.test("webhookBot answers a lime-js client through deno task start: reply and receipts", async () => {
  await installLimeJs();
  await Deno.writeTextFile(SCRIPT, CLIENT_SCRIPT);
  let handler: (request: Request) => Promise<Response> = () =>
    Promise.resolve(new Response("not yet", { status: 503 }));
  const botServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => handler(request),
  ) as Deno.HttpServer<Deno.NetAddr>;
  const botUrl = `http://127.0.0.1:${botServer.addr.port}`;
  try {
    await using server = new StartProcess([
      "--tcp=off",
      "--ws=127.0.0.1:0",
      "--http=127.0.0.1:0",
      "--data=:memory:",
      `--webhook-hosts=127.0.0.1:${botServer.addr.port}`,
    ], { LIME_ACCOUNTS: "bot@localhost:bot-password\nalice@localhost:alice-password" });
    const exited = () => server.exited;
    const ws = (await within(server.stdout.find(/WebSocket\s+(ws:\/\/\S+)/, exited)))[1];
    const http = (await within(server.stdout.find(/HTTP\s+(http:\/\/\S+)/, exited)))[1];
    const seen: string[] = [];
    handler = webhookBot({
      secret: SECRET,
      server: http,
      identity: "bot@localhost",
      password: "bot-password",
      onMessage: async (message, context) => {
        seen.push(String(message.content));
        await context.reply(`echo: ${message.content}`);
      },
    });
    const client = new LimeHttpClient({
      url: http,
      identity: "bot@localhost",
      password: "bot-password",
    });
    const set = await client.processCommand(
      new Command("set", "/webhook", {
        type: "application/vnd.lime.webhook+json",
        resource: { messagesUrl: botUrl, notificationsUrl: botUrl, secret: SECRET },
      }),
    );
    assert.equal(set.status, "success", JSON.stringify(set));
    const output = await runWithin(
      "node",
      [
        SCRIPT,
        JSON.stringify({
          url: ws,
          identity: "alice@localhost",
          password: "alice-password",
          bot: "bot@localhost",
        }),
      ],
      15_000,
      LIMEJS_DIR,
    );
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n").map((line) =>
      JSON.parse(line)
    );
    const transcript = JSON.stringify(lines, null, 1) + new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, transcript);
    const reply = lines.find((line) => line.step === "message")?.message;
    assert.equal(reply?.content, "echo: hello bot", transcript);
    assert.equal(reply?.from, "bot@localhost/http");
    const events = lines.filter((line) =>
      line.step === "notification" && line.notification.id === "m1"
    )
      .map((line) => line.notification.event).sort();
    assert.deepEqual(events, ["consumed", "dispatched", "received"], transcript);
    assert.deepEqual(seen, ["hello bot"]);
  } finally {
    await botServer.shutdown();
  }
});
