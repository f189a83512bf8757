/**
 * Checks the URI a client is given before connecting, so that a mistake is reported with its fix:
 * `localhost:55321` parses as a URL of scheme `localhost:`, and would otherwise fail later with a
 * message about schemes the user never wrote.
 * @module
 */

/**
 * Why `uri` cannot be connected to by a client that knows `schemes` (`net.tcp`, `ws`, `wss`):
 * a sentence naming the fix, or undefined when it is fine.
 */
export function clientUriProblem(uri: string, schemes: readonly string[]): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme !== undefined && schemes.includes(scheme)) return undefined;
  const tcp = schemes.includes("net.tcp");
  if (scheme === undefined) {
    const rest = uri.replace(/^\/+/, "");
    return `The URI "${uri}" needs a scheme: write "${tcp ? "net.tcp" : "ws"}://${rest}"` +
      (tcp ? " for TCP (or ws://, wss:// for WebSocket)" : " (or wss://)");
  }
  return `Cannot connect to "${uri}": the scheme must be ${
    schemes.map((s) => `${s}://`).join(", ")
  }`;
}
