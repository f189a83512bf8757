/**
 * The webhook outbox: what is routed to an identity with a webhook waits here, in Deno KV, until
 * its endpoint takes it. At least once and in order per identity: an envelope is stored before
 * its first attempt, removed after its last; an identity's envelopes go one at a time, the next
 * only once the one before it is settled (delivered, refused for good, or given up on after the
 * last retry). Attempts that may succeed later are retried after `retryDelays` (each with ±20 %
 * jitter, or the endpoint's own `Retry-After` when longer, up to an hour). Deliveries left over
 * by a stopped server are loaded again by the next one (`start`) and go on.
 *
 * A retry is scheduled twice: with a timer, and as a delayed message on the database's queue
 * (`kv.enqueue`, handed back by `listenQueue`), which is what wakes a server that was idle or
 * restarted meanwhile (Deno Deploy stops idle isolates). Whichever comes first runs the
 * identity's lane; the other finds nothing due.
 *
 * Budgets: an envelope of at most `maxEnvelopeSize` (stored in 60 KiB parts, in one atomic
 * write); per identity at most `maxPending` envelopes and `maxPendingBytes`, in all
 * `maxTotalBytes` held in memory; `concurrency` identities delivering at once. Past a budget an
 * envelope is refused at once (its sender is told `failed`).
 * @module
 */
import { serializeEnvelope } from "../codec_core.ts";
import { type Envelope, isMessage } from "../envelope.ts";
import { TransportError } from "../transport/errors.ts";
import { type PostLimits, postWebhook } from "./webhook_post.ts";
import { httpLog } from "../observability/log.ts";
import { webhookDeliveriesCounter } from "../observability/metrics.ts";
import { OutboxStore } from "./webhook_outbox_store.ts";

const encoder = new TextEncoder();

const OUTCOME = {
  delivered: Object.freeze({ "lime.webhook.outcome": "delivered" }),
  retry: Object.freeze({ "lime.webhook.outcome": "retry" }),
  failed: Object.freeze({ "lime.webhook.outcome": "failed" }),
} as const;

/** A webhook's settings as the outbox uses them. */
export interface WebhookSettings {
  /** Where messages go. */
  messagesUrl: string;
  /** Where notifications go (without it they are dropped). */
  notificationsUrl?: string;
  /** The signing key. */
  secret: string;
}

/** One stored delivery (its body is stored beside it, in parts). */
export interface OutboxEntry {
  /** Order within its identity. */
  seq: number;
  /** The delivery id (`X-Lime-Delivery`), the same on every attempt. */
  delivery: string;
  /** Which URL it goes to. */
  kind: "message" | "notification";
  /** Parts the body is stored in. */
  parts: number;
  /** The body's length (UTF-16 units). */
  length: number;
  /** The sender's node (`from`), for receipts. */
  sender?: string;
  /** The message id, for receipts. */
  messageId?: string;
  /** The envelope's `to`, for receipts. */
  to?: string;
  /** Attempts made. */
  attempts: number;
  /** Not to be attempted before (ms since the epoch). */
  notBefore: number;
}

/** Limits and schedule of the outbox. */
export interface OutboxLimits extends PostLimits {
  /** Milliseconds before each retry; their number is the number of retries. */
  retryDelays: readonly number[];
  /** Largest envelope delivered, in bytes (at most 768 KiB: one atomic write of Deno KV). */
  maxEnvelopeSize: number;
  /** Envelopes waiting per identity. */
  maxPending: number;
  /** Bytes waiting per identity. */
  maxPendingBytes: number;
  /** Bytes waiting in all. */
  maxTotalBytes: number;
  /** Identities delivering at once. */
  concurrency: number;
}

/** What the outbox asks of the webhooks. */
export interface OutboxHooks {
  /** The identity's current settings (undefined: it has no webhook now). */
  settings(identityKey: string): Promise<WebhookSettings | undefined>;
  /** Why `url` may not be delivered to now, if it may not. */
  destinationProblem(url: string): Promise<string | undefined>;
  /** An envelope was delivered (receipts). */
  delivered(identityKey: string, entry: OutboxEntry): void;
  /** An envelope will not be delivered (receipts). */
  failed(identityKey: string, entry: OutboxEntry, problem: string): void;
}

interface Pending {
  entry: OutboxEntry;
  body: string | undefined;
  stored: Promise<boolean>;
}

