/**
 * An echo bot that survives server restarts: the LimeClient reconnects with backoff, sets its
 * presence again, and resends what was not confirmed. Run: `deno run -A examples/resilient_bot.ts [uri]`
 * next to `deno task start`; stop it with Ctrl-C.
 * @module
 */
import { LimeClient, Message } from "../mod.ts";

await using bot = new LimeClient({
  uri: Deno.args[0] ?? "net.tcp://127.0.0.1:55321",
  identity: "echo-bot@localhost",
  instance: "bot",
  presence: { status: "available", routingRule: "identity" },
});
bot.onStatus((status) => console.log("status:", status.state));
bot.onMessage((message) => {
  if (!message.from) return;
  const echo = new Message(message.type, message.content, {
    id: crypto.randomUUID(),
    to: message.from,
  });
  bot.sendMessage(echo).catch((error) => console.error("not sent:", error.message));
});
await bot.start();
await new Promise((stop) => Deno.addSignalListener("SIGINT", () => stop(undefined)));
