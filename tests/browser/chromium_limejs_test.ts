/**
 * The browser bundle with another implementation on the other side: a `LimeClient` in Chromium
 * and `lime-js@3.0.1` + `lime-transport-websocket@2.0.3` under Node, both on `deno task start`,
 * exchange messages and `received`/`consumed` notifications both ways; lime-js also pings the
 * server. lime-js is installed with npm into `.tmp/npm-interop/` (see `../limejs_npm.ts`).
 * @module
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { installLimeJs, LIMEJS_DIR, runWithin } from "../limejs_npm.ts";
import { measure } from "../../tools/bundle.ts";
import {
  buildBundle,
  Chromium,
  LimeServerProcess,
  openTestPage,
  StaticServer,
} from "./browser_helpers.ts";
import { connect, type PageState, waitForMessages } from "./page_client.ts";

/** What the test page exposes: the bundle's exports. */
declare const lime: typeof import("../../web_client.ts");
declare const state: PageState;

const SCRIPT = `${LIMEJS_DIR}limejs_browser_peer.cjs`;
const NODE_TIMEOUT_MS = 15_000;

/**
 * The Node side: bob on lime-js (plain), with lime-js's own `received` notifications on. He sends
 * a message to ann, waits for her `received`, waits for her reply, answers it with `consumed`,
 * pings the server and finishes. One JSON line per thing seen.
 */
const PEER_SCRIPT = `"use strict";
// Written by tests/browser/chromium_limejs_test.ts (overwritten on every run).
const Lime = require("lime-js");
const WebSocketTransport = require("lime-transport-websocket");

const config = JSON.parse(process.argv[2]);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\\n");
const STEP_MS = 8000;
setTimeout(() => { print({ step: "watchdog" }); process.exit(3); }, 14000).unref();

function within(promise, what) {
  let timer;
  return Promise.race([
    Promise.resolve(promise).finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(what + " did not happen within " + STEP_MS + " ms")), STEP_MS);
    }),
  ]);
}

function waiter() {
  let resolve;
  const promise = new Promise((r) => resolve = r);
  return { promise, resolve };
}

async function main() {
  const transport = new WebSocketTransport();
  const channel = new Lime.ClientChannel(transport, true, true);
  const receipt = waiter();
  const reply = waiter();
  channel.onNotification = (notification) => {
    print({ step: "notification", notification });
    if (notification.id === "from-limejs" && notification.event === "received") receipt.resolve();
  };
  channel.onMessage = (message) => {
    print({ step: "message", message });
    if (message.id === "from-page") reply.resolve(message);
  };
  await within(transport.open(config.url), "opening the WebSocket");
  const password = Buffer.from(config.password, "utf8").toString("base64");
  await within(
    channel.establishSession("none", "none", config.identity,
      new Lime.PlainAuthentication(password), "node"),
    "establishSession",
  );
  print({ step: "established", localNode: channel.localNode });
  channel.sendMessage({ id: "from-limejs", to: config.peer, type: "text/plain", content: "Hello from lime-js" });
  await within(receipt.promise, "the page's received notification");
  const message = await within(reply.promise, "the page's reply");
  channel.sendNotification({ id: message.id, to: message.from, event: "consumed" });
  const ping = await within(
    channel.processCommand({ id: "ping-1", method: "get", uri: "/ping" }, STEP_MS),
    "processCommand /ping",
  );
  print({ step: "ping", status: ping.status });
  await within(channel.sendFinishingSession(), "sendFinishingSession");
  print({ step: "finished", state: channel.state });
}

main().then(
  () => process.exit(0),
  (error) => { print({ step: "error", message: String((error && error.stack) || error) }); process.exit(1); },
);
`;

interface Line {
  step: string;
  [key: string]: unknown;
}

