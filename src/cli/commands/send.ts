/**
 * `lime send TO TEXT`: sends a message with an id and waits for the notification about it that
 * `--wait` names (default `dispatched`), or any later one; `failed` exits with 1 and its reason.
 * @module
 */
import { Command, Message, type Notification } from "../../envelope.ts";
import type { NotificationEvent } from "../../generated/enums.generated.ts";
import { MediaType } from "../../media_type.ts";
import { Node } from "../../node.ts";
import { WAIT_EVENTS } from "../args.ts";
import { type CommandContext, expectSuccess, withSession } from "../command_context.ts";
import { CliError, describeReason, ExitCode, UsageError } from "../exit_codes.ts";

/** The message to send, from the arguments and `--type`. */
function messageOf(context: CommandContext): Message {
  const [to, text] = context.args;
  const node = Node.tryParse(to);
  if (!node?.name || !node.domain) {
    throw new UsageError(
      `TO must be name@domain or name@domain/instance, got ${JSON.stringify(to)}`,
    );
  }
  const type = MediaType.tryParse(context.options.type ?? "text/plain");
  if (!type) {
    throw new UsageError(`--type ${JSON.stringify(context.options.type)} is not a media type`);
  }
  let content: unknown = text;
  if (type.isJson) {
    try {
      content = JSON.parse(text);
    } catch {
      throw new UsageError(`TEXT is not valid JSON (for ${type})`);
    }
  }
  return new Message(type.toString(), content, { id: crypto.randomUUID(), to: node.toString() });
}

const rank = (event: string): number => (WAIT_EVENTS as readonly string[]).indexOf(event);

/** Runs `lime send TO TEXT`. */
export function send(context: CommandContext): Promise<ExitCode> {
  const { options, printer } = context;
  const message = messageOf(context);
  const wait = options.wait;
  return withSession(context, async (channel) => {
    if (wait === "accepted" || wait === "dispatched") {
      // The server sends accepted and dispatched only when asked (failed always).
      const events: NotificationEvent[] = ["accepted", "dispatched", "failed"];
      const response = await channel.processCommand(
        new Command("set", "/receipt", {
          type: "application/vnd.lime.receipt+json",
          resource: { events },
        }),
        { timeout: options.timeout },
      );
      expectSuccess(response, "set /receipt");
    }
    const outcome = Promise.withResolvers<Notification>();
    outcome.promise.catch(() => {}); // awaited only when waiting
    let last: string | undefined;
    const remove = channel.onNotification((notification) => {
      if (notification.id !== message.id) return;
      if (printer.json) printer.envelopeJson(notification);
      last = notification.event;
      if (notification.event === "failed" || rank(notification.event) >= rank(wait)) {
        outcome.resolve(notification);
      }
    });
    channel.closed.then((info) =>
      outcome.reject(
        new CliError(
          ExitCode.CANNOT_CONNECT,
          `the session ended before the message was ${wait}${
            info.reason ? `: ${describeReason(info.reason)}` : ""
          }`,
        ),
      )
    );
    try {
      if (printer.json) printer.envelopeJson(message);
      await channel.sendMessage(message, { signal: AbortSignal.timeout(options.timeout) });
      if (wait === "none") {
        if (!printer.json) printer.data(`sent to ${message.to} (message ${message.id})`);
        return ExitCode.OK;
      }
      const timer = setTimeout(
        () =>
          outcome.reject(
            new CliError(
              ExitCode.TIMEOUT,
              `timed out: no ${wait} notification for message ${message.id} within ${
                options.timeout / 1000
              } s${last ? ` (the last was ${last})` : ""}`,
            ),
          ),
        options.timeout,
      );
      const notification = await outcome.promise.finally(() => clearTimeout(timer));
      if (notification.event === "failed") {
        throw new CliError(
          ExitCode.LIME_FAILURE,
          `message ${message.id} to ${message.to} failed: ${
            describeReason(notification.reason ?? { code: 1 })
          }`,
        );
      }
      if (!printer.json) {
        printer.data(`${notification.event}: ${message.to} (message ${message.id})`);
      }
      return ExitCode.OK;
    } finally {
      remove();
    }
  });
}
