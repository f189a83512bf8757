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
 * import { CommandMethod, isMessage, Message, Node, parseEnvelope, serializeEnvelope } from "./mod.ts";
 *
 * const envelope = parseEnvelope('{"id":"1","from":"alice@localhost/home","type":"text/plain","content":"Hi"}');
 * if (isMessage(envelope)) {
 *   console.log(Node.parse(envelope.from!).name, envelope.content); // → alice Hi
 * }
 * const reply = new Message("text/plain", "Hello!", { to: "alice@localhost" });
 * console.log(serializeEnvelope(reply)); // → {"type":"text/plain","content":"Hello!","to":"alice@localhost"}
 * console.log(CommandMethod.Get); // → get
 * ```
 * @module
 */

// Client channels' command spans and trace context (OpenTelemetry; not in the browser entries).
import "./src/observability/client_telemetry.ts";
export * from "./web.ts";
/**
 * The generated zod schemas (`<Name>Schema` for every envelope, authentication object and
 * document type of the spec, and the tables `DOCUMENT_SCHEMAS`, `AUTHENTICATION_SCHEMAS` and
 * `ENVELOPE_SCHEMAS` by media type, scheme and kind), for code that wants zod. Decoding does not
 * use them: it runs the generated fast checks and explainer, and `web.ts` does not load zod.
 */
export * as Schemas from "./src/generated/validators.generated.ts";
export { DEFAULT_TCP_PORT, TcpTransport } from "./src/transport/tcp.ts";
export type {
  InflationLimits,
  TcpClientTlsOptions,
  TcpServerTlsOptions,
  TcpServerTransportOptions,
  TcpTransportOptions,
} from "./src/transport/tcp_options.ts";
export {
  DEFAULT_MAX_INFLATED_BYTES_PER_SECOND,
  DEFAULT_MAX_INFLATION_RATIO,
} from "./src/transport/tcp_gzip.ts";
export {
  TcpTransportListener,
  type TcpTransportListenerOptions,
} from "./src/transport/tcp_listener.ts";
export {
  type AcceptedWebSocket,
  DEFAULT_ACCEPT_BACKLOG,
  DEFAULT_WEBSOCKET_PORT,
  type WebSocketListenerOptions,
  WebSocketTransportListener,
} from "./src/transport/websocket_server.ts";
export {
  DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
  FAILURE_CLOSE_GRACE,
  WebSocketServerTransport,
  type WebSocketServerTransportOptions,
} from "./src/transport/websocket_server_transport.ts";
export {
  DEFAULT_HANDSHAKE_TIMEOUT,
  MAX_UPGRADE_HEAD,
} from "./src/transport/websocket_handshake.ts";
export type { UpgradedSocket } from "./src/transport/websocket_node_server.ts";
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
export { LimeServer } from "./src/server/lime_server.ts";
export type { Readiness } from "./src/observability/health.ts";
export {
  type ExternalTokenVerifier,
  type LimeServerOptions,
  SERVER_DEFAULTS,
} from "./src/server/server_options.ts";
export {
  LoginThrottle,
  type LoginThrottleOptions,
  type SignInThrottle,
  type ThrottleLimits,
} from "./src/server/guard/login_throttle.ts";
export type { ClusterEngine, EngineHost, RemoteRouting } from "./src/cluster/engine.ts";
export { MemoryEngine } from "./src/cluster/memory_engine.ts";
export { type PasswordWorkOptions } from "./src/server/guard/password_work.ts";
export {
  DEFAULT_RATE_LIMITS,
  type RateLimitOptions,
  type RateLimits,
} from "./src/server/guard/traffic_shaper.ts";
export { DEFAULT_QUOTAS, type ResourceQuotas } from "./src/server/resources/quotas.ts";
export {
  DEFAULT_RESERVED_NAMES,
  IDENTITY_REASONS,
  IdentityRules,
  type LiveSession,
  type SessionView,
} from "./src/server/identity_rules.ts";
export {
  type AccountStore,
  KvAccountStore,
  type StoredAccount,
} from "./src/server/account_store.ts";
export {
  DEFAULT_PBKDF2_ITERATIONS,
  hashPassword,
  type PasswordHash,
  verifyPassword,
} from "./src/server/password_hash.ts";
export {
  type AnswerCharges,
  ServerSession,
  type SessionPresence,
  type UnreadMessage,
} from "./src/server/server_session.ts";
export { SessionRegistry } from "./src/server/session_registry.ts";
export {
  identityTargets,
  type RouteCandidate,
  Router,
  type ServerEndpoint,
  type ServerReply,
} from "./src/server/router.ts";
export { ROUTING_REASONS } from "./src/server/routing_reasons.ts";
export { HTTP_API_DEFAULTS, type HttpApiOptions } from "./src/http/http_edge.ts";
export type { CredentialCacheOptions } from "./src/http/credential_cache.ts";
export { WEBHOOK_DEFAULTS, type WebhookOptions } from "./src/http/webhooks.ts";
export type { DestinationPolicy } from "./src/http/webhook_destination.ts";
export { MIN_WEBHOOK_SECRET, WEBHOOK_TYPE } from "./src/http/webhook_resource.ts";
export {
  type DenoLimeClientOptions,
  denoTransportFactory,
  LimeClient,
} from "./src/client/lime_client_deno.ts";
