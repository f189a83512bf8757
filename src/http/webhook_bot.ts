/**
 * The bot side of webhooks: {@link webhookBot} returns a `Deno.serve` handler that takes the
 * server's signed deliveries, checks them, and calls your `onMessage` / `onNotification`, whose
 * context replies, sends and runs commands through the server's HTTP API. A LIME bot on Deno
 * Deploy is this handler and a dozen lines (`examples/deploy/bot.ts`).
 *
 * A delivery is refused (and never reaches a handler) when its signature does not match the
 * secret (401), its timestamp is outside the window (401: stale, or a replay kept for later), it
 * repeats a request seen already (409: a replay), its body is over `maxBodyBytes` (413) or is not
 * a valid envelope (400). A retry of a delivery already handled is answered 200 without running
 * the handler again. Like blip-sdk, the bot tells the sender `received` when a message with an id
 * arrives and `consumed` once `onMessage` is done (`receipts: false` to stop it). A handler that
 * throws gets the delivery answered 500: the server retries it later.
 * @module
 */
import { parseEnvelope } from "../codec_core.ts";
import {
  type Command,
  type Envelope,
  isMessage,
  isNotification,
  Message,
  Notification,
} from "../envelope.ts";
import { ValidationError } from "../errors.ts";
import { LimeHttpClient } from "./http_client.ts";
import { ReplayGuard } from "./replay_guard.ts";
import { DEFAULT_SIGNATURE_TOLERANCE, verifyWebhookSignature } from "./webhook_signature.ts";

/** What a bot's handlers can do about what they received. */
export interface BotContext {
  /** The HTTP API client the bot sends with. */
  readonly client: LimeHttpClient;
  /** The delivery's id (the same on the server's retries of it). */
  readonly delivery: string;
  /**
   * Answers the message being handled (to its `pp ?? from`) with `content` of `type` (default
   * `text/plain` for a string, `application/json` otherwise); resolves with the answer's id.
   */
  reply(content: unknown, type?: string): Promise<string>;
  /** Sends a message or a notification; resolves with the id (a message's, given if missing). */
  send(envelope: Message | Notification): Promise<string | undefined>;
  /** Sends a command request; resolves with its response (whatever its status). */
  command(command: Command): Promise<Command>;
}

/** Options of {@link webhookBot}. */
export interface WebhookBotOptions {
  /** The webhook's secret (what the bot `set` in `/webhook`). */
  secret: string;
  /** The server's HTTP API root (`https://lime.example.org`). */
  server: string | URL;
  /** The bot's identity (`name@domain`). */
  identity: string;
  /** Its access key (`Authorization: Key`); or give `password`. */
  key?: string;
  /** Its password, when there is no key. */
  password?: string;
  /** Called for each message. */
  onMessage?: (message: Message, context: BotContext) => unknown;
  /** Called for each notification. */
  onNotification?: (notification: Notification, context: BotContext) => unknown;
  /** Seconds a delivery's timestamp may be away from the bot's clock. Default 300. */
  tolerance?: number;
  /** Largest delivery body, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Send `received` and `consumed` for messages with an id. Default true. */
  receipts?: boolean;
  /** The `fetch` the client uses. Default the global one. */
  fetch?: typeof fetch;
  /** Called with what a handler threw (the delivery is answered 500). Default `console.error`. */
  onError?: (error: unknown) => void;
}

const text = (status: number, body: string) =>
  new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

/** Reads at most `max` bytes of a body as UTF-8 text; undefined when it is larger. */
async function boundedText(request: Request, max: number): Promise<string | undefined> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) {
    await request.body?.cancel();
    return undefined;
  }
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all);
}

/** A `Deno.serve` handler for a webhook bot (see the module documentation). */
export function webhookBot(
  options: WebhookBotOptions,
): (request: Request) => Promise<Response> {
  const client = new LimeHttpClient({
    url: options.server,
    identity: options.identity,
    key: options.key,
    password: options.password,
    fetch: options.fetch,
  });
  const tolerance = options.tolerance ?? DEFAULT_SIGNATURE_TOLERANCE;
  const guard = new ReplayGuard(tolerance * 1000);
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const receipts = options.receipts ?? true;
  const onError = options.onError ?? ((error) => console.error("LIME webhook bot:", error));

  const receipt = (message: Message, event: "received" | "consumed") => {
    if (!receipts || !message.id) return Promise.resolve();
    return client.sendNotification(
      new Notification(event, {
        id: message.id,
        to: message.pp ?? message.from,
        ...(message.to ? { metadata: { "#message.to": message.to } } : {}),
      }),
    ).catch(onError);
  };

  const contextFor = (envelope: Envelope, delivery: string): BotContext => ({
    client,
    delivery,
    reply: (content, type) => {
      const to = envelope.pp ?? envelope.from;
      if (!to) return Promise.reject(new TypeError("The envelope has no sender to reply to"));
      const mediaType = type ?? (typeof content === "string" ? "text/plain" : "application/json");
      return client.sendMessage(new Message(mediaType, content as string, { to }));
    },
    send: async (out) => {
      if (isMessage(out)) return await client.sendMessage(out);
      await client.sendNotification(out);
      return out.id;
    },
    command: (command) => client.processCommand(command),
  });

  return async (request) => {
    if (request.method !== "POST") return text(405, "Webhook deliveries are POSTed");
    const body = await boundedText(request, maxBody);
    if (body === undefined) return text(413, `The delivery is over ${maxBody} bytes`);
    const verified = await verifyWebhookSignature(options.secret, request.headers, body, {
      tolerance,
    });
    if (typeof verified === "string") return text(401, verified);
    if (!guard.firstSignature(verified.signature, verified.timestamp * 1000)) {
      return text(409, "This delivery was sent already (a replay)");
    }
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(body);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return text(400, error.message);
    }
    const state = guard.begin(verified.delivery);
    if (state === "done") return text(200, "Handled already");
    if (state === "busy") {
      return new Response("Being handled\n", { status: 503, headers: { "retry-after": "1" } });
    }
    let handled = false;
    try {
      const context = contextFor(envelope, verified.delivery);
      if (isMessage(envelope)) {
        await receipt(envelope, "received");
        await options.onMessage?.(envelope, context);
        await receipt(envelope, "consumed");
      } else if (isNotification(envelope)) {
        await options.onNotification?.(envelope, context);
      }
      handled = true;
      return text(200, "ok");
    } catch (error) {
      onError(error);
      return text(500, "The bot's handler failed; the server will retry");
    } finally {
      guard.end(verified.delivery, handled);
    }
  };
}
