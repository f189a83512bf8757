/**
 * `lime register -i NAME@DOMAIN`: in-band registration. Signs in as a guest with the identity,
 * `set`s `/account` with the password (base64), and expects the server to end the guest session
 * (`failed` 13: the identity belongs to an account now), which is success.
 * @module
 */
import { encodeBase64Text } from "../../channel/authentication/credentials.ts";
import { guestCredentials } from "../../channel/authentication/guest.ts";
import { Command } from "../../envelope.ts";
import { LimeError } from "../../errors.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";
import type { CommandContext } from "../command_context.ts";
import { identityOf, openSession, readPassword } from "../connect.ts";
import { CliError, describeReason, ExitCode, UsageError } from "../exit_codes.ts";
import { KNOWN_TYPES } from "./resource.ts";

/** Runs `lime register`. */
export async function register(context: CommandContext): Promise<ExitCode> {
  const { options, io, printer } = context;
  const identity = identityOf(options, io);
  if (!identity) {
    throw new UsageError('"lime register" needs --identity NAME@DOMAIN (or LIME_IDENTITY)');
  }
  const password = await readPassword(identity, io, true);
  let channel;
  try {
    channel = await openSession({ options, identity, credentials: guestCredentials() }, io);
  } catch (error) {
    if (error instanceof CliError && error.cause instanceof LimeError) {
      throw new CliError(
        ExitCode.REFUSED,
        `cannot register ${identity}: the server refused a guest session for it: ${
          describeReason(error.cause.reason)
        }`,
        { cause: error },
      );
    }
    throw error;
  }
  try {
    const response = await channel.processCommand(
      new Command("set", "/account", {
        type: KNOWN_TYPES["/account"],
        resource: { password: encodeBase64Text(password) },
      }),
      { timeout: options.timeout },
    );
    if (response.status !== "success") {
      throw new CliError(
        ExitCode.LIME_FAILURE,
        `cannot register ${identity}: ${describeReason(response.reason ?? { code: 1 })}`,
      );
    }
    // The account exists: the server now ends this guest session (failed 13), as expected.
    const timer = setTimeout(() => channel.close(), options.timeout);
    const info = await channel.closed.finally(() => clearTimeout(timer));
    const expected = info.state === "failed" &&
      info.reason?.code === ReasonCode.SESSION_AUTHENTICATION_FAILED;
    if (!expected) {
      printer.status(
        `the account was created; the guest session ended otherwise than expected (${info.state}${
          info.reason ? `: ${describeReason(info.reason)}` : ""
        })`,
      );
    }
    if (printer.json) printer.envelopeJson(response);
    else printer.data(`registered ${identity}: sign in with its password`);
    return ExitCode.OK;
  } finally {
    await channel.close();
  }
}
