/**
 * The server's establishment algorithm (lime-protocol §4.3, lime-csharp's
 * `ServerChannelExtensions.EstablishSessionAsync`): receive `new`; negotiate only when there is a
 * choice; authenticate through a callback, with round trips; register the node; send
 * `established` with `to`, or `failed` with reason 11, 12, 13, 15, 16 or 17.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Session } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import type {
  AuthenticationScheme,
  SessionCompression,
  SessionEncryption,
} from "../generated/enums.generated.ts";
import { newId } from "../ids.ts";
import { Node } from "../node.ts";
import type { Credentials, DomainRole } from "./authentication/credentials.ts";
import { certificateDomainRole } from "./authentication/transport.ts";
import type { TimeoutOptions } from "./channel_options.ts";
import { deadline } from "./deadline.ts";
import { ChannelError } from "./errors.ts";
import type { ServerChannel } from "./server_channel.ts";
import { TransportError } from "../transport/errors.ts";

/** What an authenticator concluded. */
export interface AuthenticationResult {
  /** `unknown` refuses (unless `roundTrip` asks the client for more). */
  domainRole: DomainRole;
  /** Data for another authentication round trip (sent back with the same scheme). */
  roundTrip?: Record<string, unknown>;
}

/** Facts an authenticator may use besides the credentials. */
export interface AuthenticationContext {
  /** The channel being established. */
  channel: ServerChannel;
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
 * Assigns the session's node from the client's claimed `from` (the candidate); `undefined` or
 * `null` refuses (reason 12).
 */
export type NodeRegistration = (
  candidate: string,
  context: { channel: ServerChannel; domainRole: DomainRole },
) => string | null | undefined | Promise<string | null | undefined>;

/** Options of the server's establishment. */
export interface ServerEstablishOptions extends TimeoutOptions {
  /** Compression offered (kept only when the transport supports it). Default: all it supports. */
  compressionOptions?: readonly SessionCompression[];
  /** Encryption offered (kept only when the transport supports it). Default: all it supports. */
  encryptionOptions?: readonly SessionEncryption[];
  /** Schemes offered. Default `["guest"]`. */
  schemeOptions?: readonly AuthenticationScheme[];
  /**
   * Default: `guest` → member; `transport` → the certificate's role; anything else refused (pass
   * an authenticator to accept `plain`, `key` or `external`).
   */
  authenticator?: ServerAuthenticator;
  /**
   * Default: the candidate, with the server's domain when it has none and instance `default`
   * when it has none.
   */
  register?: NodeRegistration;
}

/** How establishment ended. */
export type EstablishmentResult =
  | { readonly established: true; readonly node: string; readonly domainRole: DomainRole }
  | { readonly established: false; readonly reason: Reason };

const defaultAuthenticator: ServerAuthenticator = (_identity, credentials, context) => ({
  domainRole: credentials.scheme === "guest"
    ? "member"
    : credentials.scheme === "transport"
    ? context.certificateRole
    : "unknown",
});

/**
 * The node a candidate (`from` of the client's credentials) gets by default: its own name (a new
 * UUID without one), its domain or else `serverDomain`, and instance `default` when it has none;
 * undefined when it is not a node or no domain is known.
 */
export function assignNode(
  candidate: string,
  serverDomain: string | undefined,
): string | undefined {
  const node = Node.tryParse(candidate);
  if (!node) return undefined;
  const domain = node.domain ?? serverDomain;
  if (!domain) return undefined;
  return new Node(node.name ?? newId(), domain, node.instance || "default").toString();
}

function defaultRegistration(serverNode: string): NodeRegistration {
  const serverDomain = Node.tryParse(serverNode)?.domain;
  return (candidate) => assignNode(candidate, serverDomain);
}

const REASONS = {
  negotiation: { code: 17, description: "An invalid negotiation option was selected" },
  authentication: { code: 13, description: "The session authentication failed" },
  registration: { code: 12, description: "The session instance registration failed" },
  establishment: { code: 11, description: "The session establishment failed" },
  unexpected: { code: 11, description: "An unexpected server error occurred" },
} as const satisfies Record<string, Reason>;

/** Runs the algorithm on `channel`; `defaultTimeout` bounds it unless the options say otherwise. */
export async function runServerEstablishment(
  channel: ServerChannel,
  options: ServerEstablishOptions,
  defaultTimeout: number,
  clock: Clock,
): Promise<EstablishmentResult> {
  using limit = deadline(
    clock,
    options.timeout ?? defaultTimeout,
    options.signal,
    "Session establishment",
  );
  const wait = { signal: limit.signal };
  const fail = async (reason: Reason): Promise<EstablishmentResult> => {
    await channel.sendFailedSession(reason).catch(() => {});
    return { established: false, reason };
  };
  try {
    let session = await channel.receiveNewSession(wait);
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
      ) return await fail(REASONS.negotiation);
      await channel.sendNegotiatingSession(session.compression, session.encryption, wait);
    }
    const schemeOptions = options.schemeOptions ?? ["guest"];
    const authenticator = options.authenticator ?? defaultAuthenticator;
    const register = options.register ?? defaultRegistration(channel.serverNode);
    session = await channel.authenticateSession(schemeOptions, wait);
    while (
      session.state === "authenticating" && session.from && session.scheme &&
      schemeOptions.includes(session.scheme)
    ) {
      const from = Node.tryParse(session.from);
      if (!from) break;
      const identity = from.identity.toString();
      const credentials: Credentials = {
        scheme: session.scheme,
        authentication: session.authentication ?? {},
      };
      const certificateRole = session.scheme === "transport"
        ? certificateDomainRole(transport.peerCertificate, identity)
        : "unknown";
      const result = await authenticator(identity, credentials, {
        channel,
        session,
        certificateRole,
      });
      if (result.domainRole !== "unknown") {
        const node = await register(session.from, { channel, domainRole: result.domainRole });
        if (!node) return await fail(REASONS.registration);
        await channel.sendEstablishedSession(node, wait);
        return { established: true, node, domainRole: result.domainRole };
      }
      if (!result.roundTrip) return await fail(REASONS.authentication);
      session = await channel.sendAuthenticatingRoundTrip(session.scheme, result.roundTrip, wait);
    }
    return await fail(REASONS.establishment);
  } catch (error) {
    if (channel.violation) return { established: false, reason: channel.violation };
    if (limit.signal.aborted) {
      const timedOut = limit.signal.reason instanceof ChannelError &&
        limit.signal.reason.code === "timeout";
      return await fail(
        timedOut
          ? { code: 16, description: "The session establishment timed out" }
          : { code: 11, description: "The session establishment was aborted by the server" },
      );
    }
    if (
      error instanceof TransportError || (error instanceof ChannelError && error.code === "closed")
    ) {
      return {
        established: false,
        reason: { code: 11, description: `The client went away: ${error.message}` },
      };
    }
    console.error("LIME server channel: establishment failed", error);
    return await fail(REASONS.unexpected);
  }
}
