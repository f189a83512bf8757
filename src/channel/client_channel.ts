/**
 * The client side of a session (lime-protocol §4.2): the primitives (`startNewSession`,
 * `negotiateSession`, `authenticateSession`, `sendFinishingSession`) and `establishSession`, which
 * runs them with option selectors and an authenticator; TLS and gzip are applied to the transport
 * right after the server's negotiation confirmation.
 * @module
 */
import { type Command, type Envelope, Session } from "../envelope.ts";
import { LimeError, type Reason } from "../errors.ts";
import {
  GENERAL_ERROR,
  SESSION_AUTHENTICATION_FAILED,
  SESSION_ERROR,
} from "../generated/reason_codes.generated.ts";
import type {
  AuthenticationScheme,
  SessionCompression,
  SessionEncryption,
} from "../generated/enums.generated.ts";
import type { Identity } from "../identity.ts";
import type { Transport } from "../transport/transport.ts";
import type { Credentials } from "./authentication/credentials.ts";
import { guestCredentials } from "./authentication/guest.ts";
import { Channel } from "./channel.ts";
import type { ChannelOptions, TimeoutOptions, WaitOptions } from "./channel_options.ts";
import { deadline } from "./deadline.ts";
import { ChannelError } from "./errors.ts";
import { TransportError } from "../transport/errors.ts";
import { clientTelemetry } from "./channel_telemetry.ts";

/** A fixed choice, or a function choosing among the options the server offered. */
export type OptionSelector<T> = T | ((offered: readonly T[]) => T);

/**
 * Produces the credentials to send: called with the schemes the server offers, and on a
 * round trip with the server's `authentication` data.
 */
export type Authenticator = (
  schemeOptions: readonly AuthenticationScheme[],
  roundTrip: Record<string, unknown> | undefined,
) => Credentials | Promise<Credentials>;

/** What {@link ClientChannel.establishSession} needs. */
export interface EstablishSessionOptions extends TimeoutOptions {
  /** Who connects: `name@domain`. */
  identity: string | Identity;
  /** The instance (the part after `/`). Default `default`. */
  instance?: string;
  /** Credentials for a single-shot authentication. Default: guest. */
  credentials?: Credentials;
  /** Chooses credentials from the offered schemes, and answers round trips. Wins over `credentials`. */
  authenticator?: Authenticator;
  /** Compression to choose when the server negotiates. Default: `none` when offered. */
  compression?: OptionSelector<SessionCompression>;
  /**
   * Encryption to choose when the server negotiates. Default: `tls` when offered. `"tls"` given
   * by name is required: when the server does not negotiate and the transport is not encrypted,
   * establishment fails (a `protocol` ChannelError) before anything else is sent.
   */
  encryption?: OptionSelector<SessionEncryption>;
}

const LENIENT = Object.freeze({ establishWithoutAuthentication: true });

const UNKNOWN_FAILURE: Reason = {
  code: GENERAL_ERROR,
  description: "Could not establish the session for an unknown reason",
};

function choose<T extends string>(
  selector: OptionSelector<T> | undefined,
  offered: readonly T[],
  supported: readonly T[],
  preferred: T,
  what: string,
): T {
  const usable = offered.filter((option) => supported.includes(option));
  if (typeof selector === "function") return selector(usable.length > 0 ? usable : offered);
  if (selector !== undefined) return selector;
  if (usable.includes(preferred)) return preferred;
  if (usable.length > 0) return usable[0];
  throw new ChannelError(
    "protocol",
    `The server offers ${what} ${offered.join(", ") || "(nothing)"}; this transport supports ${
      supported.join(", ")
    }`,
  );
}

/** A client channel: establishes a session with a server, then exchanges envelopes. */
export class ClientChannel extends Channel {
  /** Wraps an open transport. */
  constructor(transport: Transport, options: ChannelOptions = {}) {
    super(transport, "client", options);
  }

  /**
   * Sends a command request and resolves with its response, as `Channel.processCommand`; with
   * the telemetry of `mod.ts` installed, the round trip is timed (`lime.command.duration`) and,
   * with a tracer provider, a `CLIENT` span whose context the request carries in `metadata`
   * (`traceparent`).
   */
  override processCommand(request: Command, options: TimeoutOptions = {}): Promise<Command> {
    const telemetry = clientTelemetry.current;
    return telemetry
      ? telemetry.traceCommand(request, () => super.processCommand(request, options))
      : super.processCommand(request, options);
  }

