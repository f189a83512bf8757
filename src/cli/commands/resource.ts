/**
 * `lime get|set|delete URI [JSON]`: one command request; prints the resource (or with `--json`
 * the response envelope).
 * @module
 */
import { Command } from "../../envelope.ts";
import type { CommandMethod } from "../../generated/enums.generated.ts";
import { LimeUri } from "../../lime_uri.ts";
import { MediaType } from "../../media_type.ts";
import { type CommandContext, expectSuccess, withSession } from "../command_context.ts";
import { ExitCode, UsageError } from "../exit_codes.ts";

/** Largest JSON read from stdin. */
const MAX_STDIN_BYTES = 1024 * 1024;

/** The media types of the server's own resources, by path. */
export const KNOWN_TYPES: Readonly<Record<string, string>> = {
  "/presence": "application/vnd.lime.presence+json",
  "/receipt": "application/vnd.lime.receipt+json",
  "/account": "application/vnd.lime.account+json",
  "/contacts": "application/vnd.lime.contact+json",
};

function checkUri(uri: string): string {
  if (!LimeUri.tryParse(uri)) {
    throw new UsageError(
      `${JSON.stringify(uri)} is not a LIME URI (a path such as /presence, or lime://node/path)`,
    );
  }
  return uri;
}

/** The media type of a resource: `--type`, else the server's type for the path. */
function typeOf(uri: string, given: string | undefined): MediaType {
  if (given !== undefined) {
    const type = MediaType.tryParse(given);
    if (!type) throw new UsageError(`--type ${JSON.stringify(given)} is not a media type`);
    return type;
  }
  const path = uri.startsWith("/") ? uri : new URL(uri).pathname;
  const known = KNOWN_TYPES[path] ??
    (path.startsWith("/contacts/") ? KNOWN_TYPES["/contacts"] : "");
  if (!known) throw new UsageError(`give the media type of ${uri} with --type`);
  return MediaType.parse(known);
}

async function resourceOf(context: CommandContext, type: MediaType): Promise<unknown> {
  const { args, io } = context;
  let text = args[1];
  if (text === undefined) {
    if (io.stdinIsTerminal) {
      throw new UsageError('"lime set" needs JSON: as an argument, or on stdin');
    }
    text = await io.readStdin(MAX_STDIN_BYTES);
  }
  if (!type.isJson) return text;
  try {
    return JSON.parse(text);
  } catch {
    // Not quoted: it may hold a password (set /account).
    throw new UsageError(`the resource is not valid JSON (for ${type})`);
  }
}

function run(method: CommandMethod): (context: CommandContext) => Promise<ExitCode> {
  return async (context) => {
    const { args, options, printer } = context;
    const uri = checkUri(args[0]);
    const init: ConstructorParameters<typeof Command>[2] = options.to ? { to: options.to } : {};
    if (method === "set") {
      const type = typeOf(uri, options.type);
      init.type = type.toString();
      init.resource = await resourceOf(context, type);
    }
    return await withSession(context, async (channel) => {
      const response = await channel.processCommand(new Command(method, uri, init), {
        timeout: options.timeout,
      });
      expectSuccess(response, `${method} ${uri}${options.to ? ` to ${options.to}` : ""}`);
      if (printer.json) printer.envelopeJson(response);
      else if (response.resource !== undefined) printer.value(response.resource);
      return ExitCode.OK;
    });
  };
}

/** Runs `lime get URI`. */
export const get: (context: CommandContext) => Promise<ExitCode> = run("get");
/** Runs `lime set URI [JSON]`. */
export const set: (context: CommandContext) => Promise<ExitCode> = run("set");
/** Runs `lime delete URI`. */
export const remove: (context: CommandContext) => Promise<ExitCode> = run("delete");
