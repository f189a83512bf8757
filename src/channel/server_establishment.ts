/**
 * The server's establishment algorithm (lime-protocol §4.3, lime-csharp's
 * `ServerChannelExtensions.EstablishSessionAsync`): receive `new`; negotiate only when there is a
 * choice; authenticate through a callback, with round trips; register the node; send
 * `established` with `to`, or `failed` with reason 11, 12, 13, 15, 16 or 17.
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { Session } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import type {
  AuthenticationScheme,
  SessionCompression,
  SessionEncryption,
} from "../generated/enums.generated.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { newId } from "../ids.ts";
import { Node } from "../node.ts";
import type { Credentials, DomainRole } from "./authentication/credentials.ts";
import { certificateDomainRole } from "./authentication/transport.ts";
import type { TimeoutOptions } from "./channel_options.ts";
import { ChannelError } from "./errors.ts";
import type { ServerChannel } from "./server_channel.ts";
import { TransportError } from "../transport/errors.ts";

/** What an authenticator concluded. */
export interface AuthenticationResult {
  /** `unknown` refuses (unless `roundTrip` asks the client for more). */
  domainRole: DomainRole;
  /** Data for another authentication round trip (sent back with the same scheme). */
  roundTrip?: Record<string, unknown>;
  /** When refusing: the reason sent to the client. Default 13, "The session authentication failed". */
  reason?: Reason;
  /**
   * When refusing: the precise cause, for the server's logs only (`wrong password`, `unknown
   * account`, ...); never sent, never a secret.
   */
  cause?: string;
}

/** Facts an authenticator may use besides the credentials. */
export interface AuthenticationContext {
  /** The channel being established. */
  channel: ServerChannel;
  /**
   * The node the session will have if authentication succeeds (from {@link NodeAssignment}): the
   * authenticator decides about exactly this node's identity.
   */
  node: string;
  /** The client's `authenticating` envelope. */
  session: Session;
  /** For the `transport` scheme: the role the TLS client certificate gives the identity. */
  certificateRole: DomainRole;
}

/** Decides whether `identity` (`name@domain`) may connect with `credentials`. */
export type ServerAuthenticator = (
  identity: string,
  credentials: Credentials,
  context: AuthenticationContext,
) => AuthenticationResult | Promise<AuthenticationResult>;

/**
 * The node a session will have, decided from the client's claimed `from` (the candidate;
 * `undefined` when the client sent none) BEFORE authentication, so that the authenticator checks
 * exactly the identity that will be assigned. `undefined` refuses (reason 13).
 */
export type NodeAssignment = (
  candidate: string | undefined,
  context: { channel: ServerChannel; scheme: AuthenticationScheme },
) => string | undefined;

/**
 * Registers the assigned, authenticated node: resolves with the node to send in `established`,
 * or refuses with a reason (`undefined`/`null` refuse with reason 12).
 */
export type NodeRegistration = (
  node: string,
  context: { channel: ServerChannel; domainRole: DomainRole; scheme: AuthenticationScheme },
) => string | Reason | null | undefined | Promise<string | Reason | null | undefined>;

/** Options of the server's establishment. */
export interface ServerEstablishOptions extends TimeoutOptions {
  /** Compression offered (kept only when the transport supports it). Default: all it supports. */
  compressionOptions?: readonly SessionCompression[];
  /** Encryption offered (kept only when the transport supports it). Default: all it supports. */
  encryptionOptions?: readonly SessionEncryption[];
  /**
   * Schemes offered: a list, or a function of the channel called when authentication starts
   * (after any TLS switch, so it can offer secrets only over an encrypted transport). Default
   * `["guest"]`.
   */
  schemeOptions?:
    | readonly AuthenticationScheme[]
    | ((channel: ServerChannel) => readonly AuthenticationScheme[]);
  /**
   * Default: `guest` → member; `transport` → the certificate's role; anything else refused (pass
   * an authenticator to accept `plain`, `key` or `external`).
   */
  authenticator?: ServerAuthenticator;
  /**
   * Milliseconds the client has to send its first session envelope (`new`) after connecting; a
   * connection that says nothing is failed with reason 16 long before the whole establishment
   * timeout. Default 5,000; 0 leaves only the establishment timeout.
   */
  firstEnvelopeTimeout?: number;
  /** Default: {@link assignNode} with the server's domain. */
  assign?: NodeAssignment;
  /** Default: the assigned node, as it is. */
  register?: NodeRegistration;
}

/** How establishment ended. */
export type EstablishmentResult =
  | {
    readonly established: true;
    readonly node: string;
    readonly domainRole: DomainRole;
    /** The scheme the client authenticated with. */
    readonly scheme: AuthenticationScheme;
  }
  | {
    readonly established: false;
    readonly reason: Reason;
    /** The server-side cause (for logs; the client got only `reason`). */
    readonly cause?: string;
  };

