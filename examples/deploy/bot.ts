/**
 * An echo bot for Deno Deploy: the server POSTs each message to this app (its webhook), the bot
 * answers through the server's HTTP API. Environment: LIME_SERVER (the server's HTTP API root),
 * LIME_IDENTITY, LIME_KEY (its access key), LIME_WEBHOOK_SECRET, and BOT_URL (this app's public
 * URL: the bot registers it as its webhook when it starts); HOST and PORT for a local run.
 * @module
 */
import { Command, LimeHttpClient, webhookBot } from "../../web.ts";

const env = (name: string) => Deno.env.get(name) ?? "";
const bot = { server: env("LIME_SERVER"), identity: env("LIME_IDENTITY"), key: env("LIME_KEY") };
const secret = env("LIME_WEBHOOK_SECRET");
if (env("BOT_URL")) {
  const set = await new LimeHttpClient({ url: bot.server, ...bot }).processCommand(
    new Command("set", "/webhook", {
      type: "application/vnd.lime.webhook+json",
      resource: { messagesUrl: env("BOT_URL"), secret },
    }),
  );
  if (set.status !== "success") throw new Error(`set /webhook: ${set.reason?.description}`);
}
Deno.serve(
  { port: Number(env("PORT") || 8000), hostname: env("HOST") || undefined },
  webhookBot({
    ...bot,
    secret,
    onMessage: (message, ctx) => ctx.reply(`echo: ${message.content}`),
  }),
);
