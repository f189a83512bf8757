/**
 * The channel base shared by {@link ClientChannel} and {@link ServerChannel}: one receive loop over
 * the transport that gates every envelope through the generated session state machine, runs the
 * modules, completes pending commands and hands the rest on (`received_traffic.ts`: to `on*`
 * handlers or bounded per-kind buffers, read by iterators and `receive*` calls); and sends, gated
 * the same way.
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import {
  type Command,
  type Envelope,
  envelopeKind,
  isResponse,
  type Message,
  type Notification,
  type Session,
} from "../envelope.ts";
import type { Reason } from "../errors.ts";
import type { SessionState } from "../generated/enums.generated.ts";
import { decideSession, isFinalSessionState } from "../session_machine.ts";
import { ENVELOPE_PERMISSIONS } from "../generated/session.generated.ts";
import type { SessionRole } from "../session_types.ts";
import type { ReceiveQueue } from "../transport/receive_queue.ts";
import type { Transport } from "../transport/transport.ts";
import { BoundedQueue } from "./bounded_queue.ts";
import type { ChannelModule } from "./channel_module.ts";
import {
  CHANNEL_DEFAULTS,
  type ChannelOptions,
  checkDuration,
  type TimeoutOptions,
  type WaitOptions,
} from "./channel_options.ts";
import { ChannelError } from "./errors.ts";
import { PendingCommands } from "./pending_commands.ts";
import { NO_HANDLERS, stillListed, withHandler, withoutHandler } from "../handler_list.ts";
import { SendWatchdog } from "./send_watchdog.ts";
import { builtInModules } from "./modules/built_in.ts";
import { ResourceCommands } from "./resource_commands.ts";
import {
  callHandler,
  type Handler,
  ReceivedTraffic,
  takeFrom,
  type TrafficKind,
} from "./received_traffic.ts";

export type { Handler } from "./received_traffic.ts";

/** How a channel ended. */
export interface ChannelCloseInfo {
  /** The session state at the end (`finished` or `failed` after a proper end). */
  readonly state: SessionState;
  /** The reason of a `failed` session. */
  readonly reason?: Reason;
  /** What broke the channel, when it did not end with `finished` or `failed`. */
  readonly error?: Error;
}

/** A LIME channel over a transport; see {@link ClientChannel} and {@link ServerChannel}. */
export abstract class Channel extends ResourceCommands implements AsyncDisposable {
  /** The transport it runs on. */
  readonly transport: Transport;
  /** Which side this is. */
  readonly role: SessionRole;
  /** The session id (set by the server; learned by the client from the first reply). */
  sessionId: string | undefined;
  /** This side's node, once known. */
  localNode: string | undefined;
  /** The other side's node, once known. */
  remoteNode: string | undefined;
  /** The time source. */
  protected readonly clock: Clock;
  /** Resolved timeouts. */
  protected readonly timeouts: {
    command: number;
    send: number;
    consume: number;
    close: number;
    establishment: number;
  };
  /**
   * When an envelope was last received (on the channel's clock); kept up to date when a remote
   * ping interval or custom modules are configured (it costs a clock read per envelope).
   */
  lastReceivedAt: number;

  #state: SessionState = "new";
  #closeInfo: ChannelCloseInfo | undefined;
  // Made when first asked for: a server's channels are watched through a module, not `closed`.
  #closed: Promise<ChannelCloseInfo> | undefined;
  #resolveClosed: ((info: ChannelCloseInfo) => void) | undefined;
  readonly #pending: PendingCommands;
  readonly #sessions: BoundedQueue<Session>;
  // Copied on change (see `handler_list.ts`).
  #sessionHandlers: readonly Handler<never>[] = NO_HANDLERS;
  readonly #traffic: ReceivedTraffic;
  readonly #modules: ChannelModule[];
  readonly #watchdog: SendWatchdog;
  #failedReason: Reason | undefined;
  #tracksReceiveTime: boolean;
  /** The transport's envelopes, read one at a time by the receive loop. */
  #received: AsyncIterator<Envelope> | undefined;

