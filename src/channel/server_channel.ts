/**
 * The server side of a session (lime-protocol §4.3): primitives named after lime-csharp's
 * ServerChannel, and `establishSession`, which runs the establishment algorithm with an
 * authenticator and a registration callback and fails the session with the reason codes of §4.3
 * (11, 12, 13, 15, 17).
 * @module
 */
// The server answers invalid input with the reason of the offending field at once: it needs the
// explainer installed (codec.ts installs it when loaded; the transports use the fast path only).
import "../codec.ts";
import { Command, type Envelope, Notification, Session } from "../envelope.ts";
import { envelopeKindOf } from "../generated/registry.generated.ts";
import type { Reason, ValidationError } from "../errors.ts";
import {
  type AuthenticationScheme,
  type CommandMethod,
  CommandMethodValues,
  type SessionCompression,
  type SessionEncryption,
} from "../generated/enums.generated.ts";
import { newId } from "../ids.ts";
import { isFinalSessionState } from "../session_machine.ts";
import type { Transport } from "../transport/transport.ts";
import { Channel } from "./channel.ts";
import { deadline } from "./deadline.ts";
import { inputReports } from "./input_reports.ts";
import { repairNotification } from "./peer_tolerance.ts";
import type { ChannelOptions, TimeoutOptions, WaitOptions } from "./channel_options.ts";
import {
  type EstablishmentResult,
  runServerEstablishment,
  type ServerEstablishOptions,
} from "./server_establishment.ts";

/** Options of a server channel. */
export interface ServerChannelOptions extends ChannelOptions {
  /** The server's node, sent as `from` (`postmaster@example.org/server1`). Required. */
  serverNode: string;
  /** The session id. Default: a new UUID. */
  sessionId?: string;
  /**
   * Allow `established` straight from `new` or `negotiating` (no authentication). Default false:
   * lime-js, blip-sdk and lime-python wait for `authenticating` and hang otherwise (§12).
   */
  establishWithoutAuthentication?: boolean;
  /**
   * Largest envelope accepted from the client until the session is established, in bytes (where
   * the transport supports `receiveLimit`): session envelopes are small, and an unauthenticated
   * peer must not make the server parse megabytes. Default 64 KiB
   * ({@link DEFAULT_ESTABLISHMENT_RECEIVE_LIMIT}); the transport's own maximum applies after.
   */
  establishmentReceiveLimit?: number;
}

/** What invalid input goes through before a server channel answers it (see `invalidInputGate`). */
export interface InvalidInputGate {
  /** Takes an invalid envelope: answers it (now or in turn), or says what the transport does. */
  invalid(error: ValidationError): "skip" | "close" | Envelope;
}

/** Default {@link ServerChannelOptions.establishmentReceiveLimit}: 64 KiB. */
export const DEFAULT_ESTABLISHMENT_RECEIVE_LIMIT = 64 * 1024;

/** A server channel: one client session, from `new` to its end. */
export class ServerChannel extends Channel {
  readonly #establishWithoutAuthentication: boolean;
  /** The transport's receive limit to restore once established. */
  readonly #fullReceiveLimit: number | undefined;
  /** The server's node (`from` of everything the server sends). */
  readonly serverNode: string;
  // The invalid-envelope policy it gave its transport, if it did (see `gatesInvalidInput`).
  readonly #policy: Transport["invalidEnvelopePolicy"];
  /**
   * What invalid input goes through before the channel answers it, when the transport answers it
   * the channel's way (`gatesInvalidInput`): a server's rate limits, which call
   * {@link answerInvalid} in turn.
   */
  invalidInputGate: InvalidInputGate | undefined;

  /** Wraps a server-side transport. */
  constructor(transport: Transport, options: ServerChannelOptions) {
    super(transport, "server", options);
    if (!options?.serverNode) throw new TypeError("A server channel needs options.serverNode");
    this.serverNode = options.serverNode;
    this.localNode = options.serverNode;
    this.sessionId = options.sessionId ?? newId();
    this.#establishWithoutAuthentication = options.establishWithoutAuthentication ?? false;
    const limit = options.establishmentReceiveLimit ?? DEFAULT_ESTABLISHMENT_RECEIVE_LIMIT;
    if (transport.receiveLimit !== undefined && limit > 0 && limit < transport.receiveLimit) {
      this.#fullReceiveLimit = transport.receiveLimit;
      transport.receiveLimit = limit;
    }
    // Invalid input gets an answer with its reason instead of a silently dropped connection,
    // unless the transport's owner chose a policy.
    // Bytes that cannot be framed (not JSON, too deep, too large) end the connection; the client
    // is told why first.
    if ("lastWords" in transport && !transport.lastWords) {
      transport.lastWords = (error) => {
        if (isFinalSessionState(this.state)) return undefined;
        const reason = { code: 21, description: `Invalid input: ${error.message}` };
        inputReports.current?.bad({
          category: "unframable",
          code: reason.code,
          remote: transport.remoteEndpoint,
          node: this.remoteNode,
          fatal: true,
        });
        const failed = this.#session("failed", { ...this.#to(), reason });
        this.recordSessionSend(failed);
        this.violation = reason;
        return failed;
      };
    }
    if ("invalidEnvelopePolicy" in transport && !transport.invalidEnvelopePolicy) {
      this.#policy = transport.invalidEnvelopePolicy = (error) =>
        this.invalidInputGate ? this.invalidInputGate.invalid(error) : this.answerInvalid(error);
    }
  }

