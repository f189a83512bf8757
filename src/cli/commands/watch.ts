/**
 * `lime watch [--count N]`: prints every message, notification and command that arrives until
 * Ctrl-C, the end of the session, or N envelopes. Messages with an id get a `received`
 * notification back (the channel's `autoNotifyReceipt`).
 * @module
 */
import type { Envelope } from "../../envelope.ts";
import { type CommandContext, withSession } from "../command_context.ts";
import { CliError, describeReason, ExitCode } from "../exit_codes.ts";

/** Runs `lime watch`. */
export function watch(context: CommandContext): Promise<ExitCode> {
  const { options, printer, io } = context;
  return withSession(context, async (channel) => {
    const done = Promise.withResolvers<ExitCode>();
    let stopped = false; // by the count or Ctrl-C: the end of the session is ours then
    done.promise.finally(() => stopped = true).catch(() => {});
    let seen = 0;
    const print = (envelope: Envelope) => {
      if (options.count > 0 && seen >= options.count) return;
      printer.received(envelope);
      if (++seen === options.count) done.resolve(ExitCode.OK);
    };
    const removers = [
      channel.onMessage(print),
      channel.onNotification(print),
      channel.onCommand(print),
      io.onInterrupt(() => done.resolve(ExitCode.OK)),
    ];
    channel.closed.then((info) => {
      if (stopped) return;
      if (info.state === "finished") {
        printer.status("the server finished the session");
        done.resolve(ExitCode.OK);
      } else if (info.state === "failed") {
        done.reject(
          new CliError(
            ExitCode.LIME_FAILURE,
            `the server ended the session: ${describeReason(info.reason ?? { code: 1 })}`,
          ),
        );
      } else {
        done.reject(
          new CliError(
            ExitCode.CANNOT_CONNECT,
            `the connection was lost${info.error ? `: ${info.error.message}` : ""}`,
          ),
        );
      }
    });
    printer.status(
      `watching as ${channel.localNode}${
        options.count ? ` for ${options.count} envelopes` : ""
      } (Ctrl-C to stop)`,
    );
    try {
      return await done.promise;
    } finally {
      for (const remove of removers) remove();
    }
  }, { autoNotifyReceipt: true });
}