Deno.test("lime.web.js in Chromium talks to lime-js on Node through deno task start", async () => {
  await installLimeJs();
  await Deno.writeTextFile(SCRIPT, PEER_SCRIPT);
  await using dist = await buildBundle();
  await using web = new StaticServer(dist.dir);
  await using browser = await Chromium.launch();
  await using server = await LimeServerProcess.start({
    accounts: ["ann@localhost:ann-secret", "bob@localhost:bob-secret"],
  });
  const errors: string[] = [];
  const ann = await openTestPage(browser, web.origin, errors);
  await connect(ann, {
    uri: server.url,
    identity: "ann@localhost",
    instance: "page",
    password: "ann-secret",
  });

  const node = runWithin(
    "node",
    [
      SCRIPT,
      JSON.stringify({
        url: server.url,
        identity: "bob@localhost",
        password: "bob-secret",
        peer: "ann@localhost",
      }),
    ],
    NODE_TIMEOUT_MS,
    LIMEJS_DIR,
  );
  const transcript = async () => {
    const output = await node;
    const decoder = new TextDecoder();
    return `node exited with ${output.code}:\n${decoder.decode(output.stdout)}\n${
      decoder.decode(output.stderr)
    }`;
  };
  try {
    await waitForMessages(ann, 1, NODE_TIMEOUT_MS);
  } catch (error) {
    throw new Error(`no message from lime-js reached the page; ${await transcript()}`, {
      cause: error,
    });
  }
  const received = await ann.evaluate(() => state.messages[0]);
  assert.deepEqual(received, {
    id: "from-limejs",
    from: "bob@localhost/node",
    content: "Hello from lime-js",
    resent: undefined,
  });
  // The page's LimeClient already sent `received`; it replies with a message of its own.
  await ann.evaluate(async () => {
    await state.client.sendMessage(
      new lime.Message("text/plain", "Hello from the browser", {
        id: "from-page",
        to: "bob@localhost/node",
      }),
    );
  });
  await ann.waitForFunction(
    () => state.notifications.some((n) => n.id === "from-page" && n.event === "consumed"),
    undefined,
    { timeout: NODE_TIMEOUT_MS },
  );
  const output = await node;
  const lines = new TextDecoder().decode(output.stdout).split("\n").filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
  assert.equal(output.code, 0, await transcript());
  const step = (name: string) => lines.filter((l) => l.step === name);
  assert.deepEqual(step("established").map((l) => l.localNode), ["bob@localhost/node"]);
  // lime-js saw the page's `received` for its message, and the page's message.
  assert.ok(
    step("notification").some((l) => {
      const n = l.notification as Record<string, unknown>;
      return n.id === "from-limejs" && n.event === "received" && n.from === "ann@localhost/page";
    }),
    await transcript(),
  );
  const message = step("message").map((l) => l.message as Record<string, unknown>)
    .find((m) => m.id === "from-page");
  assert.deepEqual(
    { from: message?.from, type: message?.type, content: message?.content },
    { from: "ann@localhost/page", type: "text/plain", content: "Hello from the browser" },
  );
  assert.deepEqual(step("ping").map((l) => l.status), ["success"]);
  assert.deepEqual(step("finished").map((l) => l.state), ["finished"]);
  // lime-js's own `received` for the page's message reached the page too.
  const receipts = await ann.evaluate(() =>
    state.notifications.filter((n) => n.id === "from-page").map((n) => `${n.event} ${n.from}`)
  );
  assert.deepEqual([...new Set(receipts)].sort(), [
    "consumed bob@localhost/node",
    "received bob@localhost/node",
  ]);
  await ann.evaluate(() => state.client.close());
  assert.deepEqual(errors, []);

  // For the README: the browser client next to lime-js's own minified build, measured alike.
  const ours = await measure(dist.dir, "lime.web.js");
  const limeMin = await Deno.readFile(`${LIMEJS_DIR}node_modules/lime-js/dist/lime.min.js`);
  const limeGzip = gzipSync(limeMin, { level: 6 }).length;
  console.log(
    `  lime.web.js ${ours.initial.gzip} B gzip (${ours.initial.minified} B minified) at once; ` +
      `lime-js 3.0.1 dist/lime.min.js ${limeGzip} B gzip (${limeMin.length} B minified), ` +
      `without its WebSocket transport`,
  );
  assert.ok(ours.initial.gzip < limeGzip);
});
