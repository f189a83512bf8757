/**
 * Webhooks as a way out of the server, abused: URLs pointing inward (loopback, private,
 * link-local metadata, names resolving there), URLs with credentials or other schemes, the allow
 * list; an endpoint that redirects, one that answers with an endless body, one that never
 * answers; an identity whose endpoint is down filling its outbox. And the `/webhook` resource's
 * own rules: accounts only, secret never returned, short secrets refused.
 */
import assert from "node:assert/strict";
import { Message } from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { HttpTestServer, keyAuthorization } from "../http/http_helpers.ts";
import { BotEndpoint, eventually, SECRET, setWebhook } from "../http/webhook_helpers.ts";
import { connect } from "../server_test_helpers.ts";

const BOT = "bot@localhost";
const BOB = "bob@localhost";
const botKey = keyAuthorization(BOT, "bot-key");
const TYPE = "application/vnd.lime.webhook+json";

async function setRaw(t: HttpTestServer, resource: Record<string, unknown>) {
  return await t.post(
    "/commands",
    { method: "set", uri: "/webhook", type: TYPE, resource },
    botKey,
  );
}

Deno.test("Webhooks refuse URLs that point inward, carry credentials or use other schemes", async () => {
  await using t = await HttpTestServer.start({
    webhooks: {
      resolve: (host) =>
        Promise.resolve(
          host === "inside.test" ? ["10.1.2.3"] : host === "outside.test" ? ["93.184.216.34"] : [],
        ),
    },
  });
  await t.addAccount(BOT, "pw", "bot-key");
  for (
    const url of [
      "http://127.0.0.1:8080/hook",
      "http://localhost/hook",
      "http://10.0.0.1/hook",
      "http://192.168.1.1/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/hook",
      "http://[::ffff:127.0.0.1]/hook",
      "http://[fd00::1]/hook",
      "http://inside.test/hook",
      "http://nowhere.test/hook",
      "http://user:pass@outside.test/hook",
      "ftp://outside.test/hook",
      "not a url",
    ]
  ) {
    const answer = await setRaw(t, { messagesUrl: url, secret: SECRET });
    assert.equal(answer.body?.status, "failure", url);
    assert.equal((answer.body?.reason as { code: number }).code, 64, url);
  }
  // Longer than the document allows: the envelope itself is refused.
  const long = await setRaw(t, {
    messagesUrl: `https://outside.test/${"a".repeat(2100)}`,
    secret: SECRET,
  });
  assert.equal(long.status, 400);
  const ok = await setRaw(t, { messagesUrl: "https://outside.test/hook", secret: SECRET });
  assert.equal(ok.body?.status, "success", ok.text);
});

Deno.test("Webhooks with allowedHosts accept only those hosts", async () => {
  await using t = await HttpTestServer.start({ webhooks: { allowedHosts: ["127.0.0.1:9"] } });
  await t.addAccount(BOT, "pw", "bot-key");
  assert.equal(
    (await setRaw(t, { messagesUrl: "http://127.0.0.1:9/", secret: SECRET })).body?.status,
    "success",
  );
  assert.equal(
    (await setRaw(t, { messagesUrl: "http://127.0.0.1:10/", secret: SECRET })).body?.status,
    "failure",
  );
});

Deno.test("webhookResource is for accounts, never returns the secret, refuses a short one", async () => {
  await using t = await HttpTestServer.start({ webhooks: { allowPrivateAddresses: true } });
  await t.addAccount(BOT, "pw", "bot-key");
  const short = await setRaw(t, { messagesUrl: "http://127.0.0.1:9/", secret: "short" });
  assert.equal((short.body?.reason as { code: number }).code, 64);
  const noUrl = await setRaw(t, { secret: SECRET });
  assert.equal((noUrl.body?.reason as { code: number }).code, 64);
  await setWebhook(t, BOT, "bot-key", { messagesUrl: "http://127.0.0.1:9/", always: true });
  const got = await t.post("/commands", { method: "get", uri: "/webhook" }, botKey);
  assert.deepEqual(got.body?.resource, { messagesUrl: "http://127.0.0.1:9/", always: true });
  assert.ok(!got.text.includes(SECRET));
  assert.equal(
    (await t.post("/commands", { method: "delete", uri: "/webhook" }, botKey)).body?.status,
    "success",
  );
  const gone = await t.post("/commands", { method: "get", uri: "/webhook" }, botKey);
  assert.equal((gone.body?.reason as { code: number }).code, 67);
  // A guest session may not have one.
  const guest = await connect(t.server.tcpAddress!, "tcp");
  t.clients.push(guest);
  await guest.establishSession({ identity: "visitor@localhost", instance: "x" });
  const { Command } = await import("../../mod.ts");
  const refused = await guest.processCommand(
    new Command("set", "/webhook", {
      id: "w1",
      type: TYPE,
      resource: { messagesUrl: "http://127.0.0.1:9/", secret: SECRET },
    }),
  );
  assert.equal(refused.status, "failure");
  assert.equal(refused.reason?.code, 66);
});

