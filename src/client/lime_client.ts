/**
 * The resilient client: keeps one established session alive across network failures. It
 * connects, establishes, and on any loss reconnects with exponential backoff and jitter,
 * re-applying the presence and receipts it had set. Messages sent while disconnected wait in a
 * bounded outbox; messages with an id are resent until confirmed (then dead-lettered); received
 * duplicates are dropped by id; a keepalive detects half-open connections.
 * @module
 */
import type { Handler } from "../channel/channel.ts";
import type { ChannelModule } from "../channel/channel_module.ts";
import { ClientChannel } from "../channel/client_channel.ts";
import type { TimeoutOptions, WaitOptions } from "../channel/channel_options.ts";
import { ChannelError } from "../channel/errors.ts";
import { BoundedQueue } from "../channel/bounded_queue.ts";
import { CommandFailedError, ResourceCommands } from "../channel/resource_commands.ts";
import { type Clock, systemClock, type TimerHandle } from "../clock.ts";
import type { Command, Envelope, Message, Notification } from "../envelope.ts";
import { LimeError } from "../errors.ts";
import type { SessionState } from "../generated/enums.generated.ts";
import { Node } from "../node.ts";
import { WebSocketTransport } from "../transport/websocket.ts";
import { BACKOFF_DEFAULTS, backoffDelay } from "./backoff.ts";
import {
  KEEPALIVE_DEFAULTS,
  type LimeClientOptions,
  type LimeClientStatus,
  type TransportFactory,
} from "./client_options.ts";
import { LimeClientError } from "./client_errors.ts";
import { DedupeWindow } from "./dedupe_window.ts";
import { ResendTracker } from "./resend_tracker.ts";

/** The browser-safe default: WebSocket URIs only. */
export async function webTransportFactory(
  uri: string,
  signal: AbortSignal,
): Promise<WebSocketTransport> {
  if (!/^wss?:/i.test(uri)) {
    throw new TypeError(
      `Cannot connect to "${uri}" here: only ws:// and wss:// (import LimeClient from mod.ts for net.tcp://)`,
    );
  }
  const transport = new WebSocketTransport();
  await transport.open(uri, { signal });
  return transport;
}

/**
 * Whether an establishment failure will fail the same way on every attempt. `failedWhile` is the
 * session state the server's `failed` came in.
 */
function isPermanent(error: unknown, failedWhile: SessionState | undefined): boolean {
  // The server refused the presence or receipts of the options: they will be refused again.
  if (error instanceof CommandFailedError) return true;
  // Refused credentials: 13, or 1 in answer to them (lime-go's code for every session failure;
  // a guest whose name is not a UUID gets a bare `{"code":1}` there).
  if (error instanceof LimeError) {
    return error.code === 13 || (error.code === 1 && failedWhile === "authenticating");
  }
  return error instanceof TypeError || error instanceof RangeError;
}

/** Remembers the last state a channel was in before `failed`. */
function stateBeforeFailure(): ChannelModule & { state?: SessionState } {
  return {
    onStateChanged(state) {
      if (state !== "failed") this.state = state;
    },
  };
}

