/**
 * How `lime` reaches a server and signs in: the server from `--server` (a URI, or a domain looked
 * up through its `_lime._tcp` SRV record), `$LIME_SERVER` or the identity's domain; the password
 * from `$LIME_PASSWORD` or a prompt; then a {@link ClientChannel} established with it. Each
 * failure becomes a {@link CliError} with the exit code scripts can tell apart (3: cannot
 * connect, 4: refused, 5: timeout).
 * @module
 */
import { guestCredentials } from "../channel/authentication/guest.ts";
import { plainCredentials } from "../channel/authentication/plain.ts";
import type { Credentials } from "../channel/authentication/credentials.ts";
import type { ChannelOptions } from "../channel/channel_options.ts";
import { ClientChannel } from "../channel/client_channel.ts";
import { ChannelError } from "../channel/errors.ts";
import { resolveLimeServer } from "../channel/resolve_server.ts";
import { clientUriProblem } from "../client/client_uri.ts";
import { LimeError } from "../errors.ts";
import { TcpTransport } from "../transport/tcp.ts";
import type { Transport } from "../transport/transport.ts";
import { WebSocketTransport } from "../transport/websocket.ts";
import type { CliOptions } from "./args.ts";
import { CliError, describeReason, ExitCode, UsageError } from "./exit_codes.ts";
import type { CliIo } from "./terminal.ts";

/** Environment variables `lime` reads. */
export const ENV = {
  server: "LIME_SERVER",
  identity: "LIME_IDENTITY",
  password: "LIME_PASSWORD",
} as const;

/** Where to connect when nothing says: the default of `deno task start`. */
export const DEFAULT_SERVER = "net.tcp://localhost:55321";

/** The identity to sign in as, from `--identity` or `$LIME_IDENTITY`. */
export function identityOf(options: CliOptions, io: CliIo): string | undefined {
  const identity = options.identity ?? io.env(ENV.identity);
  if (identity === undefined || identity === "") return undefined;
  if (!/^[^@/\s]+@[^@/\s]+$/.test(identity)) {
    throw new UsageError(
      `--identity must be name@domain, got ${
        JSON.stringify(identity)
      } (the instance is --instance)`,
    );
  }
  return identity;
}

/** The URIs to try, in order: the URI given, or a domain's servers (SRV, else DOMAIN:55321). */
export async function serverUris(
  options: CliOptions,
  identity: string | undefined,
  io: CliIo,
  signal: AbortSignal,
): Promise<string[]> {
  const given = options.server ?? io.env(ENV.server) ?? identity?.split("@")[1];
  if (!given) return [DEFAULT_SERVER];
  if (given.includes(":")) {
    const problem = clientUriProblem(given, ["net.tcp", "ws", "wss"]);
    if (problem) throw new UsageError(`--server: ${problem}`);
    return [given];
  }
  if (!/^[a-z0-9.-]+$/i.test(given)) {
    throw new UsageError(
      `--server must be a URI (net.tcp://, ws://, wss://) or a domain, got ${
        JSON.stringify(given)
      }`,
    );
  }
  const addresses = await resolveLimeServer(given, { signal });
  if (addresses.length === 0) {
    throw new CliError(
      ExitCode.CANNOT_CONNECT,
      `the domain ${given} publishes no LIME service (its _lime._tcp SRV record is ".")`,
    );
  }
  return addresses.map((address) => address.uri);
}

/** The credentials: guest, or plain with the password from `$LIME_PASSWORD` or a prompt. */
export async function credentialsFor(
  identity: string | undefined,
  options: CliOptions,
  io: CliIo,
  confirm = false,
): Promise<Credentials> {
  if (options.guest || identity === undefined) return guestCredentials();
  return plainCredentials(await readPassword(identity, io, confirm));
}

/**
 * The password of `identity`: `$LIME_PASSWORD` (then forgotten, so that no process started later
 * inherits it), else asked on the terminal (twice with `confirm`).
 */
export async function readPassword(identity: string, io: CliIo, confirm = false): Promise<string> {
  const fromEnv = io.env(ENV.password);
  if (fromEnv !== undefined) {
    io.forgetEnv(ENV.password);
    if (fromEnv === "") throw new UsageError(`${ENV.password} is empty`);
    return fromEnv;
  }
  if (!io.stdinIsTerminal) {
    throw new UsageError(
      `no password for ${identity}: set ${ENV.password}, or run in a terminal to be asked for ` +
        "it (or sign in with --guest)",
    );
  }
  const password = await io.promptHidden(`Password for ${identity}: `);
  if (password === "") throw new UsageError("the password is empty");
  if (confirm && await io.promptHidden("Again: ") !== password) {
    throw new UsageError("the passwords differ");
  }
  return password;
}

async function openTransport(uri: string, signal: AbortSignal): Promise<Transport> {
  const transport = /^net\.tcp:/i.test(uri) ? new TcpTransport() : new WebSocketTransport();
  try {
    await transport.open(uri, { signal });
  } catch (error) {
    await transport.close().catch(() => {});
    throw error;
  }
  return transport;
}

/** What {@link openSession} needs. */
export interface SessionRequest {
  /** The command's options. */
  options: CliOptions;
  /** The identity, when signing in as someone. */
  identity?: string;
  /** The credentials. */
  credentials: Credentials;
  /** Channel options (receipts, buffers). */
  channel?: ChannelOptions;
}

/** A random instance, so that two commands of one identity do not replace each other. */
export function randomInstance(): string {
  return `lime-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Connects to the first server that answers and establishes the session. Guests without an
 * identity propose a random name, completed with the server's domain.
 */
export async function openSession(request: SessionRequest, io: CliIo): Promise<ClientChannel> {
  const { options } = request;
  const uris = await serverUris(
    options,
    request.identity,
    io,
    AbortSignal.timeout(options.timeout),
  );
  let transport: Transport | undefined;
  const failures: string[] = [];
  for (const uri of uris) {
    try {
      transport = await openTransport(uri, AbortSignal.timeout(options.timeout));
      break;
    } catch (error) {
      const { message, cause } = error as Error;
      const detail = cause instanceof Error ? cause.message : message;
      failures.push(
        `${uri}: ${detail}${/ECONNREFUSED/.test(detail) ? " (no server listens there)" : ""}`,
      );
    }
  }
  if (!transport) {
    throw new CliError(ExitCode.CANNOT_CONNECT, `cannot connect to ${failures.join("; ")}`);
  }
  const channel = new ClientChannel(transport, request.channel);
  const identity = request.identity ?? crypto.randomUUID();
  try {
    await channel.establishSession({
      identity,
      instance: options.instance ?? randomInstance(),
      credentials: request.credentials,
      timeout: options.timeout,
    });
  } catch (error) {
    throw establishmentFailure(error, uris.length === 1 ? uris[0] : "the server");
  }
  return channel;
}

function establishmentFailure(error: unknown, where: string): CliError {
  if (error instanceof LimeError) {
    return new CliError(
      ExitCode.REFUSED,
      `the server refused the session: ${describeReason(error.reason)}`,
      { cause: error },
    );
  }
  if (error instanceof ChannelError && error.code === "timeout") {
    return new CliError(
      ExitCode.TIMEOUT,
      `timed out: ${where} did not establish a session in time (${error.message})`,
      { cause: error },
    );
  }
  let root: unknown = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  return new CliError(
    ExitCode.CANNOT_CONNECT,
    `cannot establish a session with ${where}: ${(root as Error).message}`,
    { cause: error },
  );
}
