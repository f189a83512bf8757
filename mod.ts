/**
 * A Deno-native TypeScript implementation of the LIME protocol (limeprotocol.org), the JSON
 * messaging protocol behind BLiP chatbots.
 *
 * The protocol's shapes (envelopes, enums, reason codes, document types, the session state
 * machine) are declared in `spec/` and compiled into `src/generated/`; this module is the
 * hand-written runtime around them.
 *
 * @example Decode, inspect and encode envelopes
 * ```ts
 * import { CommandMethod, Message, Node, parseEnvelope, serializeEnvelope, isMessage } from "./mod.ts";
 *
 * const envelope = parseEnvelope('{"id":"1","from":"alice@localhost/home","type":"text/plain","content":"Hi"}');
 * if (isMessage(envelope)) {
 *   console.log(Node.parse(envelope.from!).name, envelope.content); // "alice" "Hi"
 * }
 * const reply = new Message("text/plain", "Hello!", { to: "alice@localhost" });
 * console.log(serializeEnvelope(reply)); // {"to":"alice@localhost","type":"text/plain","content":"Hello!"}
 * console.log(CommandMethod.Get); // "get"
 * ```
 * @module
 */

export * from "./web.ts";
export { DEFAULT_TCP_PORT, TcpTransport } from "./src/transport/tcp.ts";
export type {
  TcpClientTlsOptions,
  TcpServerTlsOptions,
  TcpServerTransportOptions,
  TcpTransportOptions,
} from "./src/transport/tcp_options.ts";
export {
  TcpTransportListener,
  type TcpTransportListenerOptions,
} from "./src/transport/tcp_listener.ts";
export {
  DEFAULT_ACCEPT_BACKLOG,
  DEFAULT_WEBSOCKET_PORT,
  type WebSocketListenerOptions,
  WebSocketTransportListener,
} from "./src/transport/websocket_server.ts";
export {
  type LimeUpgrade,
  type LimeUpgradeOptions,
  limeUpgradeProblem,
  upgradeLimeWebSocket,
} from "./src/transport/websocket_upgrade.ts";
export {
  DEFAULT_LIME_TCP_PORT,
  type LimeServerAddress,
  resolveLimeServer,
  type ResolveLimeServerOptions,
} from "./src/channel/resolve_server.ts";
