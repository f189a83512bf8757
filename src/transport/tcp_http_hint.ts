/**
 * A TCP connection whose first bytes are HTTP is a mistake with a known fix: a LIME client
 * pointed at a server's WebSocket (HTTP) port reads `HTTP/1.1 400 Bad Request`, and an HTTP
 * client pointed at a LIME TCP port sends `GET / HTTP/1.1`. Instead of "Unexpected byte 0x48",
 * the connection fails with a `framing` error that says what the peer is and what to use.
 * Only the TCP transport checks (WebSocket messages are never HTTP), and only a connection's
 * first chunk.
 * @module
 */
import { TransportError } from "./errors.ts";

const latin1 = new TextDecoder("latin1");

/** The error for a connection whose first bytes are an HTTP status or request line, if they are. */
export function httpProblem(chunk: Uint8Array): TransportError | undefined {
  // "HTTP/" or an upper-case method and a space: cheap to rule out for a "{".
  const first = chunk[0];
  if (first === undefined || first < 0x41 || first > 0x5a) return undefined;
  const head = latin1.decode(chunk.subarray(0, 128)).split(/\r?\n/)[0];
  const line = JSON.stringify(head.replace(/[^\x20-\x7e]/g, "?").slice(0, 64));
  if (/^HTTP\/\d/.test(head)) {
    return new TransportError(
      "framing",
      `The server answered in HTTP (${line}): this looks like an HTTP server (a LIME server's ` +
        "WebSocket port?), not a LIME TCP port. Connect to it with ws:// or wss://, or use " +
        "net.tcp:// with the server's TCP port (55321 by default)",
    );
  }
  if (/^[A-Z]{3,8} \S+ HTTP\/\d/.test(head)) {
    return new TransportError(
      "framing",
      `The peer sent an HTTP request (${line}) to a LIME TCP port: HTTP and WebSocket clients ` +
        "connect to the server's WebSocket port",
    );
  }
  return undefined;
}
