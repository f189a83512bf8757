/**
 * The browser-safe transport factory of the resilient client: WebSocket URIs only (`mod.ts`'s
 * `LimeClient` adds TCP and SRV lookups).
 * @module
 */
import { WebSocketTransport } from "../transport/websocket.ts";

/** The browser-safe default: WebSocket URIs only. */
export async function webTransportFactory(
  uri: string,
  signal: AbortSignal,
): Promise<WebSocketTransport> {
  if (!/^wss?:/i.test(uri)) {
    throw new TypeError(
      `Cannot connect to "${uri}" here: only ws:// and wss:// (import LimeClient from mod.ts for net.tcp://)`,
    );
  }
  const transport = new WebSocketTransport();
  await transport.open(uri, { signal });
  return transport;
}
