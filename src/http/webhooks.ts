/**
 * Webhooks: an account registers endpoints with `set /webhook` (`webhook_resource.ts`); the
 * settings are stored with the account (`StoredAccount.webhook`) and the identity is listed in an
 * index in the same Deno KV database, so a starting server finds every webhook. An identity with
 * a webhook keeps an HTTP session open (`edge_session.ts`): identity-addressed traffic reaches
 * it while the identity has no other available session (or always, when it asks so), and what
 * reaches it goes to the durable outbox (`webhook_outbox.ts`), which POSTs it, signed, in order.
 *
 * Receipts match what a session's sender gets: `accepted` from the router as for any delivery;
 * `dispatched` (when the sender asked for it) once the endpoint answered 2xx; `failed` with
 * reason 51 when the outbox gives up (an answer that will not change, or the last retry); the
 * bot itself sends `received` and `consumed` through the HTTP API (`webhook_bot.ts`).
 * @module
 */
import { type Envelope, isMessage, Notification } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import type { NotificationEvent } from "../generated/enums.generated.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import type { Webhook } from "../generated/types.generated.ts";
import type { ResourceHandler } from "../server/resources/resource.ts";
import type { EdgeHost } from "./edge_host.ts";
import type { EdgeSessions } from "./edge_sessions.ts";
import {
  DestinationCheck,
  type DestinationPolicy,
  parseWebhookUrl,
} from "./webhook_destination.ts";
import {
  isWakeMessage,
  type OutboxEntry,
  type OutboxLimits,
  WebhookOutbox,
  type WebhookSettings,
} from "./webhook_outbox.ts";
import { type WebhookRegistry, webhookResource } from "./webhook_resource.ts";

/** Options of the webhooks (`LimeServerOptions.webhooks`). */
export interface WebhookOptions extends DestinationPolicy {
  /**
   * The Deno KV database of the index and the outbox. Default: the store's, when it is a
   * `KvAccountStore`; without one, webhooks are off. The server listens to its queue
   * (`listenQueue`, once per database): give it a database of its own if your app uses the
   * queue of the store's.
   */
  kv?: Deno.Kv;
  /**
   * Milliseconds before each retry of a delivery that may succeed later (5xx, 408, 425, 429, no
   * answer); ±20 % jitter. Default 1 s, 5 s, 30 s, 2 min, 10 min, 30 min (43 min in all).
   */
  retryDelays?: readonly number[];
  /** Milliseconds an attempt may take, its answer included. Default 10,000. */
  timeout?: number;
  /** Most bytes of an endpoint's answer read. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Largest envelope delivered, in bytes (at most 768 KiB). Default 512 KiB. */
  maxEnvelopeSize?: number;
  /** Envelopes waiting per identity. Default 1,000. */
  maxPendingPerIdentity?: number;
  /** Bytes waiting per identity. Default 16 MiB. */
  maxPendingBytesPerIdentity?: number;
  /** Bytes waiting in all (held in memory while the server runs). Default 256 MiB. */
  maxTotalBytes?: number;
  /** Identities delivering at once. Default 64. */
  concurrency?: number;
}

/** The defaults of {@link WebhookOptions}. */
export const WEBHOOK_DEFAULTS: Readonly<
  Required<Omit<WebhookOptions, "kv" | keyof DestinationPolicy>>
> = Object.freeze({
  retryDelays: Object.freeze([1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000]),
  timeout: 10_000,
  maxResponseBytes: 64 * 1024,
  maxEnvelopeSize: 512 * 1024,
  maxPendingPerIdentity: 1_000,
  maxPendingBytesPerIdentity: 16 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  concurrency: 64,
});

const INDEX = "lime_webhook_index";
const MAX_KV_ENVELOPE = 768 * 1024;

/** The webhooks of one server. */
export class Webhooks implements WebhookRegistry {
  /** The `/webhook` resource. */
  readonly resource: ResourceHandler;
  /** The outbox. */
  readonly outbox: WebhookOutbox;
  readonly #host: EdgeHost;
  readonly #sessions: EdgeSessions;
  readonly #kv: Deno.Kv;
  readonly #destinations: DestinationCheck;
  #started: Promise<void> | undefined;

  /** Webhooks of `host` in `kv`, delivered through the sessions of `sessions`. */
  constructor(host: EdgeHost, sessions: EdgeSessions, kv: Deno.Kv, options: WebhookOptions = {}) {
    this.#host = host;
    this.#sessions = sessions;
    this.#kv = kv;
    this.#destinations = new DestinationCheck(options);
    const settings = { ...WEBHOOK_DEFAULTS, ...options };
    const limits: OutboxLimits = {
      retryDelays: settings.retryDelays,
      timeout: settings.timeout,
      maxResponseBytes: settings.maxResponseBytes,
      maxEnvelopeSize: Math.min(MAX_KV_ENVELOPE, settings.maxEnvelopeSize),
      maxPending: settings.maxPendingPerIdentity,
      maxPendingBytes: settings.maxPendingBytesPerIdentity,
      maxTotalBytes: settings.maxTotalBytes,
      concurrency: settings.concurrency,
    };
    this.outbox = new WebhookOutbox(kv, limits, {
      settings: (identityKey) => this.#settings(identityKey),
      destinationProblem: (url) => this.urlProblem(url),
      delivered: (identityKey, entry) => this.#delivered(identityKey, entry),
      failed: (identityKey, entry, problem) => this.#failed(identityKey, entry, problem),
    });
    this.resource = webhookResource(this);
  }

