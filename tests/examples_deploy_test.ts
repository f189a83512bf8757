/**
 * examples/deploy/: the server as a Deploy-style app (`Deno.serve(server.handler)`, accounts in a
 * KV file) and the echo bot as another, each its own `deno run`; a session client of this module
 * sends the bot a message over WebSocket and gets the echo back through the webhook and the HTTP
 * API.
 */
import assert from "node:assert/strict";
import {
  ClientChannel,
  hashPassword,
  KvAccountStore,
  Message,
  plainCredentials,
  WebSocketTransport,
} from "../mod.ts";
import { within } from "./tcp_helpers.ts";
import { ROOT } from "./test_utils.ts";

/** A `deno run -A` of `file` with `env`; its stdout lines collected. */
function spawn(file: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--config=${ROOT}/deno.json`, `${ROOT}/${file}`],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const reading = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output += chunk;
  }));
  return {
    get output() {
      return output;
    },
    async port(): Promise<number> {
      const until = Date.now() + 20_000;
      for (;;) {
        const match = /Listening on https?:\/\/[^:]+:(\d+)/.exec(output);
        if (match) return Number(match[1]);
        if (Date.now() > until) throw new Error(`${file} did not listen:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // exited already
      }
      await child.status;
      await reading;
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("examples/deploy/bot.ts echoes through examples/deploy/server.ts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lime-deploy-" });
  try {
    const kvPath = `${dir}/lime.kv`;
    const store = await KvAccountStore.open(kvPath);
    await store.createAccount({
      identity: "bot@localhost",
      document: {},
      passwordHash: await hashPassword("bot-password", 1000),
      keyHash: await hashPassword("bot-key", 1000),
    });
    await store.createAccount({
      identity: "alice@localhost",
      document: {},
      passwordHash: await hashPassword("alice-password", 1000),
    });
    store.close();
    await using server = spawn("examples/deploy/server.ts", {
      HOST: "127.0.0.1",
      PORT: "0",
      LIME_KV: kvPath,
      LIME_WEBHOOK_HOSTS: "127.0.0.1",
    });
    const serverPort = await server.port();
    const botPort = freePort();
    await using bot = spawn("examples/deploy/bot.ts", {
      HOST: "127.0.0.1",
      PORT: String(botPort),
      LIME_SERVER: `http://127.0.0.1:${serverPort}`,
      LIME_IDENTITY: "bot@localhost",
      LIME_KEY: "bot-key",
      LIME_WEBHOOK_SECRET: "deploy-example-secret",
      BOT_URL: `http://127.0.0.1:${botPort}/`,
    });
    await bot.port();
    const transport = new WebSocketTransport();
    await transport.open(`ws://127.0.0.1:${serverPort}/`);
    await using alice = new ClientChannel(transport);
    await alice.establishSession({
      identity: "alice@localhost",
      instance: "web",
      credentials: plainCredentials("alice-password"),
    });
    await alice.sendMessage(new Message("text/plain", "hi", { to: "bot@localhost" }));
    const echo = await within(alice.receiveMessage(), 10_000, `the echo\n${bot.output}`);
    assert.equal(echo.content, "echo: hi");
    assert.equal(echo.from, "bot@localhost/http");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
