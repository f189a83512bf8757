/**
 * The browser-safe default transport factory of {@link LimeClient}: WebSocket URIs only.
 * @module
 */
import { WebSocketTransport } from "../transport/websocket.ts";
import { clientUriProblem } from "./client_uri.ts";

/** The browser-safe default: opens a WebSocket transport for `ws://` and `wss://` URIs. */
export async function webTransportFactory(
  uri: string,
  signal: AbortSignal,
): Promise<WebSocketTransport> {
  const problem = clientUriProblem(uri, ["ws", "wss"]);
  if (problem) throw new TypeError(problem);
  const transport = new WebSocketTransport();
  await transport.open(uri, { signal });
  return transport;
}