interface Lane {
  items: Pending[];
  bytes: number;
  lastSeq: number;
  running: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The queue message that wakes an identity's lane. */
export interface WakeMessage {
  /** Always `lime.webhook`. */
  lime: "lime.webhook";
  /** The identity (lower case). */
  identity: string;
}

/** Whether a queue message is the outbox's. */
export function isWakeMessage(value: unknown): value is WakeMessage {
  return typeof value === "object" && value !== null &&
    (value as WakeMessage).lime === "lime.webhook" &&
    typeof (value as WakeMessage).identity === "string";
}

/** The durable, ordered outbox of every identity's webhook. */
export class WebhookOutbox {
  readonly #kv: Deno.Kv;
  readonly #store: OutboxStore;
  readonly #limits: OutboxLimits;
  readonly #hooks: OutboxHooks;
  readonly #lanes = new Map<string, Lane>();
  #totalBytes = 0;
  #running = 0;
  readonly #ready: (() => void)[] = [];
  readonly #runs = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #closed = false;

  /** An outbox in `kv`. */
  constructor(kv: Deno.Kv, limits: OutboxLimits, hooks: OutboxHooks) {
    this.#kv = kv;
    this.#store = new OutboxStore(kv);
    this.#limits = limits;
    this.#hooks = hooks;
  }

