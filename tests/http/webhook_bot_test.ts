/**
 * webhookBot's checks on what reaches it: a valid signed delivery runs the handler once; a
 * tampered body, a wrong secret, a stale or future timestamp are refused (401); the same request
 * again is a replay (409); the server's retry of a handled delivery is answered without running
 * the handler again; oversize, bad JSON and other methods are refused; the context's reply goes
 * through the HTTP API client.
 */
import assert from "node:assert/strict";
import { Message, serializeEnvelope, webhookBot, webhookHeaders } from "../../mod.ts";

const SECRET = "the-bot-secret-0123456789";

function delivery(body: string, options: { id?: string; now?: number; secret?: string } = {}) {
  return webhookHeaders(
    options.secret ?? SECRET,
    options.id ?? crypto.randomUUID(),
    body,
    options.now ?? Date.now(),
  );
}

function post(headers: Record<string, string>, body: string) {
  return new Request("http://bot.test/webhook", { method: "POST", headers, body });
}

function bot(onMessage: (message: Message) => unknown, sent: Request[] = []) {
  return webhookBot({
    secret: SECRET,
    server: "http://lime.test",
    identity: "bot@localhost",
    key: "k",
    onMessage: (message) => onMessage(message),
    fetch: (input, init) => {
      sent.push(new Request(input as string, init));
      const path = new URL(input as string).pathname;
      return Promise.resolve(
        new Response(JSON.stringify({ id: "reply-id" }), {
          status: path === "/commands" ? 200 : 202,
        }),
      );
    },
  });
}

const body = serializeEnvelope(
  new Message("text/plain", "hi", { id: "m1", from: "bob@localhost/phone", to: "bot@localhost" }),
);

Deno.test("webhookBot runs the handler for a signed delivery and sends received and consumed", async () => {
  const seen: Message[] = [];
  const sent: Request[] = [];
  const handler = bot((message) => void seen.push(message), sent);
  const response = await handler(post(await delivery(body), body));
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal(seen.length, 1);
  assert.equal(seen[0].content, "hi");
  const receipts = await Promise.all(sent.map((request) => request.json()));
  assert.deepEqual(receipts.map((r) => [r.event, r.id, r.to]), [
    ["received", "m1", "bob@localhost/phone"],
    ["consumed", "m1", "bob@localhost/phone"],
  ]);
  assert.match(sent[0].headers.get("authorization") ?? "", /^Key /);
});

Deno.test("webhookBot refuses a tampered body, a wrong secret and stale or future timestamps with 401", async () => {
  let calls = 0;
  const handler = bot(() => calls++);
  const signed = await delivery(body);
  const cases: [Record<string, string>, string][] = [
    [signed, body.replace("hi", "ho")],
    [await delivery(body, { secret: "another-secret-of-enough-length" }), body],
    [await delivery(body, { now: Date.now() - 10 * 60_000 }), body],
    [await delivery(body, { now: Date.now() + 10 * 60_000 }), body],
    [{ ...signed, "x-lime-signature": "v1=00" }, body],
    [{ "content-type": "application/json" }, body],
  ];
  for (const [headers, text] of cases) {
    const response = await handler(post(headers, text));
    assert.equal(response.status, 401, await response.text());
  }
  assert.equal(calls, 0);
});

Deno.test("webhookBot refuses the same request twice (a replay) with 409", async () => {
  let calls = 0;
  const handler = bot(() => calls++);
  const headers = await delivery(body);
  assert.equal((await handler(post(headers, body))).status, 200);
  const replay = await handler(post(headers, body));
  assert.equal(replay.status, 409);
  await replay.body?.cancel();
  assert.equal(calls, 1);
});

Deno.test("webhookBot answers the server's retry of a handled delivery without running the handler again", async () => {
  let calls = 0;
  const handler = bot(() => calls++);
  const id = crypto.randomUUID();
  assert.equal((await handler(post(await delivery(body, { id }), body))).status, 200);
  const retry = await handler(post(await delivery(body, { id, now: Date.now() + 1000 }), body));
  assert.equal(retry.status, 200);
  assert.match(await retry.text(), /already/);
  assert.equal(calls, 1);
});

Deno.test("webhookBot answers 500 when the handler throws, and runs it again on the retry", async () => {
  let calls = 0;
  const handler = webhookBot({
    secret: SECRET,
    server: "http://lime.test",
    identity: "bot@localhost",
    key: "k",
    receipts: false,
    onError: () => {},
    onMessage: () => {
      if (++calls === 1) throw new Error("first time");
    },
  });
  const id = crypto.randomUUID();
  assert.equal((await handler(post(await delivery(body, { id }), body))).status, 500);
  assert.equal(
    (await handler(post(await delivery(body, { id, now: Date.now() + 1000 }), body))).status,
    200,
  );
  assert.equal(calls, 2);
});

Deno.test("webhookBot refuses other methods, oversize bodies and invalid envelopes", async () => {
  const handler = bot(() => assert.fail("no handler call"));
  assert.equal((await handler(new Request("http://bot.test/", { method: "GET" }))).status, 405);
  const big = `{"type":"text/plain","content":"${"x".repeat(2 * 1024 * 1024)}"}`;
  assert.equal((await handler(post(await delivery(big), big))).status, 413);
  const invalid = '{"type":"text/plain","to":"a b"}';
  assert.equal((await handler(post(await delivery(invalid), invalid))).status, 400);
});

Deno.test("webhookBot's context replies to the sender through the HTTP API", async () => {
  const sent: Request[] = [];
  const handler = webhookBot({
    secret: SECRET,
    server: "http://lime.test/",
    identity: "bot@localhost",
    key: "k",
    receipts: false,
    onMessage: async (message, context) => {
      assert.equal(await context.reply(`echo ${message.content}`), "reply-id");
      await context.reply({ ok: true });
    },
    fetch: (input, init) => {
      sent.push(new Request(input as string, init));
      return Promise.resolve(new Response('{"id":"reply-id"}', { status: 202 }));
    },
  });
  assert.equal((await handler(post(await delivery(body), body))).status, 200);
  const [text, json] = await Promise.all(sent.map((request) => request.json()));
  assert.equal(sent[0].url, "http://lime.test/messages");
  assert.deepEqual([text.type, text.content, text.to], [
    "text/plain",
    "echo hi",
    "bob@localhost/phone",
  ]);
  assert.deepEqual([json.type, json.content], ["application/json", { ok: true }]);
});
