/**
 * The resilient client: keeps one established session alive across network failures. It
 * connects, establishes, and on any loss reconnects with exponential backoff and jitter,
 * re-applying the presence and receipts it had set. Messages sent while disconnected wait in a
 * bounded outbox; messages with an id are resent until confirmed (then dead-lettered); received
 * duplicates are dropped by id; a keepalive detects half-open connections.
 * @module
 */
import type { Handler } from "../channel/channel.ts";
import { ClientChannel } from "../channel/client_channel.ts";
import type { TimeoutOptions, WaitOptions } from "../channel/channel_options.ts";
import { ChannelError } from "../channel/errors.ts";
import { ResourceCommands } from "../channel/resource_commands.ts";
import { type Clock, systemClock, type TimerHandle } from "../clock.ts";
import type { Command, Envelope, Message, Notification } from "../envelope.ts";
import type { SessionState } from "../generated/enums.generated.ts";
import { BACKOFF_DEFAULTS, backoffDelay } from "./backoff.ts";
import {
  KEEPALIVE_DEFAULTS,
  type LimeClientOptions,
  type LimeClientStatus,
  type TransportFactory,
} from "./client_options.ts";
import { LimeClientError } from "./client_errors.ts";
import { Inbound } from "./inbound.ts";
import { isPermanent, stateBeforeFailure } from "./establishment_failures.ts";
import { ResendTracker } from "./resend_tracker.ts";
import { SessionSettings } from "./session_settings.ts";
import { StatusFeed } from "./status_feed.ts";
import { raceWithin, sleepUnlessAborted } from "./waits.ts";
import { webTransportFactory } from "./web_transport_factory.ts";

export { webTransportFactory } from "./web_transport_factory.ts";

/** A client that stays connected. */
export class LimeClient extends ResourceCommands implements AsyncDisposable {
  readonly #options: LimeClientOptions;
  readonly #clock: Clock;
  readonly #factory: TransportFactory;
  readonly #outbox: Envelope[] = [];
  readonly #outboxSize: number;
  readonly #tracker: ResendTracker;
  readonly #inbound: Inbound;
  readonly #status = new StatusFeed();
  readonly #stop = new AbortController();
  #channel: ClientChannel | undefined;
  #established = Promise.withResolvers<ClientChannel>();
  #running: Promise<void> | undefined;
  #resendTimer: TimerHandle | undefined;
  readonly #settings: SessionSettings;
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
    this.#inbound = new Inbound(
      options.dedupeWindow ?? 10_000,
      options.channel?.receiveBufferSize ?? 64,
    );
    this.#settings = new SessionSettings(options.presence, options.receipts);
    this.#established.promise.catch(() => {});
  }

  /** The current status. */
  get status(): LimeClientStatus {
    return this.#status.current;
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
    return this.#inbound.duplicatesDropped;
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
    return this.#status.changes(this.#running !== undefined);
  }

  /** Calls `handler` on every status change; returns a remover. */
  onStatus(handler: Handler<LimeClientStatus>): () => void {
    return this.#status.on(handler);
  }

  /** Calls `handler` for every received message (duplicates dropped); returns a remover. */
  onMessage(handler: Handler<Message>): () => void {
    return this.#inbound.on("message", handler);
  }

  /** Calls `handler` for every received notification. */
  onNotification(handler: Handler<Notification>): () => void {
    return this.#inbound.on("notification", handler);
  }

  /** Calls `handler` for every received command that is not a response. */
  onCommand(handler: Handler<Command>): () => void {
    return this.#inbound.on("command", handler);
  }

  /** Received messages (duplicates dropped) when no `onMessage` handler takes them. */
  messages(options: WaitOptions = {}): AsyncIterable<Message> {
    return this.#inbound.messages(options);
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
        if (response.status === "success") this.#settings.remember(request);
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
      this.#status.set({ state: "connecting", attempt });
      try {
        const channel = await this.#connect();
        attempt = 0;
        const info = await channel.closed;
        this.#channel = undefined;
        this.#stopResendTimer();
        this.#established = Promise.withResolvers();
        this.#established.promise.catch(() => {});
        if (this.#stop.signal.aborted) break;
        this.#status.set({
          state: "disconnected",
          ...(info.error ? { error: info.error } : {}),
          reason: info.reason?.description ?? info.error?.message ?? `session ${info.state}`,
        });
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        this.#status.set({ state: "disconnected", error: error as Error, reason: String(error) });
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
      this.#status.set({ state: "reconnecting", attempt, delay });
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
      this.#inbound.attach(channel, (notification) => this.#tracker.settle(notification));
      await this.#settings.apply(channel);
      // close() ran meanwhile (it saw no channel to finish): do not keep this one.
      if (this.#stop.signal.aborted) throw this.#stop.signal.reason;
    } catch (error) {
      this.#failedWhile = channel.state === "failed" ? before.state : undefined;
      await channel.close().catch(() => {});
      throw error;
    }
    this.#channel = channel;
    await this.#flush(channel, true);
    this.#status.set({ state: "established", node: channel.localNode ?? "", attempt: 0 });
    this.#established.resolve(channel);
    this.#scheduleResends(channel);
    return channel;
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
      // Not sent: the connection went (kept for the next one), or it refused this envelope (too
      // large): then it is dropped, said on the console (a message with an id is also
      // dead-lettered once its resends fail the same way).
      await this.#write(channel, envelope).catch((error) =>
        channel.isEstablished
          ? console.error("LIME client: dropped a refused envelope", error)
          : this.#outbox.unshift(envelope)
      );
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

  // ---------------------------------------------------------------- helpers

  async #waitEstablished(signal?: AbortSignal, timeout = 0): Promise<ClientChannel> {
    if (this.#channel?.isEstablished) return this.#channel;
    if (this.#stop.signal.aborted) throw new LimeClientError("closed", "The client is closed");
    return await raceWithin(this.#established.promise, this.#clock, signal, timeout);
  }

  #sleep(ms: number): Promise<void> {
    return sleepUnlessAborted(this.#clock, ms, this.#stop.signal);
  }

  #finishClosed(error: Error | undefined): void {
    if (this.#status.current.state === "closed") return;
    this.#stopResendTimer();
    const unsent = this.#outbox.splice(0).filter((e): e is Message => "content" in e);
    for (const message of [...this.#tracker.clear(), ...unsent]) {
      this.#options.onDeadLetter?.({ message, reason: "closed" });
    }
    this.#established.reject(error ?? new LimeClientError("closed", "The client is closed"));
    this.#status.set({ state: "closed", ...(error ? { error } : {}) });
    this.#status.end();
    this.#inbound.close();
  }

  #closedOr(error: unknown): unknown {
    return this.#stop.signal.aborted
      ? new LimeClientError("closed", "The client was closed", { cause: error })
      : error;
  }
}