  /** Envelopes waiting, in all. */
  get pending(): number {
    let count = 0;
    for (const lane of this.#lanes.values()) count += lane.items.length;
    return count;
  }

  /** Loads what a previous server left and starts delivering it. */
  async load(): Promise<void> {
    for await (const { identity, entry: value } of this.#store.entries()) {
      const lane = this.#lane(identity);
      if (lane.items.some((item) => item.entry.seq === value.seq)) continue;
      lane.items.push({ entry: value, body: undefined, stored: Promise.resolve(true) });
      lane.items.sort((a, b) => a.entry.seq - b.entry.seq);
      lane.lastSeq = Math.max(lane.lastSeq, value.seq);
      lane.bytes += value.length;
      this.#totalBytes += value.length;
    }
    for (const identity of this.#lanes.keys()) this.wake(identity);
  }

  /**
   * Takes `envelope` for `identityKey`'s webhook: resolves once stored; rejects with a
   * TransportError when it is refused (`too-large`, or `slow-reader` past a budget).
   */
  add(identityKey: string, envelope: Envelope): Promise<void> {
    const limits = this.#limits;
    const body = serializeEnvelope(envelope);
    if (body.length * 3 > limits.maxEnvelopeSize) {
      const size = encoder.encode(body).length;
      if (size > limits.maxEnvelopeSize) {
        return Promise.reject(
          new TransportError(
            "too-large",
            `the envelope is ${size} bytes, over the webhook maximum of ${limits.maxEnvelopeSize}`,
          ),
        );
      }
    }
    const lane = this.#lane(identityKey);
    if (
      lane.items.length >= limits.maxPending || lane.bytes + body.length > limits.maxPendingBytes ||
      this.#totalBytes + body.length > limits.maxTotalBytes
    ) {
      return Promise.reject(
        new TransportError("slow-reader", "its webhook is not keeping up with what it is sent"),
      );
    }
    const seq = lane.lastSeq = Math.max(lane.lastSeq + 1, Date.now() * 1000);
    const message = isMessage(envelope) ? envelope : undefined;
    const entry: OutboxEntry = {
      seq,
      delivery: crypto.randomUUID(),
      kind: message ? "message" : "notification",
      parts: 0,
      length: body.length,
      ...(envelope.from ? { sender: envelope.from } : {}),
      ...(message?.id ? { messageId: message.id } : {}),
      ...(envelope.to ? { to: envelope.to } : {}),
      attempts: 0,
      notBefore: 0,
    };
    const stored = this.#store.add(identityKey, entry, body);
    lane.items.push({ entry, body, stored });
    lane.bytes += body.length;
    this.#totalBytes += body.length;
    this.wake(identityKey);
    return stored.then((ok) => {
      if (!ok) throw new TransportError("io", "the webhook outbox could not store it");
    });
  }

  /** Runs `identityKey`'s lane now (a queue message, a timer, a new envelope). */
  wake(identityKey: string): void {
    const lane = this.#lanes.get(identityKey);
    if (!lane || lane.running || this.#closed) return;
    lane.running = true;
    const run = this.#run(identityKey, lane).catch((error) => {
      httpLog.error("A webhook lane failed: {error}", { error });
    }).finally(() => {
      lane.running = false;
      this.#runs.delete(run);
      if (lane.items.length === 0 && this.#lanes.get(identityKey) === lane) {
        this.#lanes.delete(identityKey);
      }
    });
    this.#runs.add(run);
  }

  /**
   * Stops delivering: attempts in progress are aborted (and count as not made), timers cleared;
   * what is stored stays for the next start. Resolves once no lane runs.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    for (const ready of this.#ready.splice(0)) ready();
    await Promise.allSettled([...this.#runs]);
    for (const lane of this.#lanes.values()) clearTimeout(lane.timer);
  }

  #lane(identityKey: string): Lane {
    let lane = this.#lanes.get(identityKey);
    if (!lane) {
      lane = { items: [], bytes: 0, lastSeq: 0, running: false, timer: undefined };
      this.#lanes.set(identityKey, lane);
    }
    return lane;
  }

  #body(identityKey: string, item: Pending): Promise<string> {
    if (item.body !== undefined) return Promise.resolve(item.body);
    return this.#store.body(identityKey, item.entry);
  }

  async #run(identityKey: string, lane: Lane): Promise<void> {
    await this.#slot();
    try {
      let settings: WebhookSettings | undefined | null = null;
      while (lane.items.length > 0 && !this.#closed) {
        const item = lane.items[0];
        if (!(await item.stored)) {
          this.#forget(lane, item);
          continue;
        }
        const wait = item.entry.notBefore - Date.now();
        if (wait > 0) {
          this.#schedule(identityKey, lane, wait, false);
          return;
        }
        settings ??= await this.#hooks.settings(identityKey);
        const done = await this.#attempt(identityKey, lane, item, settings);
        if (!done) return;
        this.#forget(lane, item);
        await this.#store.remove(identityKey, item.entry);
      }
    } finally {
      this.#running--;
      this.#ready.shift()?.();
    }
  }

  /** One attempt of the lane's head: true when it is settled (delivered or given up). */
  async #attempt(
    identityKey: string,
    lane: Lane,
    item: Pending,
    settings: WebhookSettings | undefined,
  ): Promise<boolean> {
    const entry = item.entry;
    if (!settings) {
      this.#hooks.failed(identityKey, entry, "the recipient has no webhook any more");
      return true;
    }
    const url = entry.kind === "message" ? settings.messagesUrl : settings.notificationsUrl;
    if (!url) return true; // notifications without a URL are not delivered
    const problem = await this.#hooks.destinationProblem(url);
    if (problem) {
      this.#hooks.failed(identityKey, entry, problem);
      return true;
    }
    const body = await this.#body(identityKey, item);
    const outcome = await postWebhook(
      url,
      settings.secret,
      entry.delivery,
      body,
      this.#limits,
      this.#stop.signal,
    );
    if (this.#closed) return false; // stopped: the attempt counts as not made
    entry.attempts++;
    if (outcome.kind === "delivered") {
      webhookDeliveriesCounter.add(1, OUTCOME.delivered);
      this.#hooks.delivered(identityKey, entry);
      return true;
    }
    const retries = this.#limits.retryDelays;
    if (outcome.kind === "failed" || entry.attempts > retries.length) {
      const tries = entry.attempts === 1 ? "" : ` (gave up after ${entry.attempts} attempts)`;
      webhookDeliveriesCounter.add(1, OUTCOME.failed);
      httpLog.warning("A webhook delivery to {identity} failed: {problem}", () => ({
        identity: identityKey,
        delivery: entry.delivery,
        problem: outcome.problem + tries,
      }));
      this.#hooks.failed(identityKey, entry, outcome.problem + tries);
      return true;
    }
    webhookDeliveriesCounter.add(1, OUTCOME.retry);
    const base = retries[entry.attempts - 1];
    const jittered = base * (0.8 + 0.4 * Math.random());
    const delay = Math.min(3_600_000, Math.max(jittered, outcome.retryAfter ?? 0));
    entry.notBefore = Date.now() + delay;
    await this.#store.update(identityKey, entry);
    this.#schedule(identityKey, lane, delay, true);
    return false;
  }

  #schedule(identityKey: string, lane: Lane, delay: number, durable: boolean): void {
    if (this.#closed) return;
    clearTimeout(lane.timer);
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      this.wake(identityKey);
    }, delay);
    if (durable) {
      const wake: WakeMessage = { lime: "lime.webhook", identity: identityKey };
      this.#kv.enqueue(wake, { delay: Math.ceil(delay) }).catch(() => {});
    }
  }

  #forget(lane: Lane, item: Pending): void {
    lane.items.shift();
    lane.bytes -= item.entry.length;
    this.#totalBytes -= item.entry.length;
  }

  /** Waits for one of the `concurrency` delivery slots. */
  async #slot(): Promise<void> {
    while (this.#running >= this.#limits.concurrency && !this.#closed) {
      await new Promise<void>((resolve) => this.#ready.push(resolve));
    }
    this.#running++;
  }
}