const defaultAuthenticator: ServerAuthenticator = (_identity, credentials, context) => ({
  domainRole: credentials.scheme === "guest"
    ? "member"
    : credentials.scheme === "transport"
    ? context.certificateRole
    : "unknown",
});

/**
 * The node a candidate (`from` of the client's credentials) gets by default: its own name, its
 * domain or else `serverDomain`, and instance `default` when it has none. A guest that proposes
 * no name (no `from`, or `@domain/instance`) gets a new UUID as its name; any other scheme needs
 * a name. Undefined when the candidate is not a node, has no name outside guest, or no domain is
 * known.
 */
export function assignNode(
  candidate: string | undefined,
  serverDomain: string | undefined,
  scheme: AuthenticationScheme = "guest",
): string | undefined {
  const node = candidate === undefined ? undefined : Node.tryParse(candidate);
  if (candidate !== undefined && !node) return undefined;
  const domain = node?.domain ?? serverDomain;
  if (!domain) return undefined;
  if (!node?.name && scheme !== "guest") return undefined;
  return new Node(node?.name || newId(), domain, node?.instance || "default").toString();
}

function defaultAssignment(serverNode: string): NodeAssignment {
  const serverDomain = Node.tryParse(serverNode)?.domain;
  return (candidate, { scheme }) => assignNode(candidate, serverDomain, scheme);
}

/** Default {@link ServerEstablishOptions.firstEnvelopeTimeout}. */
export const DEFAULT_FIRST_ENVELOPE_TIMEOUT = 5_000;

const REASONS = {
  negotiation: {
    code: ReasonCode.SESSION_NEGOTIATION_INVALID_OPTIONS,
    description: "An invalid negotiation option was selected",
  },
  authentication: {
    code: ReasonCode.SESSION_AUTHENTICATION_FAILED,
    description: "The session authentication failed",
  },
  registration: {
    code: ReasonCode.SESSION_REGISTRATION_ERROR,
    description: "The session instance registration failed",
  },
  noScheme: {
    code: ReasonCode.SESSION_AUTHENTICATION_FAILED,
    description: "No authentication scheme is available on this connection (TLS may be needed)",
  },
  establishment: {
    code: ReasonCode.SESSION_ERROR,
    description: "The session establishment failed",
  },
  unexpected: {
    code: ReasonCode.SESSION_ERROR,
    description: "An unexpected server error occurred",
  },
} as const satisfies Record<string, Reason>;

/**
 * The establishment's limits on one signal and one timer (one deadline nested in another cost an
 * AbortController, a listener and a timer more per login): the first session envelope within
 * `first` ms, the whole establishment within `overall` ms from the start (0: no limit), and the
 * caller's `signal`. The signal aborts with a `timeout` ChannelError naming the limit that ran
 * out, or an `aborted` one carrying the caller's reason.
 */
class EstablishmentLimits implements Disposable {
  readonly #controller = new AbortController();
  readonly #clock: Clock;
  readonly #overall: number;
  readonly #start: number;
  readonly #caller: AbortSignal | undefined;
  #timer: TimerHandle | undefined;
  #waitingForFirst = false;

  constructor(clock: Clock, overall: number, first: number, signal: AbortSignal | undefined) {
    this.#clock = clock;
    this.#overall = overall;
    this.#start = clock.now();
    this.#caller = signal;
    if (signal?.aborted) {
      this.#onAbort();
      return;
    }
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (first && (!overall || first < overall)) {
      this.#waitingForFirst = true;
      this.#arm(first, `Waiting for the first session envelope timed out after ${first} ms`);
    } else if (overall) this.#armOverall();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The first session envelope came: from now on only the overall limit counts. */
  firstEnvelopeIn(): void {
    if (!this.#waitingForFirst) return;
    this.#waitingForFirst = false;
    this.#clear();
    if (this.#overall && !this.signal.aborted) this.#armOverall();
  }

  [Symbol.dispose](): void {
    this.#clear();
    this.#caller?.removeEventListener("abort", this.#onAbort);
  }

  #armOverall(): void {
    this.#arm(
      Math.max(0, this.#start + this.#overall - this.#clock.now()),
      `The session establishment timed out after ${this.#overall} ms`,
    );
  }

  #arm(ms: number, message: string): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#controller.abort(new ChannelError("timeout", message));
    }, ms);
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onAbort = (): void => {
    this.#clear();
    this.#controller.abort(
      new ChannelError("aborted", "The session establishment was aborted", {
        cause: this.#caller!.reason,
      }),
    );
  };
}

