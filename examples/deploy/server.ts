/**
 * A LIME server as a Deno Deploy app: LIME over WebSocket (`wss://<project>.deno.dev`), the HTTP
 * API (`POST /messages`, `/notifications`, `/commands`) and webhooks, accounts in the project's
 * Deno KV. Deploy's edge terminates TLS, hence `trustProxyTls`. Environment (all optional):
 * LIME_DOMAIN; HOST, PORT and LIME_KV (a KV file) for a local run; LIME_WEBHOOK_HOSTS (the
 * comma-separated hosts webhooks may point to; default any public host).
 * @module
 */
import { KvAccountStore, LimeServer } from "../../mod.ts";

const env = (name: string) => Deno.env.get(name) || undefined;
const store = await KvAccountStore.open(env("LIME_KV")); // no path: the project's KV on Deploy
const hosts = env("LIME_WEBHOOK_HOSTS")?.split(",");
const server = new LimeServer({
  domain: env("LIME_DOMAIN") ?? "localhost",
  store,
  tcp: false,
  websocket: false,
  trustProxyTls: true,
  webhooks: hosts ? { allowedHosts: hosts } : {},
});
await server.start(); // at the top level: Deploy needs the KV queue listener registered there
Deno.serve({ port: Number(env("PORT") ?? 8000), hostname: env("HOST") }, server.handler);