  /**
   * A client accepts the server's opt-in moves (`established` straight from `new` or
   * `negotiating`), as lime-go and lime-java clients do: the server decides whether to skip
   * authentication.
   */
  protected override get machineOptions(): { establishWithoutAuthentication?: boolean } {
    return LENIENT;
  }

  /** Sends `{"state":"new"}` and resolves with the server's reply. */
  async startNewSession(options?: WaitOptions): Promise<Session> {
    await this.sendSession(new Session("new"), options);
    return await this.receiveSession(options);
  }

  /**
   * Sends the chosen options and resolves with the server's next session envelope: after a
   * confirmation, the transport switches to the confirmed compression and encryption first (so
   * the result is normally `authenticating`); on refusal, the `failed` envelope.
   */
  async negotiateSession(
    compression: SessionCompression,
    encryption: SessionEncryption,
    options?: WaitOptions,
  ): Promise<Session> {
    await this.sendSession(
      new Session("negotiating", { id: this.sessionId, compression, encryption }),
      options,
    );
    const reply = await this.receiveSession(options);
    if (reply.state !== "negotiating") return reply;
    if (reply.compression && reply.compression !== this.transport.compression) {
      await this.transport.setCompression(reply.compression, options);
    }
    if (reply.encryption && reply.encryption !== this.transport.encryption) {
      await this.transport.setEncryption(reply.encryption, options);
    }
    return await this.receiveSession(options);
  }

  /**
   * Sends credentials as `identity/instance` and resolves with the server's reply: `established`,
   * `failed`, or `authenticating` again for a round trip.
   */
  async authenticateSession(
    identity: string | Identity,
    credentials: Credentials,
    instance = "default",
    options?: WaitOptions,
  ): Promise<Session> {
    await this.sendSession(
      new Session("authenticating", {
        id: this.sessionId,
        from: `${identity}/${instance}`,
        scheme: credentials.scheme,
        authentication: credentials.authentication,
      }),
      options,
    );
    return await this.receiveSession(options);
  }

  /** Sends `finishing`; the server answers `finished` (see {@link finish}). */
  async sendFinishingSession(options?: WaitOptions): Promise<void> {
    await this.sendSession(new Session("finishing", { id: this.sessionId }), options);
  }

  /**
   * Runs the whole establishment: new → (negotiation) → authentication (with round trips) →
   * established. Resolves with the `established` envelope; rejects with a {@link LimeError}
   * carrying the server's reason when the session fails, or a ChannelError on `timeout` (default:
   * the channel's `establishmentTimeout`) or abort, closing the transport in every failure.
   */
  async establishSession(options: EstablishSessionOptions): Promise<Session> {
    using limit = deadline(
      this.clock,
      options.timeout ?? this.timeouts.establishment,
      options.signal,
      "Session establishment",
    );
    const wait = { signal: limit.signal };
    try {
      let session = await this.startNewSession(wait);
      if (session.state === "negotiating") {
        const compression = choose(
          options.compression,
          session.compressionOptions ?? [],
          this.transport.supportedCompression(),
          "none",
          "compression",
        );
        const encryption = choose(
          options.encryption,
          session.encryptionOptions ?? [],
          this.transport.supportedEncryption(),
          "tls",
          "encryption",
        );
        session = await this.negotiateSession(compression, encryption, wait);
      }
      // "tls" asked for by name is a requirement: a server that skips negotiation (lime-go
      // configured with TLS alone offers a single option, so it does not negotiate) gets nothing
      // sent in the clear.
      if (
        options.encryption === "tls" && this.transport.encryption !== "tls" &&
        session.state !== "failed"
      ) {
        throw new ChannelError(
          "protocol",
          `Encryption "tls" is required, but the server went on to "${session.state}" without negotiating it`,
        );
      }
      if (session.state === "authenticating") {
        const schemeOptions = session.schemeOptions ?? [];
        let credentials = await this.#credentials(options, schemeOptions, undefined);
        session = await this.authenticateSession(
          options.identity,
          credentials,
          options.instance,
          wait,
        );
        while (session.state === "authenticating") {
          if (!options.authenticator) {
            throw new ChannelError(
              "protocol",
              "The server asked for an authentication round trip; pass an authenticator to answer it",
            );
          }
          credentials = await this.#credentials(options, schemeOptions, session.authentication);
          session = await this.authenticateSession(
            options.identity,
            credentials,
            options.instance,
            wait,
          );
        }
      }
      if (session.state === "established") return session;
      throw new LimeError(
        session.state === "failed" && session.reason ? session.reason : UNKNOWN_FAILURE,
      );
    } catch (error) {
      let failure = limit.signal.aborted && limit.signal.reason instanceof Error
        ? limit.signal.reason
        : error;
      // A server may refuse a connection before the client speaks (too many connections): its
      // `failed` arrives with the close, and explains a send that found the transport closing.
      const refusedEarly = error instanceof TransportError && !limit.signal.aborted;
      if (refusedEarly && this.state !== "failed") {
        using wait = deadline(this.clock, this.timeouts.close, undefined, "The refusal");
        await Promise.race([
          this.closed,
          new Promise<void>((resolve) =>
            wait.signal.addEventListener("abort", () => resolve(), { once: true })
          ),
        ]);
      }
      // A `failed` from the server is a proper end (closed without an error); anything else breaks.
      if (this.state === "failed") await this.transport.close().catch(() => {});
      else {
        this.abort(
          failure instanceof Error ? failure : new ChannelError("protocol", String(failure)),
        );
      }
      const info = await this.closed;
      if (refusedEarly && info.state === "failed" && info.reason) {
        failure = new LimeError(info.reason);
      }
      throw failure;
    }
  }

