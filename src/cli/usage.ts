/**
 * The help texts of `lime`: the overview (`lime --help`) and one page per command
 * (`lime COMMAND --help`, `lime help COMMAND`).
 * @module
 */
import type { CommandName } from "./args.ts";

const CONNECTION = `Connection (every command):
  -s, --server URI|DOMAIN  net.tcp://host:port, ws://host:port or wss://host:port; or a domain,
                           whose _lime._tcp SRV record is looked up (else DOMAIN:55321).
                           Default: $LIME_SERVER, else the domain of --identity, else
                           net.tcp://localhost:55321
  -i, --identity NAME@DOMAIN
                           who connects. Default: $LIME_IDENTITY; without one, a guest with a
                           random name
      --instance NAME      the instance (default: lime-<random>, so that two commands of the
                           same identity do not replace each other)
      --guest              sign in as a guest (no password)
  -t, --timeout SECONDS    how long to wait for the connection and each answer (default 10)
      --json               print envelopes as JSON lines, as on the wire
      --color WHEN         auto (on a terminal, unless NO_COLOR is set), always or never
  -h, --help               this help

The password of --identity comes from $LIME_PASSWORD, or is asked for on a terminal. It is never
taken on the command line, which every user of the machine can read.`;

const EXIT_CODES = `Exit codes:
  0  done
  1  failed: the server or the peer answered with a reason (printed), or another error
  2  usage: a bad option or argument, or no password available
  3  cannot connect: no LIME server at the address, DNS, TLS, an HTTP port, connection lost
  4  the server refused the session (wrong password, unknown account, guests refused, ...)
  5  timeout: no answer within --timeout`;

/** `lime --help`. */
export const MAIN_USAGE = `lime: a LIME protocol client for people and scripts

Usage: lime COMMAND [ARGUMENTS] [OPTIONS]

Commands:
  ping                     ping the server (or a node with --to)
  send TO TEXT             send a text message; waits until the server dispatched it
  get URI                  get a resource (/account, /presence, /contacts, ...)
  set URI [JSON]           set a resource (JSON from the argument or from stdin)
  delete URI               delete a resource
  watch                    print what arrives until Ctrl-C (or --count envelopes)
  register                 create the account of --identity with the password
  help [COMMAND]           this help, or a command's

${CONNECTION}

${EXIT_CODES}

Examples:
  lime ping
  LIME_PASSWORD=secret lime send bob@localhost "Hi Bob" -i alice@localhost
  lime watch -i alice@localhost --json
  lime get /presence -i alice@localhost -s ws://127.0.0.1:8080

lime --version prints the version.`;

/** The page of each command. */
export const COMMAND_USAGE: Readonly<Record<CommandName, string>> = {
  ping: `Usage: lime ping [--to NODE] [OPTIONS]

Sends "get /ping" to the server (or to NODE with --to) and prints who answered and how long it
took. With --json, prints the response envelope.

  --to NODE   ping this node instead of the server (its client answers pings)`,

  send: `Usage: lime send TO TEXT [--type MEDIA-TYPE] [--wait EVENT] [OPTIONS]

Sends TEXT to TO (name@domain, or name@domain/instance) with an id, and waits for the
notification EVENT about it (default dispatched: the server handed it to the recipient's session).
A failed notification exits with 1 and its reason. With --json, prints the message sent and each
notification received, one JSON line each.

  --type MEDIA-TYPE  the content's media type (default text/plain); a JSON type (application/json,
                     ...+json) takes TEXT as JSON
  --wait EVENT       accepted, dispatched, received, consumed, or none (do not wait)`,

  get: `Usage: lime get URI [--to NODE] [OPTIONS]

Gets a resource and prints it (JSON, indented on a terminal). A failure response exits with 1 and
its reason. With --json, prints the response envelope.

  --to NODE   ask this node instead of the server`,

  set: `Usage: lime set URI [JSON] [--type MEDIA-TYPE] [--to NODE] [OPTIONS]

Sets a resource to JSON (from the argument, or from stdin when it is left out). The media type is
known for the server's resources (/presence, /receipt, /account, /contacts); give it with --type
for others. With --json, prints the response envelope.

  --type MEDIA-TYPE  the resource's media type
  --to NODE          send the command to this node instead of the server`,

  delete: `Usage: lime delete URI [--to NODE] [OPTIONS]

Deletes a resource (for example /contacts/bob@localhost). With --json, prints the response.

  --to NODE   send the command to this node instead of the server`,

  watch: `Usage: lime watch [--count N] [OPTIONS]

Prints every message, notification and command that arrives, one line each (colored on a
terminal; JSON lines with --json), until Ctrl-C, the end of the session, or N envelopes. Messages
with an id are acknowledged with a received notification. A line on stderr says when it is
watching.

  -n, --count N   stop after N envelopes`,

  register: `Usage: lime register -i NAME@DOMAIN [OPTIONS]

Creates the account of NAME@DOMAIN with the password (from $LIME_PASSWORD, or asked twice on a
terminal): signs in as a guest with that identity and sets /account. The server then ends every
guest session of the identity (failed, reason 13): that is the expected outcome, and register
reports success. If the identity has an account already, guests are refused for it (exit 4).`,
};

/** The help of `command`, or the overview. */
export function usage(command?: CommandName): string {
  if (!command) return MAIN_USAGE;
  return `${COMMAND_USAGE[command]}\n\n${CONNECTION}\n\n${EXIT_CODES}`;
}