/** A client that stays connected. */
export class LimeClient extends ResourceCommands implements AsyncDisposable {
  readonly #options: LimeClientOptions;
  readonly #clock: Clock;
  readonly #factory: TransportFactory;
  readonly #outbox: Envelope[] = [];
  readonly #outboxSize: number;
  readonly #tracker: ResendTracker;
  readonly #dedupe: DedupeWindow;
  readonly #messages: BoundedQueue<Message>;
  readonly #handlers = {
    message: new Set<Handler<Message>>(),
    notification: new Set<Handler<Notification>>(),
    command: new Set<Handler<Command>>(),
    status: new Set<Handler<LimeClientStatus>>(),
  };
  readonly #statusQueues = new Set<BoundedQueue<LimeClientStatus>>();
  readonly #stop = new AbortController();
  #channel: ClientChannel | undefined;
  #status: LimeClientStatus = { state: "connecting", attempt: 0 };
  #established = Promise.withResolvers<ClientChannel>();
  #running: Promise<void> | undefined;
  #resendTimer: TimerHandle | undefined;
  #presence: unknown;
  #duplicates = 0;
  #receipts: unknown;
  #failedWhile: SessionState | undefined;

  /** Creates a client; {@link start} connects. */
  constructor(options: LimeClientOptions, defaultFactory: TransportFactory = webTransportFactory) {
    super();
    if (!options?.identity) throw new TypeError("A LimeClient needs options.identity");
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#factory = options.transportFactory ?? defaultFactory;
    this.#outboxSize = options.outboxSize ?? 1_000;
    this.#tracker = new ResendTracker(options.resend);
    this.#dedupe = new DedupeWindow(options.dedupeWindow ?? 10_000);
    this.#messages = new BoundedQueue(options.channel?.receiveBufferSize ?? 64);
    this.#presence = options.presence;
    this.#receipts = options.receipts ? { events: options.receipts } : undefined;
    this.#established.promise.catch(() => {});
  }

  /** The current status. */
  get status(): LimeClientStatus {
    return this.#status;
  }

  /** The node the server assigned, while established. */
  get node(): string | undefined {
    return this.#channel?.localNode;
  }

  /** Messages waiting in the outbox. */
  get outboxLength(): number {
    return this.#outbox.length;
  }

  /** Received messages dropped as duplicates (same sender identity and id within the window). */
  get duplicatesDropped(): number {
    return this.#duplicates;
  }

  /** Messages sent and not yet confirmed. */
  get unconfirmed(): number {
    return this.#tracker.size;
  }

  /**
   * Connects and keeps connecting; resolves once the first session is established (rejects when
   * the client closes or gives up first).
   */
  async start(options: WaitOptions = {}): Promise<void> {
    this.#running ??= this.#run();
    await this.#waitEstablished(options.signal);
  }

  /** Every status change from now on, until the client closes. */
  statusChanges(): AsyncIterable<LimeClientStatus> {
    const queue = new BoundedQueue<LimeClientStatus>(1024);
    // Before start() the loop's own first `connecting` comes next: do not yield it twice.
    if (this.#running || this.#status.state === "closed") queue.tryPut(this.#status);
    this.#statusQueues.add(queue);
    if (this.#status.state === "closed") queue.close();
    return queue;
  }

  /** Calls `handler` on every status change; returns a remover. */
  onStatus(handler: Handler<LimeClientStatus>): () => void {
    this.#handlers.status.add(handler);
    return () => this.#handlers.status.delete(handler);
  }

  /** Calls `handler` for every received message (duplicates dropped); returns a remover. */
  onMessage(handler: Handler<Message>): () => void {
    this.#handlers.message.add(handler);
    for (const message of this.#messages.drain()) this.#call(handler, message);
    return () => this.#handlers.message.delete(handler);
  }

  /** Calls `handler` for every received notification. */
  onNotification(handler: Handler<Notification>): () => void {
    this.#handlers.notification.add(handler);
    return () => this.#handlers.notification.delete(handler);
  }

  /** Calls `handler` for every received command that is not a response. */
  onCommand(handler: Handler<Command>): () => void {
    this.#handlers.command.add(handler);
    return () => this.#handlers.command.delete(handler);
  }

  /** Received messages (duplicates dropped) when no `onMessage` handler takes them. */
  messages(options: WaitOptions = {}): AsyncIterable<Message> {
    const queue = this.#messages;
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          try {
            yield await queue.take(options.signal);
          } catch (error) {
            if (queue.closed && queue.size === 0) return;
            throw error;
          }
        }
      },
    };
  }

  /**
   * Sends a message: at once when established (tracked for resending when it has an id), else
   * into the outbox. Rejects with `outbox-full` when the outbox is full, `closed` after close.
   */
  sendMessage(message: Message): Promise<void> {
    return this.#send(message);
  }

  /** Sends a notification (through the outbox while disconnected). */
  sendNotification(notification: Notification): Promise<void> {
    return this.#send(notification);
  }

  /** Sends a command without waiting for a response (a response to a received request). */
  sendCommand(command: Command): Promise<void> {
    return this.#send(command);
  }

  /**
   * Sends a request and resolves with its response. While disconnected it waits for the session
   * (within the timeout). When the connection drops while it waits, an idempotent request
   * (default: `get`) is sent again on the next session; others reject with `disconnected`.
   */
  async processCommand(
    request: Command,
    options: TimeoutOptions & { idempotent?: boolean } = {},
  ): Promise<Command> {
    const timeout = options.timeout ?? this.#options.channel?.commandTimeout ?? 30_000;
    const deadline = this.#clock.now() + timeout;
    const idempotent = options.idempotent ?? request.method === "get";
    for (;;) {
      const left = timeout ? Math.max(1, deadline - this.#clock.now()) : 0;
      const channel = await this.#waitEstablished(options.signal, left);
      try {
        const response = await channel.processCommand(request, {
          timeout: left,
          signal: options.signal,
        });
        // Only what the server accepted is set again after a reconnection (a refused presence
        // would fail every later establishment).
        if (response.status === "success") this.#remember(request);
        return response;
      } catch (error) {
        // Lost: the channel closed, or the server ended the session (`finished`/`failed`) first.
        const lost = error instanceof ChannelError &&
          (error.code === "closed" || (error.code === "invalid-state" && !channel.isEstablished));
        if (!lost || this.#stop.signal.aborted) throw this.#closedOr(error);
        if (!idempotent) {
          throw new LimeClientError(
            "disconnected",
            `The connection was lost while "${request.method} ${request.uri}" waited for its response`,
            { cause: error },
          );
        }
        // The loop swaps in a new session promise when the channel closes (it awaited
        // `closed` first): waiting here keeps the retry from getting the dead channel again.
        await channel.closed;
      }
    }
  }

  /** Finishes the session and stops reconnecting; pending sends in the outbox are dead-lettered. */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) {
      await this.#running;
      return;
    }
    this.#stop.abort(new LimeClientError("closed", "The client was closed"));
    this.#stopResendTimer();
    const channel = this.#channel;
    if (channel) await channel.finish().catch(() => channel.close());
    await this.#running?.catch(() => {});
    this.#finishClosed(undefined);
  }

  /** `await using` closes the client. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- connection loop

  async #run(): Promise<void> {
    const backoff = { ...BACKOFF_DEFAULTS, ...this.#options.reconnect };
    let attempt = 0;
    let failure: Error | undefined;
    while (!this.#stop.signal.aborted) {
      this.#setStatus({ state: "connecting", attempt });
      try {
        const channel = await this.#connect();
        attempt = 0;
        const info = await channel.closed;
        this.#channel = undefined;
        this.#stopResendTimer();
        this.#established = Promise.withResolvers();
        this.#established.promise.catch(() => {});
        if (this.#stop.signal.aborted) break;
        this.#setStatus({
          state: "disconnected",
          ...(info.error ? { error: info.error } : {}),
          reason: info.reason?.description ?? info.error?.message ?? `session ${info.state}`,
        });
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        this.#setStatus({ state: "disconnected", error: error as Error, reason: String(error) });
        if (isPermanent(error, this.#failedWhile)) {
          // Retrying cannot help: refused credentials, or options the channel rejects.
          failure = error as Error;
          break;
        }
      }
      attempt++;
      if (attempt > backoff.maxAttempts) {
        failure = new LimeClientError("gave-up", `Gave up after ${backoff.maxAttempts} attempts`);
        break;
      }
      const delay = backoffDelay(attempt, backoff, this.#options.random);
      this.#setStatus({ state: "reconnecting", attempt, delay });
      await this.#sleep(delay);
    }
    this.#finishClosed(failure);
  }

  async #connect(): Promise<ClientChannel> {
    const options = this.#options;
    const uri = String(options.uri ?? "");
    const transport = await this.#factory(uri, this.#stop.signal);
    const keepalive = options.keepalive === false ? {} : {
      remotePingInterval: options.keepalive?.interval ?? KEEPALIVE_DEFAULTS.interval,
      remoteIdleTimeout: options.keepalive?.timeout ?? KEEPALIVE_DEFAULTS.timeout,
    };
    const before = stateBeforeFailure();
    this.#failedWhile = undefined;
    const channel = new ClientChannel(transport, {
      autoNotifyReceipt: true,
      ...keepalive,
      ...options.channel,
      modules: [...options.channel?.modules ?? [], before],
      clock: this.#clock,
    });
    try {
      await channel.establishSession({
        identity: options.identity,
        instance: options.instance,
        credentials: options.credentials,
        authenticator: options.authenticator,
        compression: options.compression,
        encryption: options.encryption,
        signal: this.#stop.signal,
      });
      this.#attach(channel);
      if (this.#presence) {
        await channel.setResource(
          "/presence",
          "application/vnd.lime.presence+json",
          this.#presence,
        );
      }
      if (this.#receipts) {
        await channel.setResource("/receipt", "application/vnd.lime.receipt+json", this.#receipts);
      }
      // close() ran meanwhile (it saw no channel to finish): do not keep this one.
      if (this.#stop.signal.aborted) throw this.#stop.signal.reason;
    } catch (error) {
      this.#failedWhile = channel.state === "failed" ? before.state : undefined;
      await channel.close().catch(() => {});
      throw error;
    }
    this.#channel = channel;
    await this.#flush(channel, true);
    this.#setStatus({ state: "established", node: channel.localNode ?? "", attempt: 0 });
    this.#established.resolve(channel);
    this.#scheduleResends(channel);
    return channel;
  }

  #attach(channel: ClientChannel): void {
    channel.onMessage((message) => {
      const from = message.from ? Node.tryParse(message.from)?.identity.toString() ?? "" : "";
      if (message.id && this.#dedupe.seen(`${from.toLowerCase()}:${message.id}`)) {
        this.#duplicates++;
        return;
      }
      if (this.#handlers.message.size > 0) {
        for (const handler of this.#handlers.message) this.#call(handler, message);
      } else if (!this.#messages.tryPut(message)) {
        // Full: wait for room (backpressure stops at the channel's handler, so keep it bounded).
        this.#messages.put(message).catch(() => {});
      }
    });
    channel.onNotification((notification) => {
      this.#tracker.settle(notification);
      for (const handler of this.#handlers.notification) this.#call(handler, notification);
    });
    channel.onCommand((command) => {
      for (const handler of this.#handlers.command) this.#call(handler, command);
    });
  }

  // ---------------------------------------------------------------- sending

  #send(envelope: Envelope): Promise<void> {
    if (this.#stop.signal.aborted) {
      return Promise.reject(new LimeClientError("closed", "The client is closed"));
    }
    const channel = this.#channel;
    if (channel?.isEstablished && this.#outbox.length === 0) return this.#write(channel, envelope);
    if (this.#outbox.length >= this.#outboxSize) {
      return Promise.reject(
        new LimeClientError(
          "outbox-full",
          `The outbox is full (${this.#outboxSize} envelopes wait for the connection)`,
        ),
      );
    }
    this.#outbox.push(envelope);
    return Promise.resolve();
  }

  async #write(channel: ClientChannel, envelope: Envelope): Promise<void> {
    if ("content" in envelope) {
      const dead = this.#tracker.track(envelope as Message, this.#clock.now());
      if (dead) this.#options.onDeadLetter?.(dead);
      await channel.sendMessage(envelope as Message);
    } else if ("event" in envelope) await channel.sendNotification(envelope as Notification);
    else await channel.sendCommand(envelope as Command);
  }

  /** After (re)establishment: the outbox in order, then (all) unconfirmed messages. */
  async #flush(channel: ClientChannel, all: boolean): Promise<void> {
    const { resend, dead } = this.#tracker.due(this.#clock.now(), all);
    for (const letter of dead) this.#options.onDeadLetter?.(letter);
    for (const message of resend) await channel.sendMessage(message).catch(() => {});
    while (this.#outbox.length > 0 && channel.isEstablished) {
      const envelope = this.#outbox.shift()!;
      await this.#write(channel, envelope).catch(() => this.#outbox.unshift(envelope));
    }
  }

  #scheduleResends(channel: ClientChannel): void {
    const window = this.#tracker.window;
    if (!window) return;
    this.#resendTimer = this.#clock.setTimeout(() => {
      this.#resendTimer = undefined;
      if (this.#channel !== channel || !channel.isEstablished) return;
      this.#flush(channel, false).finally(() => {
        if (this.#channel === channel) this.#scheduleResends(channel);
      });
    }, window);
  }

  #stopResendTimer(): void {
    if (this.#resendTimer !== undefined) this.#clock.clearTimeout(this.#resendTimer);
    this.#resendTimer = undefined;
  }

  /** Remembers presence and receipts set through the client, to set them again after reconnecting. */
  #remember(request: Command): void {
    if (request.method !== "set" || !request.uri) return;
    const path = request.uri.replace(/^lime:\/\/[^/]*/, "").split("?")[0];
    if (path === "/presence") this.#presence = request.resource;
    if (path === "/receipt") this.#receipts = request.resource;
  }

  // ---------------------------------------------------------------- helpers

  async #waitEstablished(signal?: AbortSignal, timeout = 0): Promise<ClientChannel> {
    if (this.#channel?.isEstablished) return this.#channel;
    if (this.#stop.signal.aborted) throw new LimeClientError("closed", "The client is closed");
    const waits: Promise<ClientChannel>[] = [this.#established.promise];
    const cleanups: (() => void)[] = [];
    if (signal) {
      waits.push(
        new Promise((_, reject) => {
          const onAbort = () => reject(new ChannelError("aborted", "The wait was aborted"));
          if (signal.aborted) onAbort();
          signal.addEventListener("abort", onAbort, { once: true });
          cleanups.push(() => signal.removeEventListener("abort", onAbort));
        }),
      );
    }
    if (timeout) {
      waits.push(
        new Promise((_, reject) => {
          const timer = this.#clock.setTimeout(
            () =>
              reject(
                new ChannelError("timeout", `No session was established within ${timeout} ms`),
              ),
            timeout,
          );
          cleanups.push(() => this.#clock.clearTimeout(timer));
        }),
      );
    }
    try {
      return await Promise.race(waits);
    } finally {
      for (const cleanup of cleanups) cleanup();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.#stop.signal;
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #setStatus(status: LimeClientStatus): void {
    this.#status = status;
    for (const queue of this.#statusQueues) queue.tryPut(status);
    for (const handler of this.#handlers.status) this.#call(handler, status);
  }

  #finishClosed(error: Error | undefined): void {
    if (this.#status.state === "closed") return;
    this.#stopResendTimer();
    const unsent = this.#outbox.splice(0).filter((e): e is Message => "content" in e);
    for (const message of [...this.#tracker.clear(), ...unsent]) {
      this.#options.onDeadLetter?.({ message, reason: "closed" });
    }
    this.#established.reject(error ?? new LimeClientError("closed", "The client is closed"));
    this.#setStatus({ state: "closed", ...(error ? { error } : {}) });
    for (const queue of this.#statusQueues) queue.close();
    this.#statusQueues.clear();
    this.#messages.close();
  }

  #closedOr(error: unknown): unknown {
    return this.#stop.signal.aborted
      ? new LimeClientError("closed", "The client was closed", { cause: error })
      : error;
  }

  #call<T>(handler: Handler<T>, value: T): void {
    try {
      const result = handler(value);
      if (result instanceof Promise) {
        result.catch((error) => console.error("LIME client: a handler rejected", error));
      }
    } catch (error) {
      console.error("LIME client: a handler threw", error);
    }
  }
}
