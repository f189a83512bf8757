/**
 * `examples/browser/index.html`, the chat page of the README, in Chromium against
 * `deno task start`: two guests connect, chat, and see their messages marked received. The same
 * steps as `deno task screenshot` (tools/screenshot.ts).
 * @module
 */
import assert from "node:assert/strict";
import { allReceived, chatLog, openChat, say } from "../../tools/screenshot.ts";
import { buildBundle, Chromium, LimeServerProcess, StaticServer } from "./browser_helpers.ts";

Deno.test("examples/browser/index.html chats between two pages with receipts", async () => {
  await using dist = await buildBundle();
  await using web = new StaticServer(dist.dir);
  await using browser = await Chromium.launch();
  await using server = await LimeServerProcess.start();
  const page = `${web.origin}/examples/browser/?server=${server.url}`;
  const errors: string[] = [];
  const ann = await openChat(browser, page, "ann", "bob", errors);
  const bob = await openChat(browser, page, "bob", "ann", errors);
  await say(ann, bob, "Hi Bob! Lunch at noon?");
  await say(bob, ann, "Sure, see you there.");
  await allReceived(ann);
  await allReceived(bob);
  assert.deepEqual(await chatLog(ann), ["me ✓Hi Bob! Lunch at noon?", "bobSure, see you there."]);
  assert.deepEqual(await chatLog(bob), ["annHi Bob! Lunch at noon?", "me ✓Sure, see you there."]);
  for (const p of [ann, bob]) await p.close();
  assert.deepEqual(errors, []);
});
