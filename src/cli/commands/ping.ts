/**
 * `lime ping [--to NODE]`: `get /ping` to the server or a node; prints who answered and the round
 * trip time.
 * @module
 */
import { Command } from "../../envelope.ts";
import { type CommandContext, expectSuccess, withSession } from "../command_context.ts";
import { ExitCode } from "../exit_codes.ts";

/** Runs `lime ping`. */
export function ping(context: CommandContext): Promise<ExitCode> {
  const { options, printer } = context;
  return withSession(context, async (channel) => {
    const request = new Command("get", "/ping", options.to ? { to: options.to } : {});
    const started = performance.now();
    const response = await channel.processCommand(request, { timeout: options.timeout });
    const ms = performance.now() - started;
    expectSuccess(response, `get /ping${options.to ? ` to ${options.to}` : ""}`);
    if (printer.json) printer.envelopeJson(response);
    else {printer.data(
        `pong from ${response.from ?? channel.remoteNode ?? "the server"} in ${ms.toFixed(1)} ms`,
      );}
    return ExitCode.OK;
  });
}