  /**
   * Opens the sessions of every identity with a webhook, loads the outbox and listens to the
   * database's queue (once; later calls wait for the first).
   */
  start(): Promise<void> {
    return this.#started ??= this.#start();
  }

  async #start(): Promise<void> {
    for await (const { key, value } of this.#kv.list<string>({ prefix: [INDEX] })) {
      const account = await this.#host.store.getAccount(value);
      if (account?.webhook) await this.#attach(value, account.webhook);
      else await this.#kv.delete(key);
    }
    await this.outbox.load();
    this.#kv.listenQueue((message) => {
      if (isWakeMessage(message)) this.outbox.wake(message.identity);
    }).catch((error) => console.error("LIME server: the webhook queue failed", error));
  }

  /** Stops delivering (what waits stays stored for the next start). */
  async close(): Promise<void> {
    await this.outbox.close();
  }

  /** The identity's webhook. */
  async get(identity: string): Promise<Webhook | undefined> {
    return (await this.#host.store.getAccount(identity))?.webhook;
  }

  /** Stores the identity's webhook and starts delivering to it. */
  async set(identity: string, webhook: Webhook): Promise<boolean> {
    const store = this.#host.store;
    const account = await store.getAccount(identity);
    if (!account) return false;
    await store.updateAccount({ ...account, webhook });
    await this.#kv.set([INDEX, identity.toLowerCase()], account.identity);
    await this.#attach(account.identity, webhook);
    return true;
  }

  /** Removes the identity's webhook. */
  async delete(identity: string): Promise<boolean> {
    const store = this.#host.store;
    const account = await store.getAccount(identity);
    if (!account?.webhook) return false;
    const { webhook: _removed, ...rest } = account;
    await store.updateAccount(rest);
    await this.#kv.delete([INDEX, identity.toLowerCase()]);
    await this.#sessions.setWebhook(identity, undefined);
    return true;
  }

  /** Why `text` may not be a webhook URL now. */
  async urlProblem(text: string): Promise<string | undefined> {
    const url = parseWebhookUrl(text);
    return typeof url === "string" ? url : await this.#destinations.problem(url);
  }

  async #attach(identity: string, webhook: Webhook): Promise<void> {
    const key = identity.toLowerCase();
    const reason = await this.#sessions.setWebhook(identity, {
      always: webhook.always === true,
      take: (envelope: Envelope) => {
        const added = this.outbox.add(key, envelope);
        // A message with an id gets its receipts from the outbox, once it is settled.
        return isMessage(envelope) && envelope.id ? added.then(() => new Promise(() => {})) : added;
      },
    });
    if (reason) {
      console.warn(
        `LIME server: the webhook session of ${identity} is refused: ${reason.description}`,
      );
    }
  }

  async #settings(identityKey: string): Promise<WebhookSettings | undefined> {
    const webhook = await this.get(identityKey).catch(() => undefined);
    if (!webhook?.messagesUrl || !webhook.secret) return undefined;
    return {
      messagesUrl: webhook.messagesUrl,
      ...(webhook.notificationsUrl ? { notificationsUrl: webhook.notificationsUrl } : {}),
      secret: webhook.secret,
    };
  }

  #delivered(identityKey: string, entry: OutboxEntry): void {
    if (entry.kind !== "message" || !entry.messageId || !entry.sender) return;
    const sender = this.#host.registry.byNode(entry.sender);
    if (sender?.receiptEvents.has("dispatched")) this.#notify(identityKey, entry, "dispatched");
  }

  #failed(identityKey: string, entry: OutboxEntry, problem: string): void {
    if (entry.kind !== "message" || !entry.messageId || !entry.sender) return;
    this.#notify(identityKey, entry, "failed", {
      code: ReasonCode.DISPATCH_ERROR,
      description: `Cannot deliver to ${entry.to ?? identityKey}: ${problem}`,
    });
  }

  /** Tells the sender of `entry` about it, from the identity's session (or directly). */
  #notify(identityKey: string, entry: OutboxEntry, event: NotificationEvent, reason?: Reason) {
    const notification = new Notification(event, {
      id: entry.messageId!,
      to: entry.sender!,
      ...(reason ? { reason } : {}),
    });
    const edge = this.#sessions.get(identityKey);
    if (edge) {
      this.#host.router.route(edge.session, notification);
      return;
    }
    if (entry.to) notification.from = entry.to;
    this.#host.registry.byNode(entry.sender!)?.channel.sendNotification(notification)
      .catch(() => {});
  }
}
