/**
 * The browser-safe part of the LIME module: codec, value types, envelopes, generated tables,
 * session machine, and the transports that run on Web APIs only (WebSocket client, memory).
 * `mod.ts` adds the TCP transport (`node:net`/`node:tls`), the Deno server-side pieces and the
 * generated zod schemas (decoding does not need zod, so this module does not load it).
 * `web_client.ts` is the client path alone, the entry of the browser bundle `dist/lime.web.js`
 * (`deno task bundle`), which loads the explainer only on demand.
 *
 * @example Connect over WebSocket (from a page, or from Deno)
 * ```ts
 * import { Session, WebSocketTransport } from "./web.ts";
 *
 * const transport = new WebSocketTransport();
 * await transport.open("ws://127.0.0.1:8080"); // `deno task start` listens there
 * await transport.send(new Session("new"));
 * for await (const envelope of transport) {
 *   console.log((envelope as Session).state); // → authenticating
 *   break;
 * }
 * await transport.close();
 * ```
 * @module
 */

export { formatPath, parseEnvelope, serializeEnvelope, validateEnvelope } from "./src/codec.ts";
export {
  Command,
  type CommandInit,
  type Envelope,
  EnvelopeBase,
  type EnvelopeInit,
  type EnvelopeKind,
  envelopeKind,
  isCommand,
  isMessage,
  isNotification,
  isResponse,
  isSession,
  Message,
  type Metadata,
  type NodeLike,
  Notification,
  Session,
  type SessionInit,
} from "./src/envelope.ts";
export {
  type JsonPath,
  LimeError,
  type Reason,
  ValidationError,
  type ValidationIssue,
} from "./src/errors.ts";
export { Identity } from "./src/identity.ts";
export { Node } from "./src/node.ts";
export { isJsonMediaType, MediaType } from "./src/media_type.ts";
export { isPingUri, LimeUri } from "./src/lime_uri.ts";
export { newId } from "./src/ids.ts";
export { checkDocument, lookupDocumentType } from "./src/document_check.ts";
export { explainDocument } from "./src/document_explain.ts";
export type {
  AuthenticationEntry,
  Check,
  DocumentEntry,
  EnvelopeKindEntry,
  Explain,
  ExplainedIssue,
  FieldReasons,
  SchemaIssue,
  SchemaValidator,
} from "./src/document_types.ts";
export {
  decideSession,
  isFinalSessionState,
  type SessionDecision,
  type SessionDirection,
  type SessionInput,
  type SessionMachineOptions,
} from "./src/session_machine.ts";
export type {
  EnvelopePermission,
  SessionFailure,
  SessionMove,
  SessionRole,
  SessionStateInfo,
} from "./src/session_types.ts";
export * from "./src/generated/enums.generated.ts";
export * from "./src/generated/reasons.generated.ts";
export {
  AUTHENTICATION_TYPES,
  DOCUMENT_TYPES,
  ENVELOPE_KINDS,
} from "./src/generated/registry.generated.ts";
export { FIELD_REASONS } from "./src/generated/explain.generated.ts";
export {
  ENVELOPE_PERMISSIONS,
  INITIAL_SESSION_STATE,
  SESSION_FAILURES,
  SESSION_MOVES,
  SESSION_STATES,
} from "./src/generated/session.generated.ts";
/** Generated types of every envelope shape, authentication object and document type. */
export type * as DocumentTypes from "./src/generated/types.generated.ts";
export {
  throwIfAborted,
  type TransportCloseInfo,
  TransportError,
  type TransportErrorCode,
} from "./src/transport/errors.ts";
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ENVELOPE_SIZE,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_RECEIVE_BUFFER_SIZE,
  type PeerCertificate,
  type SignalOptions,
  type Transport,
  type TransportListener,
  type TransportOptions,
} from "./src/transport/transport.ts";
export { TransportBase } from "./src/transport/transport_base.ts";
export { EnvelopeFramer, type FramerOptions } from "./src/transport/framing.ts";
export { MemoryTransport, type MemoryTransportOptions } from "./src/transport/memory.ts";
export {
  DEFAULT_WEBSOCKET_CLOSE_TIMEOUT,
  DEFAULT_WEBSOCKET_HIGH_WATER_MARK,
  LIME_SUBPROTOCOL,
  WEBSOCKET_ERROR_CLOSE_CODE,
  type WebSocketSocketOptions,
  WebSocketTransport,
  type WebSocketTransportOptions,
} from "./src/transport/websocket.ts";
export { type Clock, ManualClock, systemClock, type TimerHandle } from "./src/clock.ts";
export { Channel, type ChannelCloseInfo, type Handler } from "./src/channel/channel.ts";
export type { ChannelModule } from "./src/channel/channel_module.ts";
export {
  CHANNEL_DEFAULTS,
  type ChannelOptions,
  type TimeoutOptions,
  type WaitOptions,
} from "./src/channel/channel_options.ts";
export { ChannelError, type ChannelErrorCode } from "./src/channel/errors.ts";
export {
  type Authenticator,
  ClientChannel,
  type EstablishSessionOptions,
  type OptionSelector,
} from "./src/channel/client_channel.ts";
export {
  DEFAULT_ESTABLISHMENT_RECEIVE_LIMIT,
  type InvalidInputGate,
  ServerChannel,
  type ServerChannelOptions,
} from "./src/channel/server_channel.ts";
export {
  assignNode,
  type AuthenticationContext,
  type AuthenticationResult,
  DEFAULT_FIRST_ENVELOPE_TIMEOUT,
  type EstablishmentResult,
  type NodeAssignment,
  type NodeRegistration,
  type ServerAuthenticator,
  type ServerEstablishOptions,
} from "./src/channel/server_establishment.ts";
export {
  CommandFailedError,
  ResourceCommands,
  type ResourceOptions,
} from "./src/channel/resource_commands.ts";
export {
  type Credentials,
  decodeBase64Text,
  encodeBase64Text,
} from "./src/channel/authentication/credentials.ts";
export { guestCredentials, guestIdentity } from "./src/channel/authentication/guest.ts";
export { plainCredentials, readPlainPassword } from "./src/channel/authentication/plain.ts";
export { keyCredentials, readKey } from "./src/channel/authentication/key.ts";
export { externalCredentials, readExternal } from "./src/channel/authentication/external.ts";
export {
  certificateDomainRole,
  transportCredentials,
} from "./src/channel/authentication/transport.ts";
export { PING_MEDIA_TYPE } from "./src/channel/modules/reply_ping.ts";
export { BoundedQueue } from "./src/channel/bounded_queue.ts";
export { type CommandWaitOptions, PendingCommands } from "./src/channel/pending_commands.ts";
export type {
  Account,
  Contact,
  ContactSubscriptionStatus,
  Gender,
  Presence,
  PresenceRoutingRule,
  PresenceStatus,
  Receipt,
} from "./src/generated/types.generated.ts";
export { LimeClient, webTransportFactory } from "./src/client/lime_client.ts";
export {
  KEEPALIVE_DEFAULTS,
  type LimeClientOptions,
  type LimeClientStatus,
  type ReceivedMessage,
  type TransportFactory,
} from "./src/client/client_options.ts";
export { LimeClientError, type LimeClientErrorCode } from "./src/client/client_errors.ts";
export { BACKOFF_DEFAULTS, backoffDelay, type BackoffOptions } from "./src/client/backoff.ts";
export {
  type DeadLetter,
  RESEND_DEFAULTS,
  type ResendOptions,
  ResendTracker,
} from "./src/client/resend_tracker.ts";
export { DedupeWindow } from "./src/client/dedupe_window.ts";
export { type BotContext, webhookBot, type WebhookBotOptions } from "./src/http/webhook_bot.ts";
export {
  HttpApiError,
  LimeHttpClient,
  type LimeHttpClientOptions,
} from "./src/http/http_client.ts";
export {
  basicAuthorization,
  type HttpCredentials,
  keyAuthorization,
  readAuthorization,
} from "./src/http/http_credentials.ts";
export {
  DEFAULT_SIGNATURE_TOLERANCE,
  type SignatureCheckOptions,
  signWebhook,
  type VerifiedDelivery,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  webhookHeaders,
} from "./src/http/webhook_signature.ts";
export { ReplayGuard } from "./src/http/replay_guard.ts";
export type { Webhook } from "./src/generated/types.generated.ts";
