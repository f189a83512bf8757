/**
 * The module's loggers (LogTape, library-first: silent until the application configures a sink
 * with LogTape's `configure`; `deno task start` does, see `log_setup.ts`). Categories:
 * `["lime","server"]` (listening, shutdown), `["lime","server","session"]` (established,
 * ended, refused with the server-side cause), `["lime","server","input"]` (bad input),
 * `["lime","server","guard"]` (slow readers, rate and quota refusals, limits hit),
 * `["lime","cluster"]` (the Redis engine), `["lime","http"]` (the HTTP API and webhooks). Nothing
 * logs per routed envelope at `info`; messages are templates with properties, never a password,
 * key or token.
 * @module
 */
import { getLogger, type Logger } from "npm:@logtape/logtape@2.4.2";

/** `["lime","server"]`: listeners, shutdown, engine. */
export const serverLog: Logger = getLogger(["lime", "server"]);
/** `["lime","server","session"]`: sessions established, ended, refused. */
export const sessionLog: Logger = getLogger(["lime", "server", "session"]);
/** `["lime","server","input"]`: invalid input from peers. */
export const inputLog: Logger = getLogger(["lime", "server", "input"]);
/** `["lime","server","guard"]`: slow readers, rates, quotas and limits. */
export const guardLog: Logger = getLogger(["lime", "server", "guard"]);
/** `["lime","cluster"]`: the Redis engine (Redis reachability, inbox, directory, rescues). */
export const clusterLog: Logger = getLogger(["lime", "cluster"]);
/** `["lime","http"]`: the HTTP API and webhooks. */
export const httpLog: Logger = getLogger(["lime", "http"]);
