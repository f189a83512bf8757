/**
 * What `deno task start` prints when the server cannot start: one line that names the fix, never
 * a stack trace. The usual case is an address in use (another server, or a second `deno task
 * start`): the line says which flag moves that listener.
 * @module
 */
import type { ServerConfig } from "./main_flags.ts";

/** The line to print (after `error: `) for an error thrown by `LimeServer.start()`. */
export function startProblem(
  error: unknown,
  config: Pick<ServerConfig, "tcp" | "ws"> & Partial<Pick<ServerConfig, "http">>,
): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!/EADDRINUSE|address already in use/i.test(message)) return message;
  const flags = (["tcp", "ws", "http"] as const).filter((name) => {
    const endpoint = config[name];
    return endpoint && message.includes(`${endpoint.hostname}:${endpoint.port}`);
  });
  const flag = flags.length === 1 ? `--${flags[0]}` : "--tcp, --ws or --http";
  const where = /^Cannot listen on \S+?(?=:\s)/.exec(message)?.[0] ?? "Cannot listen";
  return `${where}: the address is in use (another LIME server?). ` +
    `Stop that process, or give this one another address with ${flag}=HOST:PORT ` +
    `(port 0 picks a free one; ${flag}=off turns that listener off)`;
}
