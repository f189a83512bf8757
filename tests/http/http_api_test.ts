/**
 * The HTTP API (`POST /messages`, `/notifications`, `/commands`) against a real server on
 * 127.0.0.1: each sign-in mode, refusals with LIME reasons, routing exactly like a session of the
 * identity (its node `name@domain/http`), command round trips and the 504.
 */
import assert from "node:assert/strict";
import { Command, Message } from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { basicAuthorization, HttpTestServer, keyAuthorization } from "./http_helpers.ts";

const ALICE = "alice@localhost";
const BOB = "bob@localhost";
const aliceKey = keyAuthorization(ALICE, "alice-key");

async function withServer(
  run: (t: HttpTestServer) => Promise<void>,
  options: Parameters<typeof HttpTestServer.start>[0] = {},
) {
  await using t = await HttpTestServer.start(options);
  await t.addAccount(ALICE, "alice-pw", "alice-key");
  await t.addAccount(BOB, "bob-pw");
  await run(t);
}

Deno.test("HttpApi POST /messages with Key authorization routes like a session of the identity", async () => {
  await withServer(async (t) => {
    const bob = await t.login(`${BOB}/phone`, "bob-pw");
    const sent = await t.post(
      "/messages",
      { type: "text/plain", content: "hi", to: BOB },
      aliceKey,
    );
    assert.equal(sent.status, 202, sent.text);
    assert.equal(typeof sent.body?.id, "string");
    const message = await within(bob.receiveMessage(), 3000, "the message");
    assert.equal(message.content, "hi");
    assert.equal(message.from, `${ALICE}/http`);
    assert.equal(message.id, sent.body?.id);
  });
});

Deno.test("HttpApi Basic authorization signs in with the password", async () => {
  await withServer(async (t) => {
    const bob = await t.login(`${BOB}/phone`, "bob-pw");
    const auth = basicAuthorization(ALICE, "alice-pw");
    const sent = await t.post(
      "/messages",
      { id: "m1", type: "text/plain", content: "x", to: BOB },
      auth,
    );
    assert.deepEqual([sent.status, sent.body], [202, { id: "m1" }]);
    assert.equal((await within(bob.receiveMessage())).id, "m1");
  });
});

Deno.test("HttpApi refuses a wrong key, a missing header and guest with 401 and reason 13", async () => {
  await withServer(async (t) => {
    const body = { type: "text/plain", content: "x", to: BOB };
    for (
      const auth of [
        keyAuthorization(ALICE, "wrong"),
        basicAuthorization(ALICE, "alice-key"),
        keyAuthorization("nobody@localhost", "x"),
        keyAuthorization("postmaster@localhost", "x"),
        "Guest abc",
        "Key not-base64!",
        undefined,
      ]
    ) {
      const refused = await t.post("/messages", body, auth);
      assert.equal(refused.status, 401, `${auth}: ${refused.text}`);
      assert.equal((refused.body?.reason as { code: number }).code, 13);
      assert.match(refused.headers.get("www-authenticate") ?? "", /Key/);
    }
  });
});

Deno.test("HttpApi refuses a spoofed from or pp with 403 and reason 32", async () => {
  await withServer(async (t) => {
    for (const field of ["from", "pp"]) {
      const spoofed = await t.post(
        "/messages",
        { type: "text/plain", content: "x", to: BOB, [field]: `${BOB}/phone` },
        aliceKey,
      );
      assert.equal(spoofed.status, 403);
      assert.equal((spoofed.body?.reason as { code: number }).code, 32);
    }
    const own = await t.post(
      "/messages",
      { type: "text/plain", content: "x", to: BOB, from: `${ALICE}/anything` },
      aliceKey,
    );
    assert.equal(own.status, 202);
  });
});

Deno.test("HttpApi POST /commands answers with the server's response", async () => {
  await withServer(async (t) => {
    const ping = await t.post("/commands", { id: "c1", method: "get", uri: "/ping" }, aliceKey);
    assert.equal(ping.status, 200, ping.text);
    assert.equal(ping.body?.status, "success");
    assert.equal(ping.body?.id, "c1");
    assert.equal(ping.body?.to, `${ALICE}/http`);
    const noId = await t.post("/commands", { method: "get", uri: "/presence" }, aliceKey);
    assert.equal(noId.body?.status, "success");
    assert.equal(typeof noId.body?.id, "string");
    const failure = await t.post("/commands", { method: "get", uri: "/nothing" }, aliceKey);
    assert.equal(failure.status, 200);
    assert.equal(failure.body?.status, "failure");
    assert.equal((failure.body?.reason as { code: number }).code, 62);
  });
});