async function withBot(
  handle: (request: Request) => Response | Promise<Response>,
  webhooks: Record<string, unknown>,
  run: (t: HttpTestServer, bot: BotEndpoint) => Promise<void>,
) {
  await using t = await HttpTestServer.start({
    webhooks: { allowPrivateAddresses: true, retryDelays: [50], ...webhooks },
  });
  await t.addAccount(BOT, "pw", "bot-key");
  await t.addAccount(BOB, "bob-pw");
  await using bot = new BotEndpoint(handle);
  await setWebhook(t, BOT, "bot-key", { messagesUrl: bot.url });
  await run(t, bot);
}

Deno.test("Webhooks do not follow a redirect: the sender is told failed", async () => {
  await using target = new BotEndpoint(() => new Response("ok"));
  await withBot(() => Response.redirect(`${target.url}/elsewhere`, 307), {}, async (t, bot) => {
    const bob = await t.login(`${BOB}/phone`, "bob-pw");
    await bob.sendMessage(new Message("text/plain", "x", { id: "r1", to: BOT }));
    const failed = await within(bob.receiveNotification(), 5000, "failed");
    assert.equal(failed.reason?.code, 51);
    assert.match(failed.reason?.description ?? "", /redirect/);
    assert.equal(bot.requests.length, 1);
    assert.equal(target.requests.length, 0);
  });
});

Deno.test("Webhooks read at most maxResponseBytes of an endless answer", async () => {
  let pulled = 0;
  const endless = () =>
    new Response(
      new ReadableStream({
        pull(controller) {
          pulled += 64 * 1024;
          controller.enqueue(new Uint8Array(64 * 1024));
        },
      }),
    );
  await withBot(endless, { maxResponseBytes: 128 * 1024 }, async (t) => {
    const bob = await t.login(`${BOB}/phone`, "bob-pw");
    await bob.sendMessage(new Message("text/plain", "x", { id: "e1", to: BOT }));
    await eventually(() => pulled > 0, 5000, "the answer");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(pulled < 8 * 1024 * 1024, `${pulled} bytes were produced`);
  });
});

Deno.test("Webhooks give up on an endpoint that never answers after the timeout, per attempt", async () => {
  const hanging: (() => void)[] = [];
  await withBot(
    () => new Promise<Response>((resolve) => hanging.push(() => resolve(new Response("late")))),
    { timeout: 150, retryDelays: [30] },
    async (t, bot) => {
      const bob = await t.login(`${BOB}/phone`, "bob-pw");
      await bob.sendMessage(new Message("text/plain", "x", { id: "h1", to: BOT }));
      const failed = await within(bob.receiveNotification(), 5000, "failed");
      assert.match(failed.reason?.description ?? "", /within 150 ms/);
      assert.equal(bot.requests.length, 2);
      for (const release of hanging) release();
    },
  );
});

Deno.test("Webhooks refuse at once what an identity's full outbox cannot take", async () => {
  await withBot(
    () => new Response("down", { status: 503 }),
    { maxPendingPerIdentity: 2, retryDelays: [60_000] },
    async (t) => {
      const bob = await t.login(`${BOB}/phone`, "bob-pw");
      for (const id of ["p1", "p2", "p3"]) {
        await bob.sendMessage(new Message("text/plain", "x", { id, to: BOT }));
      }
      const failed = await within(bob.receiveNotification(), 5000, "failed");
      assert.equal(failed.id, "p3");
      assert.equal(failed.reason?.code, 51);
      assert.match(failed.reason?.description ?? "", /does not read what it is sent/);
    },
  );
});