  async #credentials(
    options: EstablishSessionOptions,
    schemeOptions: readonly AuthenticationScheme[],
    roundTrip: Record<string, unknown> | undefined,
  ): Promise<Credentials> {
    if (options.authenticator) return await options.authenticator(schemeOptions, roundTrip);
    const credentials = options.credentials ?? guestCredentials();
    if (schemeOptions.length > 0 && !schemeOptions.includes(credentials.scheme)) {
      throw new LimeError({
        code: SESSION_AUTHENTICATION_FAILED,
        description: `The server offers the schemes ${
          schemeOptions.join(", ")
        }; the credentials are for "${credentials.scheme}"`,
      });
    }
    return credentials;
  }

  /**
   * Ends the session: sends `finishing`, waits for `finished` (or `failed`) up to `timeout`
   * (default: the channel's `closeTimeout`), and closes the transport. Without an established
   * session it only closes the transport. Rejects with a `timeout` ChannelError when the server
   * does not answer in time (the transport is closed all the same).
   */
  async finish(options: TimeoutOptions = {}): Promise<void> {
    if (this.state !== "established" || !this.transport.isConnected) {
      await this.close();
      return;
    }
    using limit = deadline(
      this.clock,
      options.timeout ?? this.timeouts.close,
      options.signal,
      "Finishing the session",
    );
    try {
      await this.sendFinishingSession({ signal: limit.signal });
      await this.receiveSession({ signal: limit.signal });
    } catch (error) {
      if (limit.signal.aborted) {
        this.abort(limit.signal.reason);
        await this.closed;
        throw limit.signal.reason;
      }
      if (!(error instanceof ChannelError && error.code === "closed")) throw error;
    }
    await this.close();
  }

  /** Learns the session id from the first reply; a later different id is a violation. */
  protected checkSessionId(session: Session): Reason | undefined {
    if (this.sessionId && session.id && session.id !== this.sessionId) {
      return {
        code: SESSION_ERROR,
        description: `The server sent session id "${session.id}" in session "${this.sessionId}"`,
      };
    }
    return undefined;
  }

  /** Tracks id and nodes; closes the transport when the session ends. */
  protected async sessionReceived(session: Session): Promise<void> {
    if (session.id) this.sessionId = session.id;
    if (session.state === "established") {
      if (session.to) this.localNode = session.to;
      if (session.from) this.remoteNode = session.from;
    }
    if (session.state === "finished" || session.state === "failed") {
      await this.transport.close().catch(() => {});
    }
  }

  /** A server breaking the protocol: the channel closes with a `protocol` error. */
  protected protocolViolation(reason: Reason, _envelope: Envelope): void {
    this.abort(
      new ChannelError("protocol", `The server broke the protocol: ${reason.description}`, {
        cause: new LimeError(reason),
      }),
    );
  }
}