Deno.test("HttpApi POST /commands round-trips through another identity's session", async () => {
  await withServer(async (t) => {
    const bob = await t.login(`${BOB}/phone`, "bob-pw");
    bob.onCommand((request) => {
      bob.sendCommand(
        new Command(request.method, undefined, {
          id: request.id,
          to: request.from,
          status: "success",
          type: "text/plain",
          resource: "pong from bob",
        }),
      );
    });
    const answer = await t.post(
      "/commands",
      { id: "c2", method: "get", uri: "/status", to: `${BOB}/phone` },
      aliceKey,
    );
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body?.resource, "pong from bob");
    assert.equal(answer.body?.from, `${BOB}/phone`);
  });
});

Deno.test("HttpApi answers 504 with reason 86 when nobody answers a command", async () => {
  await withServer(async (t) => {
    await t.login(`${BOB}/phone`, "bob-pw");
    const started = performance.now();
    const answer = await t.post(
      "/commands",
      { id: "c3", method: "get", uri: "/status", to: `${BOB}/phone` },
      aliceKey,
    );
    assert.equal(answer.status, 504, answer.text);
    assert.equal((answer.body?.reason as { code: number }).code, 86);
    assert.ok(performance.now() - started >= 250);
  }, { http: { commandTimeout: 300 } });
});

Deno.test("HttpApi refuses a body of the wrong kind, a response, bad JSON and a bad envelope with 400", async () => {
  await withServer(async (t) => {
    const wrongKind = await t.post("/messages", { method: "get", uri: "/ping" }, aliceKey);
    assert.equal(wrongKind.status, 400);
    const response = await t.post(
      "/commands",
      { id: "1", method: "get", status: "success" },
      aliceKey,
    );
    assert.equal(response.status, 400);
    const notJson = await t.post("/messages", "hello", aliceKey);
    assert.equal(notJson.status, 400);
    assert.match(notJson.text, /Unexpected byte/);
    const two = await t.post("/messages", '{"type":"text/plain","content":"a"} {"a":1}', aliceKey);
    assert.equal(two.status, 400);
    const invalid = await t.post(
      "/messages",
      { type: "text/plain", to: "a b c", content: "x" },
      aliceKey,
    );
    assert.equal(invalid.status, 400);
    assert.ok(((invalid.body?.reason as { code: number }).code) >= 21);
    const media = await t.post("/messages", "{}", aliceKey, { "content-type": "text/plain" });
    assert.equal(media.status, 415);
    const get = await answerOf(fetch(`${t.url}/messages`));
    assert.equal(get.status, 405);
    const nowhere = await answerOf(fetch(`${t.url}/nowhere`, { method: "POST", body: "{}" }));
    assert.equal(nowhere.status, 400); // not an API path: the WebSocket side says what it serves
  });
});

Deno.test("HttpApi sends the receipts a sender asked for to its webhook-less session without failing", async () => {
  await withServer(async (t) => {
    // No session for bob: routing fails (42) and the failure goes to alice/http, which has no
    // webhook: the request itself was accepted.
    const sent = await t.post(
      "/messages",
      new Message("text/plain", "x", { id: "m9", to: "carol@localhost" }),
      aliceKey,
    );
    assert.equal(sent.status, 202);
  });
});

async function answerOf(pending: Promise<Response>) {
  const response = await pending;
  await response.body?.cancel();
  return response;
}

Deno.test("HttpApi closes an identity's HTTP session once unused for idleTimeout, and opens a new one on the next request", async () => {
  await withServer(async (t) => {
    const node = `${ALICE}/http`;
    assert.equal(
      (await t.post("/messages", { type: "text/plain", content: "1", to: BOB }, aliceKey)).status,
      202,
    );
    assert.ok(t.server.registry.byNode(node));
    const started = performance.now();
    while (t.server.registry.byNode(node) && performance.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const closedAfter = performance.now() - started;
    assert.equal(t.server.registry.byNode(node), undefined);
    // Within the idle time and one sweep (which comes as often as the idle time when that is
    // shorter than its 5 s): before, a 200 ms idle time closed sessions 5 s late.
    assert.ok(
      closedAfter >= 150 && closedAfter < 1000,
      `closed after ${closedAfter.toFixed(0)} ms`,
    );
    assert.equal(
      (await t.post("/messages", { type: "text/plain", content: "2", to: BOB }, aliceKey)).status,
      202,
    );
    assert.ok(t.server.registry.byNode(node));
  }, { http: { idleTimeout: 200 } });
});