  /** Wraps an open transport; the receive loop starts at once. */
  constructor(transport: Transport, role: SessionRole, options: ChannelOptions = {}) {
    super();
    for (
      const key of [
        "commandTimeout",
        "sendTimeout",
        "consumeTimeout",
        "closeTimeout",
        "establishmentTimeout",
      ] as const
    ) checkDuration(key, options[key]);
    this.transport = transport;
    this.role = role;
    this.clock = options.clock ?? systemClock;
    this.timeouts = {
      command: options.commandTimeout ?? CHANNEL_DEFAULTS.commandTimeout,
      send: options.sendTimeout ?? CHANNEL_DEFAULTS.sendTimeout,
      consume: options.consumeTimeout ?? CHANNEL_DEFAULTS.consumeTimeout,
      close: options.closeTimeout ?? CHANNEL_DEFAULTS.closeTimeout,
      establishment: options.establishmentTimeout ?? CHANNEL_DEFAULTS.establishmentTimeout,
    };
    this.#traffic = new ReceivedTraffic(
      options.receiveBufferSize ?? CHANNEL_DEFAULTS.receiveBufferSize,
      this.clock,
      this.timeouts.consume,
      this,
    );
    this.#sessions = new BoundedQueue(4);
    this.#pending = new PendingCommands(this.clock);
    this.#watchdog = new SendWatchdog(this.clock, this.timeouts.send, this);
    // Exactly sized (two spreads would leave it room for 16 more: 136 B per server session).
    this.#modules = builtInModules(role, options).concat(options.modules ?? []);
    this.lastReceivedAt = this.clock.now();
    this.#tracksReceiveTime = !!options.remotePingInterval || !!options.modules?.length;
    this.#receiveNext();
  }

  /** Resolves once, when the channel is closed, with how it ended. */
  get closed(): Promise<ChannelCloseInfo> {
    return this.#closed ??= this.#closeInfo
      ? Promise.resolve(this.#closeInfo)
      : new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** The session state. */
  get state(): SessionState {
    return this.#state;
  }

  /** Whether messages, notifications and commands can be sent now. */
  get isEstablished(): boolean {
    return this.#state === "established" && this.transport.isConnected;
  }

  // ---------------------------------------------------------------- sending

  /** Sends a message; only in the `established` state. */
  sendMessage(message: Message, options?: WaitOptions): Promise<void> {
    return this.#sendTraffic("message", message, options);
  }

  /** Sends a notification; only in the `established` state. */
  sendNotification(notification: Notification, options?: WaitOptions): Promise<void> {
    return this.#sendTraffic("notification", notification, options);
  }

  /** Sends a command (a request, or a response to a received one); only when established. */
  sendCommand(command: Command, options?: WaitOptions): Promise<void> {
    return this.#sendTraffic("command", command, options);
  }

  /**
   * Sends a command request and resolves with its response (any status), correlated by id.
   * Rejects with a ChannelError: `duplicate-id` when a request with the same id still waits,
   * `timeout` after `timeout` ms (default: the channel's `commandTimeout`), `aborted` through the
   * signal, `closed` when the channel closes first; the entry and its timer are removed on every
   * path.
   */
  processCommand(request: Command, options: TimeoutOptions = {}): Promise<Command> {
    let response: Promise<Command>;
    try {
      if (isResponse(request) || !request.id) {
        throw new TypeError("processCommand takes a request (a command without status) with an id");
      }
      this.#gate("send", "command");
      response = this.#pending.wait(request.id, {
        timeout: options.timeout ?? this.timeouts.command,
        signal: options.signal,
        to: request.to,
      });
    } catch (error) {
      return Promise.reject(error);
    }
    this.#sendGated(request, options).catch((error) => this.#pending.reject(request.id!, error));
    return response;
  }

  /** Sends a session envelope, gated by the state machine; the state moves accordingly. */
  protected async sendSession(session: Session, options?: WaitOptions): Promise<void> {
    this.recordSessionSend(session);
    await this.#write(session, options);
  }

  /**
   * Checks a session envelope about to be sent against the state machine and moves the state
   * (throws an `invalid-state` ChannelError when the move is not allowed); the caller writes it.
   */
  protected recordSessionSend(session: Session): void {
    const decision = decideSession(this.role, this.#state, "send", {
      kind: "session",
      state: session.state,
    }, this.machineOptions);
    if (!decision.allowed) {
      throw new ChannelError("invalid-state", decision.reason.description!);
    }
    if (session.state === "failed") this.#failedReason = session.reason;
    this.#setState(decision.state);
  }

  // Not async: one promise per send on the hot path instead of two.
  #sendTraffic(kind: TrafficKind, envelope: Envelope, options?: WaitOptions): Promise<void> {
    try {
      this.#gate("send", kind);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sendGated(envelope, options);
  }

  /** Runs the sending modules and writes (the state was checked by the caller). */
  #sendGated(envelope: Envelope, options?: WaitOptions): Promise<void> {
    let out: Envelope | null = envelope;
    try {
      for (const module of this.#modules) {
        if (!module.onSending) continue;
        out = module.onSending(out, this);
        if (out === null) return Promise.resolve();
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(out, options);
  }

  #gate(direction: "send", kind: TrafficKind): void {
    if (!ENVELOPE_PERMISSIONS[kind][direction].includes(this.#state)) {
      throw new ChannelError(
        "invalid-state",
        `Cannot send a ${kind}: session state is "${this.#state}"`,
      );
    }
    if (!this.transport.isConnected || this.#closeInfo) {
      throw new ChannelError("closed", `Cannot send a ${kind}: the channel is closed`);
    }
  }

  #write(envelope: Envelope, options?: WaitOptions): Promise<void> {
    const sent = this.transport.send(envelope, options);
    // A send the connection took at once needs no watching (and no timer).
    if (this.transport.sendsWaiting === false) return sent;
    return this.#watchdog.watch(sent);
  }

  // ---------------------------------------------------------------- receiving

  /** Calls `handler` for every received message (instead of buffering them); returns a remover. */
  onMessage(handler: Handler<Message>): () => void {
    return this.#traffic.subscribe("message", handler as Handler<never>);
  }

  /** Calls `handler` for every received notification; returns a remover. */
  onNotification(handler: Handler<Notification>): () => void {
    return this.#traffic.subscribe("notification", handler as Handler<never>);
  }

  /** Calls `handler` for every received command that is not a response to `processCommand`. */
  onCommand(handler: Handler<Command>): () => void {
    return this.#traffic.subscribe("command", handler as Handler<never>);
  }

  /** Calls `handler` for every received session envelope; returns a remover. */
  onSession(handler: Handler<Session>): () => void {
    this.#sessionHandlers = withHandler(this.#sessionHandlers, handler as Handler<never>);
    return () => {
      this.#sessionHandlers = withoutHandler(this.#sessionHandlers, handler as Handler<never>);
    };
  }

  /** The next received message (when no `onMessage` handler takes them). */
  receiveMessage(options?: WaitOptions): Promise<Message> {
    return this.#traffic.take("message", options) as Promise<Message>;
  }

  /** The next received notification. */
  receiveNotification(options?: WaitOptions): Promise<Notification> {
    return this.#traffic.take("notification", options) as Promise<Notification>;
  }

  /** The next received command. */
  receiveCommand(options?: WaitOptions): Promise<Command> {
    return this.#traffic.take("command", options) as Promise<Command>;
  }

  /** Received messages until the session ends (throws if the channel broke). */
  messages(options?: WaitOptions): AsyncIterable<Message> {
    return this.#traffic.iterate("message", options) as AsyncIterable<Message>;
  }

  /** Received notifications until the session ends. */
  notifications(options?: WaitOptions): AsyncIterable<Notification> {
    return this.#traffic.iterate("notification", options) as AsyncIterable<Notification>;
  }

  /** Received commands (other than responses to `processCommand`) until the session ends. */
  commands(options?: WaitOptions): AsyncIterable<Command> {
    return this.#traffic.iterate("command", options) as AsyncIterable<Command>;
  }

  /** The next session envelope from the peer. */
  protected receiveSession(options?: WaitOptions): Promise<Session> {
    if (isFinalSessionState(this.#state) && this.#sessions.size === 0) {
      return Promise.reject(
        new ChannelError(
          "invalid-state",
          `Cannot receive a session: session state is "${this.#state}"`,
        ),
      );
    }
    return takeFrom(this.#sessions, options);
  }

  // The receive loop, as reactions rather than an async function: a channel waits for its next
  // envelope for its whole life, and a suspended async function keeps its frame (registers,
  // context, await closures) meanwhile. It behaves as `for await (… of transport)` would: each
  // envelope dispatched (and what its dispatch returned awaited) before the next is asked for.

  #receiveNext(): void {
    let next: Promise<IteratorResult<Envelope>>;
    try {
      const received = this.#received ??= this.transport[Symbol.asyncIterator]();
      // A transport's receive queue wakes the loop once there is something (see its `park`).
      if ((received as Partial<ReceiveQueue>).park?.(this.#afterDispatch)) return;
      next = received.next();
    } catch (error) {
      return this.#abort(error); // a transport that cannot be read is closed
    }
    next.then(this.#onReceived, this.#receiveEnded);
  }

  readonly #onReceived = (result: IteratorResult<Envelope>): void => {
    if (result.done) return this.#receiveEnded(undefined);
    let waiting: Promise<void> | void;
    try {
      if (this.#tracksReceiveTime) this.lastReceivedAt = this.clock.now();
      waiting = this.#dispatch(result.value);
    } catch (error) {
      return this.#stopReceiving(error);
    }
    if (waiting) waiting.then(this.#afterDispatch, (error) => this.#stopReceiving(error));
    else this.#afterDispatch();
  };

  readonly #afterDispatch = (): void => {
    if (this.#closeInfo) this.#stopReceiving(undefined);
    else this.#receiveNext();
  };

  /**
   * Leaves the loop from its body (a `break` or a throw): the iterator is told, as a loop would.
   * A throw (a module's or a handler's bug) ends the channel with it and closes the transport:
   * nothing would read it any more.
   */
  #stopReceiving(error: unknown): void {
    try {
      this.#received?.return?.()?.catch(() => {});
    } catch { /* as when the loop is left */ }
    if (error === undefined) this.#receiveEnded(undefined);
    else this.#abort(error);
  }

  /** The loop ended (the transport's envelopes did, or failed): the channel ends once it closed. */
  readonly #receiveEnded = (error: unknown): void => {
    this.transport.closed.then(
      (info) => this.#end(error ?? info?.error),
      () => this.#end(error),
    );
  };

  #dispatch(envelope: Envelope): Promise<void> | void {
    const kind = envelopeKind(envelope);
    if (kind === "session") return this.#receiveSessionEnvelope(envelope as Session);
    // The generated permission table answers directly; the machine explains a refusal.
    if (!ENVELOPE_PERMISSIONS[kind].receive.includes(this.#state)) {
      const decision = decideSession(this.role, this.#state, "receive", { kind });
      return this.protocolViolation(
        decision.allowed ? { code: 15, description: "Not allowed" } : decision.reason,
        envelope,
      );
    }
    let out: Envelope | null = envelope;
    for (const module of this.#modules) {
      if (!module.onReceiving) continue;
      out = module.onReceiving(out, this);
      if (out === null) return;
    }
    if (
      kind === "command" && isResponse(out as Command) &&
      this.#pending.resolve(out as Command, this.remoteNode)
    ) {
      return;
    }
    return this.#traffic.deliver(kind, out);
  }

  #receiveSessionEnvelope(session: Session): Promise<void> | void {
    const idProblem = this.checkSessionId(session);
    if (idProblem) return this.protocolViolation(idProblem, session);
    const decision = decideSession(this.role, this.#state, "receive", {
      kind: "session",
      state: session.state,
    }, this.machineOptions);
    if (!decision.allowed) return this.protocolViolation(decision.reason, session);
    if (session.state === "failed") this.#failedReason = session.reason;
    this.#setState(decision.state);
    this.#sessions.tryPut(session);
    const handlers = this.#sessionHandlers;
    for (let i = 0; i < handlers.length; i++) {
      const handler = handlers[i];
      if (stillListed(handlers, this.#sessionHandlers, handler)) callHandler(handler, session);
    }
    return this.sessionReceived(session);
  }

  // ---------------------------------------------------------------- for subclasses

  /** Options that make opt-in moves of the state machine legal. */
  protected get machineOptions(): { establishWithoutAuthentication?: boolean } {
    return {};
  }

  /** A problem with a received session envelope's id, or undefined when it is fine. */
  protected abstract checkSessionId(session: Session): Reason | undefined;

  /** Reacts to a received (legal) session envelope, after the state moved. */
  protected abstract sessionReceived(session: Session): Promise<void> | void;

  /** Reacts to an envelope the state does not allow (server: fails the session). */
  protected abstract protocolViolation(reason: Reason, envelope: Envelope): Promise<void> | void;

  /** Moves the state and tells the modules. */
  #setState(state: SessionState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const module of this.#modules) {
      try {
        module.onStateChanged?.(state, this);
      } catch (error) {
        console.error("LIME channel: a module failed on a state change", error);
      }
    }
  }

  /** Closes the transport because of `error` (the channel ends with it). */
  #abort(error: unknown): void {
    if (this.#closeInfo) return;
    this.#end(error);
    this.transport.close().catch(() => {});
  }

  /**
   * Closes the transport at once, without a session end; the channel ends with `error` (default:
   * an `aborted` ChannelError) in {@link closed}.
   */
  abort(error: Error = new ChannelError("aborted", "The channel was aborted")): void {
    this.#abort(error);
  }

  #end(error: unknown): void {
    if (this.#closeInfo) return;
    const state = this.#state;
    const graceful = isFinalSessionState(state) && error === undefined;
    const failure = graceful
      ? undefined
      : error instanceof Error
      ? error
      : new ChannelError("closed", `The transport closed in the session state "${state}"`);
    // Made only when someone will see it: an error costs microseconds (its stack), and a graceful
    // end with nothing waiting, the common case, shows it to nobody.
    let made: ChannelError | undefined;
    const channelError = () =>
      made ??= new ChannelError(
        "closed",
        graceful ? `The session is ${state}` : `The channel closed: ${failure!.message}`,
        { cause: failure },
      );
    this.#closeInfo = {
      state,
      ...(this.#failedReason ? { reason: this.#failedReason } : {}),
      ...(failure ? { error: failure } : {}),
    };
    this.#pending.rejectAll(channelError);
    this.#watchdog.stop();
    this.#traffic.close(graceful ? undefined : channelError());
    // After a graceful end `receiveSession` answers `invalid-state` once the queue is empty.
    this.#sessions.close(graceful && !this.#sessions.taking ? undefined : channelError());
    for (const module of this.#modules) {
      try {
        module.onClosed?.(this, this.#closeInfo);
      } catch (caught) {
        console.error("LIME channel: a module failed on close", caught);
      }
    }
    this.#resolveClosed?.(this.#closeInfo);
  }

  /** Closes the transport without a session end (see `finish` on each side for the polite way). */
  async close(): Promise<void> {
    await this.transport.close();
    // A receive loop waiting for room in a full buffer would never see the close: end it here.
    if (this.#traffic.waitingForRoom) this.#end(undefined);
    await this.closed;
  }

  /** Ends the session politely (client: finishing → finished; server: finished), then closes. */
  abstract finish(options?: TimeoutOptions): Promise<void>;

  /** `await using` ends the session politely and closes the transport. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      if (this.#state === "established" && this.transport.isConnected) await this.finish();
    } finally {
      await this.close();
    }
  }
}