  /**
   * Whether the transport answers invalid input the channel's way now (its owner may have set
   * another policy since): only then does `invalidInputGate` see it.
   */
  get gatesInvalidInput(): boolean {
    return this.#policy !== undefined && this.transport.invalidEnvelopePolicy === this.#policy;
  }

  /**
   * Answers an envelope that is JSON but not valid LIME with the error's reason (21–27): a
   * command request with a failure response, a message with a `failed` notification (both when
   * established and the envelope has an id). A notification from an established peer is never
   * answered: one whose `reason` is text in lime-python's shape (`"text (Code 101)"`, blip-sdk's
   * `failed` when a bot's handler raises) is read into `{ code, description }` and delivered in
   * its place; any other is dropped and reported (`inputReports`), and the session goes on.
   * Anything else fails the session.
   */
  answerInvalid(error: ValidationError): "skip" | Envelope {
    if (isFinalSessionState(this.state)) return "skip";
    const raw = error.envelope ?? {};
    const id = typeof raw.id === "string" && raw.id !== "" ? raw.id : undefined;
    const to = this.remoteNode ? { to: this.remoteNode } : {};
    if (this.state === "established" && envelopeKindOf(raw)?.kind === "notification") {
      const repaired = repairNotification(raw);
      if (repaired) return repaired;
      inputReports.current?.dropped({
        kind: "notification",
        node: this.remoteNode,
        remote: this.transport.remoteEndpoint,
        id,
        problem: error.message,
      });
      return "skip";
    }
    const answered = this.state === "established" && id !== undefined;
    inputReports.current?.bad({
      category: envelopeKindOf(raw)?.kind ?? "unknown",
      code: error.reason.code,
      remote: this.transport.remoteEndpoint,
      node: this.remoteNode,
      fatal: !answered,
    });
    if (this.state === "established" && id) {
      const method = raw.method;
      if (
        "method" in raw && raw.status === undefined && typeof method === "string" &&
        (CommandMethodValues as readonly string[]).includes(method)
      ) {
        this.sendCommand(
          new Command(method as CommandMethod, undefined, {
            id,
            ...to,
            status: "failure",
            reason: error.reason,
          }),
        ).catch(() => {});
        return "skip";
      }
      if ("content" in raw) {
        this.sendNotification(new Notification("failed", { id, ...to, reason: error.reason }))
          .catch(() => {});
        return "skip";
      }
    }
    this.violation = error.reason;
    this.sendFailedSession(error.reason).catch(() => {});
    return "skip";
  }