/** Runs the algorithm on `channel`; `defaultTimeout` bounds it unless the options say otherwise. */
export async function runServerEstablishment(
  channel: ServerChannel,
  options: ServerEstablishOptions,
  defaultTimeout: number,
  clock: Clock,
): Promise<EstablishmentResult> {
  using limit = new EstablishmentLimits(
    clock,
    options.timeout ?? defaultTimeout,
    options.firstEnvelopeTimeout ?? DEFAULT_FIRST_ENVELOPE_TIMEOUT,
    options.signal,
  );
  const wait = { signal: limit.signal };
  const fail = async (reason: Reason, cause?: string): Promise<EstablishmentResult> => {
    await channel.sendFailedSession(reason).catch(() => {});
    return { established: false, reason, ...(cause ? { cause } : {}) };
  };
  try {
    let session = await channel.receiveNewSession(wait);
    limit.firstEnvelopeIn();
    const transport = channel.transport;
    const compressions = (options.compressionOptions ?? transport.supportedCompression())
      .filter((c) => transport.supportedCompression().includes(c));
    const encryptions = (options.encryptionOptions ?? transport.supportedEncryption())
      .filter((e) => transport.supportedEncryption().includes(e));
    if (compressions.length > 1 || encryptions.length > 1) {
      session = await channel.negotiateSession(
        compressions.length ? compressions : [transport.compression],
        encryptions.length ? encryptions : [transport.encryption],
        wait,
      );
      if (
        !session.compression || !session.encryption ||
        !compressions.includes(session.compression) || !encryptions.includes(session.encryption)
      ) return await fail(REASONS.negotiation, "an option that was not offered was chosen");
      await channel.sendNegotiatingSession(session.compression, session.encryption, wait);
    }
    const offered = options.schemeOptions ?? ["guest"];
    const schemeOptions = typeof offered === "function" ? offered(channel) : offered;
    if (schemeOptions.length === 0) {
      return await fail(REASONS.noScheme, "no scheme is offered on this connection");
    }
    const authenticator = options.authenticator ?? defaultAuthenticator;
    const assign = options.assign ?? defaultAssignment(channel.serverNode);
    const register = options.register ?? ((node: string) => node);
    session = await channel.authenticateSession(schemeOptions, wait);
    while (
      session.state === "authenticating" && session.scheme &&
      schemeOptions.includes(session.scheme)
    ) {
      const scheme = session.scheme;
      // The final node first: the authenticator decides about exactly its identity.
      const node = assign(session.from, { channel, scheme });
      if (!node) return await fail(REASONS.authentication, "the claimed node is not acceptable");
      const identity = Node.parse(node).identity.toString();
      const credentials: Credentials = { scheme, authentication: session.authentication ?? {} };
      const certificateRole = scheme === "transport"
        ? certificateDomainRole(transport.peerCertificate, identity)
        : "unknown";
      const result = await authenticator(identity, credentials, {
        channel,
        node,
        session,
        certificateRole,
      });
      if (result.domainRole !== "unknown") {
        const registered = await register(node, { channel, domainRole: result.domainRole, scheme });
        if (typeof registered !== "string") {
          return await fail(registered ?? REASONS.registration, "registration refused");
        }
        await channel.sendEstablishedSession(registered, wait);
        return { established: true, node: registered, domainRole: result.domainRole, scheme };
      }
      if (result.reason || !result.roundTrip) {
        return await fail(result.reason ?? REASONS.authentication, result.cause);
      }
      session = await channel.sendAuthenticatingRoundTrip(scheme, result.roundTrip, wait);
    }
    return await fail(REASONS.establishment, "a scheme that was not offered was used");
  } catch (error) {
    if (channel.violation) {
      return { established: false, reason: channel.violation, cause: "invalid input" };
    }
    const timeout = [limit.signal.reason, error].find((cause) =>
      cause instanceof ChannelError && cause.code === "timeout"
    ) as ChannelError | undefined;
    if (timeout) {
      return await fail({
        code: ReasonCode.SESSION_NEGOTIATION_TIMEOUT,
        description: timeout.message,
      }, "timed out");
    }
    if (limit.signal.aborted) {
      return await fail({
        code: ReasonCode.SESSION_ERROR,
        description: "The session establishment was aborted by the server",
      }, "aborted by the server");
    }
    if (
      error instanceof TransportError || (error instanceof ChannelError && error.code === "closed")
    ) {
      return {
        established: false,
        reason: {
          code: ReasonCode.SESSION_ERROR,
          description: `The client went away: ${error.message}`,
        },
        cause: "the client went away",
      };
    }
    return await fail(REASONS.unexpected, `unexpected error: ${(error as Error)?.message}`);
  }
}
