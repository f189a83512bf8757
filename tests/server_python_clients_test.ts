/**
 * What the Python clients send that the spec does not allow (lime-protocol §16), against a real
 * LimeServer: blip-sdk's `failed` notification with a text reason and no `to` keeps the bot's
 * session alive, a text reason is read into `{ code, description }`, and any other invalid
 * notification from an established session is dropped and reported instead of failing it.
 */
import assert from "node:assert/strict";
import { configure, getTextFormatter, reset } from "@logtape/logtape";
import { Message } from "../mod.ts";
import { parseReasonText } from "../src/channel/peer_tolerance.ts";
import { CLOSED, RawClient, type Wire } from "./security/raw_client.ts";
import { json, nextNotification, TestServer } from "./server_test_helpers.ts";
import { within } from "./tcp_helpers.ts";

const BOT = "bot@localhost/py";
const ALICE = "alice@localhost/home";

/** A bot signed in by hand over `via`, and alice (a ClientChannel over TCP). */
async function rig(server: TestServer, via: "tcp" | "ws") {
  const alice = await server.login(ALICE);
  const address = via === "tcp" ? server.server.tcpAddress! : server.server.websocketAddress!;
  const bot = via === "tcp" ? await RawClient.tcp(address) : await RawClient.ws(address);
  await bot.guest(BOT);
  return { alice, bot };
}

/** The bot's `/ping` is answered: its session is alive. */
async function assertAlive(bot: RawClient, id: string): Promise<void> {
  await bot.send(`{"id":"${id}","method":"get","uri":"/ping"}`);
  const reply = await bot.next();
  assert.notEqual(reply, CLOSED, "the server closed the bot's session");
  assert.equal((reply as Wire).id, id, JSON.stringify(reply));
  assert.equal((reply as Wire).status, "success", JSON.stringify(reply));
}

for (const via of ["tcp", "ws"] as const) {
  Deno.test(`LimeServer keeps the session of a blip-sdk bot whose handler raised (${via})`, async () => {
    await using server = await TestServer.start();
    const { alice, bot } = await rig(server, via);
    try {
      await alice.sendMessage(new Message("text/plain", "hi bot", { id: "m1", to: BOT }));
      const message = await bot.next();
      assert.equal((message as Wire).id, "m1");
      assert.equal((message as Wire).from, ALICE);
      // blip-sdk 1.0.4 (Python), Client.__notify when the message handler raised: the reason is
      // lime-python's Reason as text, `from` is the message's sender, there is no `to`.
      await bot.send(
        `{"id":"m1","from":"alice@localhost/home","event":"failed","reason":"boom (Code 101)"}`,
      );
      await assertAlive(bot, "p1");
    } finally {
      await bot.close();
    }
  });

  Deno.test(`LimeServer reads a text reason into code and description (${via})`, async () => {
    await using server = await TestServer.start();
    const { alice, bot } = await rig(server, via);
    try {
      await bot.send(
        `{"id":"m2","to":"alice@localhost/home","event":"failed","reason":"The handler raised: boom (Code 101)"}`,
      );
      assert.deepEqual(await nextNotification(alice), {
        id: "m2",
        from: BOT,
        to: ALICE,
        event: "failed",
        reason: { code: 101, description: "The handler raised: boom" },
      });
      await assertAlive(bot, "p2");
    } finally {
      await bot.close();
    }
  });
}

Deno.test("LimeServer drops an invalid notification from an established session and reports it", async () => {
  const warnings: string[] = [];
  const text = getTextFormatter({ timestamp: "none", value: "bare", category: "." });
  await configure({
    reset: true,
    sinks: { test: (record) => warnings.push(text(record).trim()) },
    loggers: [
      { category: ["lime", "server", "input"], sinks: ["test"], lowestLevel: "warning" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
  });
  try {
    await using server = await TestServer.start();
    const { alice, bot } = await rig(server, "tcp");
    try {
      await bot.send(`{"id":"n1","to":"alice@localhost/home","event":"failed","reason":"boom"}`);
      await bot.send(`{"id":"n2","to":"alice@localhost/home","event":"exploded"}`);
      await assertAlive(bot, "p3");
      // alice got neither; the next notification she gets is one sent after them.
      await bot.send(`{"id":"n3","to":"alice@localhost/home","event":"received"}`);
      assert.equal((json(await within(alice.receiveNotification())) as Wire).id, "n3");
      assert.equal(warnings.length, 2, warnings.join("\n"));
      assert.match(
        warnings[0],
        /^\[WRN\] lime\.server\.input: Dropped an invalid notification "n1" from bot@localhost\/py \(127\.0\.0\.1:\d+\): Invalid notification at reason/,
      );
      assert.match(warnings[1], /"n2" .*at event/);
    } finally {
      await bot.close();
    }
  } finally {
    await reset();
  }
});

Deno.test("LimeServer still fails a session for an invalid notification before it is established", async () => {
  await using server = await TestServer.start();
  const bot = await RawClient.tcp(server.server.tcpAddress!);
  try {
    await bot.send({ id: "c1", state: "new" });
    assert.equal((await bot.next() as Wire).state, "negotiating");
    await bot.send(`{"id":"n1","event":"failed","reason":"boom (Code 101)"}`);
    const failed = await bot.next() as Wire;
    assert.equal(failed.state, "failed", JSON.stringify(failed));
    assert.equal(await bot.next(), CLOSED);
  } finally {
    await bot.close();
  }
});

Deno.test("parseReasonText reads lime-python's reason text", () => {
  assert.deepEqual(parseReasonText("boom (Code 101)"), { code: 101, description: "boom" });
  assert.deepEqual(parseReasonText("a (b) (Code 1)"), { code: 1, description: "a (b)" });
  assert.deepEqual(parseReasonText("two\nlines (Code 42)"), {
    code: 42,
    description: "two\nlines",
  });
  assert.deepEqual(parseReasonText("(Code 13)"), { code: 13 });
  assert.equal(parseReasonText("boom"), undefined);
  assert.equal(parseReasonText("boom (code 101)"), undefined);
  assert.equal(parseReasonText("boom (Code 1x)"), undefined);
  assert.equal(parseReasonText("boom (Code 101) and more"), undefined);
});
