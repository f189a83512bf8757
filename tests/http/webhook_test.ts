/**
 * Webhooks against real sockets: a session client sends to an identity that has a webhook, the
 * server POSTs it (signed) to a bot endpoint on 127.0.0.1, the bot answers through the HTTP API;
 * retries in order and once, `failed` to the sender after the last retry, deliveries pending
 * across a restart, and when the webhook gets identity traffic.
 */
import assert from "node:assert/strict";
import {
  Command,
  KvAccountStore,
  LimeServer,
  Message,
  type Notification,
  webhookBot,
} from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { HttpTestServer } from "./http_helpers.ts";
import { BotEndpoint, eventually, SECRET, setWebhook } from "./webhook_helpers.ts";

const BOT = "bot@localhost";
const BOB = "bob@localhost";
const RECEIPT = "application/vnd.lime.receipt+json";

async function started(options: Parameters<typeof HttpTestServer.start>[0] = {}) {
  const t = await HttpTestServer.start({
    webhooks: { allowPrivateAddresses: true, retryDelays: [50, 50], ...options.webhooks },
    ...options,
  });
  await t.addAccount(BOT, "bot-pw", "bot-key");
  await t.addAccount(BOB, "bob-pw");
  return t;
}

async function receipts(client: Awaited<ReturnType<HttpTestServer["login"]>>) {
  await client.processCommand(
    new Command("set", "/receipt", {
      id: crypto.randomUUID(),
      type: RECEIPT,
      resource: { events: ["dispatched", "received", "consumed", "failed"] },
    }),
  );
}

Deno.test("Webhooks deliver a session's message to the bot, whose reply and receipts reach the sender", async () => {
  await using t = await started();
  const seen: Message[] = [];
  await using bot = new BotEndpoint(webhookBot({
    secret: SECRET,
    server: t.url,
    identity: BOT,
    key: "bot-key",
    onMessage: async (message, context) => {
      seen.push(message);
      await context.reply(`echo: ${message.content}`);
    },
  }));
  await setWebhook(t, BOT, "bot-key", { messagesUrl: bot.url, notificationsUrl: bot.url });
  const bob = await t.login(`${BOB}/phone`, "bob-pw");
  await receipts(bob);
  const events: string[] = [];
  bob.onNotification((notification: Notification) => {
    if (notification.id === "m1") events.push(notification.event);
  });
  await bob.sendMessage(new Message("text/plain", "hello", { id: "m1", to: BOT }));
  const reply = await within(bob.receiveMessage(), 5000, "the bot's reply");
  assert.equal(reply.content, "echo: hello");
  assert.equal(reply.from, `${BOT}/http`);
  await eventually(() => events.length >= 3, 5000, "the receipts");
  assert.deepEqual([...events].sort(), ["consumed", "dispatched", "received"]);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].from, `${BOB}/phone`);
  const { headers } = bot.requests[0];
  assert.match(headers.get("x-lime-signature") ?? "", /^v1=[0-9a-f]{64}$/);
  assert.ok(headers.get("x-lime-delivery"));
});

Deno.test("Webhooks retry 500, 500, then 200: each message reaches the handler once, in order", async () => {
  await using t = await started();
  const handled: string[] = [];
  const handler = webhookBot({
    secret: SECRET,
    server: t.url,
    identity: BOT,
    key: "bot-key",
    receipts: false,
    onMessage: (message) => void handled.push(String(message.content)),
  });
  let failures = 2;
  await using bot = new BotEndpoint((request) => {
    if (failures > 0) {
      failures--;
      return new Response("down", { status: 500 });
    }
    return handler(request);
  });
  await setWebhook(t, BOT, "bot-key", { messagesUrl: bot.url });
  const bob = await t.login(`${BOB}/phone`, "bob-pw");
  for (const text of ["one", "two", "three"]) {
    await bob.sendMessage(new Message("text/plain", text, { id: text, to: BOT }));
  }
  await eventually(() => handled.length === 3, 5000, "three messages handled");
  assert.deepEqual(handled, ["one", "two", "three"]);
  assert.equal(bot.requests.length, 5);
  const deliveries = bot.requests.map((r) => r.headers.get("x-lime-delivery"));
  assert.equal(deliveries[0], deliveries[2], "the retries carry the same delivery id");
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(handled.length, 3);
});

