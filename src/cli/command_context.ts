/**
 * What every `lime` command gets, and the session wrapper they share: sign in, run, finish.
 * @module
 */
import type { ChannelOptions } from "../channel/channel_options.ts";
import type { ClientChannel } from "../channel/client_channel.ts";
import { CommandFailedError } from "../channel/resource_commands.ts";
import type { Command } from "../envelope.ts";
import type { CliOptions } from "./args.ts";
import { credentialsFor, identityOf, openSession } from "./connect.ts";
import { CliError, describeReason, ExitCode } from "./exit_codes.ts";
import type { Printer } from "./output.ts";
import type { CliIo } from "./terminal.ts";

/** A command's arguments, options and outputs. */
export interface CommandContext {
  /** The positional arguments after the command's name. */
  args: string[];
  /** The options. */
  options: CliOptions;
  /** The process. */
  io: CliIo;
  /** Where to print. */
  printer: Printer;
}

/** Runs a command: returns the exit code, or throws an error {@link classify} maps to one. */
export type CommandRunner = (context: CommandContext) => Promise<ExitCode>;

/**
 * Signs in as `--identity` (guest without one, or with `--guest`), runs `body` on the established
 * channel, then finishes the session (even when `body` throws).
 */
export async function withSession(
  context: CommandContext,
  body: (channel: ClientChannel) => Promise<ExitCode>,
  channelOptions: ChannelOptions = {},
): Promise<ExitCode> {
  const { options, io } = context;
  const identity = identityOf(options, io);
  const credentials = await credentialsFor(identity, options, io);
  const channel = await openSession(
    {
      options,
      identity,
      credentials,
      channel: { commandTimeout: options.timeout, ...channelOptions },
    },
    io,
  );
  try {
    return await body(channel);
  } finally {
    await channel.finish({ timeout: 2000 }).catch(() => channel.close());
  }
}

/** Throws a {@link CliError} (exit 1) for a failure response, naming the request. */
export function expectSuccess(response: Command, what: string): Command {
  if (response.status === "success") return response;
  const reason = new CommandFailedError(response).reason;
  throw new CliError(ExitCode.LIME_FAILURE, `${what} failed: ${describeReason(reason)}`);
}
