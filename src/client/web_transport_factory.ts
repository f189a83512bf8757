/**
 * The browser-safe default transport factory of {@link LimeClient}: WebSocket URIs only. Kept
 * small (it ships in the browser bundle): the Deno client checks URIs with `client_uri.ts`.
 * @module
 */
import { WebSocketTransport } from "../transport/websocket.ts";

/** The browser-safe default: opens a WebSocket transport for `ws://` and `wss://` URIs. */
export async function webTransportFactory(
  uri: string,
  signal: AbortSignal,
): Promise<WebSocketTransport> {
  if (!/^wss?:\/\//i.test(uri)) {
    throw new TypeError(
      `The URI "${uri}" needs ws:// or wss:// (LimeClient from mod.ts takes net.tcp:// too)`,
    );
  }
  const transport = new WebSocketTransport();
  await transport.open(uri, { signal });
  return transport;
}