Deno.test("Webhooks tell the sender failed (51) after the last retry when the bot stays down", async () => {
  await using t = await started();
  await using bot = new BotEndpoint(() => new Response("no", { status: 503 }));
  await setWebhook(t, BOT, "bot-key", { messagesUrl: bot.url });
  const bob = await t.login(`${BOB}/phone`, "bob-pw");
  await bob.sendMessage(new Message("text/plain", "anyone?", { id: "lost", to: BOT }));
  const failed = await within(bob.receiveNotification(), 5000, "the failed notification");
  assert.equal(failed.event, "failed");
  assert.equal(failed.id, "lost");
  assert.equal(failed.reason?.code, 51);
  assert.match(failed.reason?.description ?? "", /503.*3 attempts/);
  assert.equal(bot.requests.length, 3);
});

Deno.test("Webhooks tell the sender failed at once when the bot answers 4xx", async () => {
  await using t = await started();
  await using bot = new BotEndpoint(() => new Response("bad", { status: 400 }));
  await setWebhook(t, BOT, "bot-key", { messagesUrl: bot.url });
  const bob = await t.login(`${BOB}/phone`, "bob-pw");
  await bob.sendMessage(new Message("text/plain", "x", { id: "x1", to: BOT }));
  const failed = await within(bob.receiveNotification(), 5000, "the failed notification");
  assert.equal(failed.reason?.code, 51);
  assert.equal(bot.requests.length, 1);
});

Deno.test("Webhooks get identity traffic only while no other session is available, unless always", async () => {
  await using t = await started();
  const handled: string[] = [];
  await using bot = new BotEndpoint(webhookBot({
    secret: SECRET,
    server: t.url,
    identity: BOT,
    key: "bot-key",
    receipts: false,
    onMessage: (message) => void handled.push(String(message.content)),
  }));
  await setWebhook(t, BOT, "bot-key", { messagesUrl: bot.url });
  const bob = await t.login(`${BOB}/phone`, "bob-pw");
  const botSession = await t.login(`${BOT}/desk`, "bot-pw");
  await bob.sendMessage(new Message("text/plain", "to the session", { to: BOT }));
  assert.equal((await within(botSession.receiveMessage())).content, "to the session");
  await setWebhook(t, BOT, "bot-key", { messagesUrl: bot.url, always: true });
  await bob.sendMessage(new Message("text/plain", "to both", { to: BOT }));
  assert.equal((await within(botSession.receiveMessage())).content, "to both");
  await eventually(() => handled.includes("to both"), 5000, "the webhook's copy");
  assert.deepEqual(handled, ["to both"]);
});

Deno.test("Webhooks deliver what was pending when the server stopped, after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lime-webhook-" });
  const path = `${dir}/lime.kv`;
  const handled: string[] = [];
  let up = false;
  const startServer = async () => {
    const store = await KvAccountStore.open(path);
    const server = new LimeServer({
      store,
      tcp: { hostname: "127.0.0.1", port: 0 },
      websocket: false,
      http: { hostname: "127.0.0.1", port: 0 },
      passwordIterations: 1000,
      webhooks: { allowPrivateAddresses: true, retryDelays: [100, 100, 100, 100, 100] },
    });
    await server.start();
    return { store, server };
  };
  try {
    const first = await startServer();
    const t = { url: `http://${first.server.httpAddress}` } as HttpTestServer;
    const handler = webhookBot({
      secret: SECRET,
      server: "http://unused.invalid",
      identity: BOT,
      key: "bot-key",
      receipts: false,
      onMessage: (message) => void handled.push(String(message.content)),
    });
    await using bot = new BotEndpoint((request) =>
      up ? handler(request) : new Response("down", { status: 503 })
    );
    const { hashPassword } = await import("../../mod.ts");
    await first.store.createAccount({
      identity: BOT,
      document: {},
      passwordHash: await hashPassword("bot-pw", 1000),
      keyHash: await hashPassword("bot-key", 1000),
    });
    const post = (body: unknown) =>
      fetch(`${t.url}/commands`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Key ${btoa(`${BOT}:bot-key`)}`,
        },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const set = await post({
      method: "set",
      uri: "/webhook",
      type: "application/vnd.lime.webhook+json",
      resource: { messagesUrl: bot.url, secret: SECRET },
    });
    assert.equal(set.status, "success");
    // The bot sends itself a message through the HTTP API: routed to its webhook.
    const sent = await fetch(`${t.url}/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Key ${btoa(`${BOT}:bot-key`)}`,
      },
      body: JSON.stringify({ type: "text/plain", content: "kept", to: BOT }),
    });
    assert.equal(sent.status, 202);
    await sent.body?.cancel();
    await eventually(() => bot.requests.length >= 1, 5000, "the first attempt");
    await first.server.shutdown();
    first.store.close();
    up = true;
    const second = await startServer();
    try {
      await eventually(() => handled.length === 1, 5000, "the delivery after the restart");
      assert.deepEqual(handled, ["kept"]);
    } finally {
      await second.server.shutdown();
      second.store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