  /** Lets the opt-in moves through the state machine when configured. */
  protected override get machineOptions(): { establishWithoutAuthentication?: boolean } {
    return { establishWithoutAuthentication: this.#establishWithoutAuthentication };
  }

  /** Resolves with the client's first session envelope (normally `new`). */
  receiveNewSession(options?: WaitOptions): Promise<Session> {
    return this.receiveSession(options);
  }

  /** Offers compression and encryption options; resolves with the client's choice. */
  async negotiateSession(
    compressionOptions: readonly SessionCompression[],
    encryptionOptions: readonly SessionEncryption[],
    options?: WaitOptions,
  ): Promise<Session> {
    if (compressionOptions.length === 0 || encryptionOptions.length === 0) {
      throw new RangeError("Negotiation needs at least one compression and one encryption option");
    }
    await this.sendSession(
      this.#session("negotiating", {
        compressionOptions: [...compressionOptions],
        encryptionOptions: [...encryptionOptions],
      }),
      options,
    );
    return await this.receiveSession(options);
  }

  /**
   * Confirms the chosen options, then switches the transport to them (TLS handshake as the
   * server, then gzip).
   */
  async sendNegotiatingSession(
    compression: SessionCompression,
    encryption: SessionEncryption,
    options?: WaitOptions,
  ): Promise<void> {
    const switches = compression !== this.transport.compression ||
      encryption !== this.transport.encryption;
    // Nothing to switch: the authentication offer follows at once; one write for both.
    if (!switches) this.transport.holdSends?.();
    await this.sendSession(this.#session("negotiating", { compression, encryption }), options);
    if (compression !== this.transport.compression) {
      await this.transport.setCompression(compression, options);
    }
    if (encryption !== this.transport.encryption) {
      await this.transport.setEncryption(encryption, options);
    }
  }

  /** Offers authentication schemes; resolves with the client's credentials. */
  async authenticateSession(
    schemeOptions: readonly AuthenticationScheme[],
    options?: WaitOptions,
  ): Promise<Session> {
    if (schemeOptions.length === 0) throw new RangeError("Offer at least one scheme");
    await this.sendSession(
      this.#session("authenticating", { schemeOptions: [...schemeOptions] }),
      options,
    );
    return await this.receiveSession(options);
  }

  /** Sends round-trip authentication data; resolves with the client's next credentials. */
  async sendAuthenticatingRoundTrip(
    scheme: AuthenticationScheme,
    roundTrip: Record<string, unknown>,
    options?: WaitOptions,
  ): Promise<Session> {
    await this.sendSession(
      this.#session("authenticating", { scheme, authentication: roundTrip }),
      options,
    );
    return await this.receiveSession(options);
  }

  /** Establishes the session for `node` (always sent as `to`, which blip-sdk needs). */
  async sendEstablishedSession(node: string, options?: WaitOptions): Promise<void> {
    const previous = this.remoteNode;
    this.remoteNode = node;
    try {
      const sent = this.sendSession(this.#session("established", { to: node }), options);
      // Established (the state moved as the envelope was handed over): full-size envelopes now.
      if (this.#fullReceiveLimit !== undefined && this.state === "established") {
        this.transport.receiveLimit = this.#fullReceiveLimit;
      }
      await sent;
    } catch (error) {
      // Refused by the state machine: nobody was established (a later `failed` has no `to`).
      if (this.state !== "established") this.remoteNode = previous;
      throw error;
    }
  }

  /** Sends `finished` and closes the transport. */
  async sendFinishedSession(options?: WaitOptions): Promise<void> {
    try {
      await this.sendSession(this.#session("finished", this.#to()), options);
    } finally {
      await this.close();
    }
  }

  /** Sends `failed` with `reason` and closes the transport. */
  async sendFailedSession(reason: Reason, options?: WaitOptions): Promise<void> {
    try {
      await this.sendSession(this.#session("failed", { ...this.#to(), reason }), options);
    } finally {
      await this.close();
    }
  }

  /**
   * Runs the establishment algorithm of §4.3; see {@link ServerEstablishOptions}. Resolves with
   * the outcome (the node and role when established, the reason when failed); never rejects for
   * what the client does: every failure is sent to the client as `failed` with its reason.
   */
  establishSession(options: ServerEstablishOptions = {}): Promise<EstablishmentResult> {
    return runServerEstablishment(this, options, this.timeouts.establishment, this.clock);
  }

  /**
   * Ends the session: sends `finished` (when not over yet) and closes the transport. With
   * `linger`, first waits up to that many ms for the client to hang up (it does on `finished`):
   * closing under a client that is still sending resets the connection, which can destroy
   * `finished` on its way (TCP RST; a WebSocket error close on Deno).
   */
  async finish(options: TimeoutOptions & { linger?: number } = {}): Promise<void> {
    if (isFinalSessionState(this.state) || !this.transport.isConnected) {
      await this.close();
      return;
    }
    if (!options.linger) {
      await this.sendFinishedSession(options).catch(() => {});
      return;
    }
    try {
      await this.sendSession(this.#session("finished", this.#to()), options);
      using limit = deadline(this.clock, options.linger, undefined, "Waiting for the hang-up");
      await new Promise<unknown>((resolve) => {
        this.closed.then(resolve);
        limit.signal.addEventListener("abort", resolve, { once: true });
      });
    } catch {
      // Closing anyway.
    } finally {
      await this.close();
    }
  }

  /** After `new`, every session envelope must carry this session's id (reason 11). */
  protected checkSessionId(session: Session): Reason | undefined {
    if (session.state === "new") return undefined;
    if (session.id === this.sessionId) return undefined;
    return {
      code: 11,
      description: session.id
        ? `Invalid session id "${session.id}"`
        : `Invalid session id: a "${session.state}" session envelope needs the session id`,
    };
  }

  /**
   * Answers `finishing` with `finished`. (Not awaited: the receive loop must keep running for the
   * close to complete; the state is `finished` at once, so nothing more is accepted.)
   */
  protected sessionReceived(session: Session): void {
    if (session.state === "finishing") this.sendFinishedSession().catch(() => {});
  }

  /** The client broke the protocol: the session fails with the machine's reason. */
  protected protocolViolation(reason: Reason, _envelope: Envelope): void {
    if (isFinalSessionState(this.state)) return;
    this.violation = reason;
    this.sendFailedSession(reason).catch(() => {});
  }

  /** The reason of the last violation by the client, if any. */
  violation: Reason | undefined;

  /**
   * The reason of the `failed` this side sent, once it sent one (what the client was told). The
   * base channel keeps it too, privately: a getter there would weigh on `lime.web.js`.
   */
  failedWith: Reason | undefined;

  /** Moves the state for a session envelope about to be sent; keeps the reason of a `failed`. */
  protected override recordSessionSend(session: Session): void {
    super.recordSessionSend(session);
    if (session.state === "failed") this.failedWith = session.reason;
  }

  #to(): { to?: string } {
    return this.remoteNode ? { to: this.remoteNode } : {};
  }

  #session(state: Session["state"], init: ConstructorParameters<typeof Session>[1]): Session {
    return new Session(state, { id: this.sessionId, from: this.serverNode, ...init });
  }
}
