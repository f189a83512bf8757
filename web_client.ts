/**
 * The browser client: the part of `web.ts` a page needs to talk LIME to a server over WebSocket,
 * kept small for the bundle `deno task bundle` writes to `dist/lime.web.js` (the size budget,
 * 25 KB gzip, applies to this entry). It connects, establishes a session (guest, plain, key),
 * sends and receives messages, notifications and commands, and keeps the session alive with
 * {@link LimeClient} (reconnects, outbox, resends, duplicate filter).
 *
 * Envelopes are validated on arrival by the fast checks generated from the spec. The generated
 * explainer (which says where an invalid envelope is wrong and with which reason code) is not
 * loaded up front: when a transport receives an invalid envelope it loads it on demand, so the
 * error it fails with is the same `ValidationError` as in Deno, path and reason code included.
 * {@link loadExplainer} loads it ahead of time. Everything else (server channel, memory
 * transport, session machine tables, `parseEnvelope`, the registries, the `ReasonCode` table of
 * names: errors carry the numeric `code`) is in `web.ts`.
 *
 * @example A page that chats as a guest
 * ```ts ignore
 * import { LimeClient, Message } from "./web_client.ts";
 *
 * const client = new LimeClient({ uri: "ws://127.0.0.1:8080", identity: "ann@localhost" });
 * client.onMessage((message) => console.log(message.from, message.content));
 * await client.start();
 * await client.sendMessage(new Message("text/plain", "Hi!", { to: "bob@localhost" }));
 * ```
 * @module
 */

export { explainLater, loadExplainer } from "./src/codec_core.ts";
export {
  Command,
  type CommandInit,
  type Envelope,
  type EnvelopeInit,
  type EnvelopeKind,
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
export { type JsonPath, LimeError, type Reason, ValidationError } from "./src/errors.ts";
export { Identity } from "./src/identity.ts";
export { Node } from "./src/node.ts";
export {
  AuthenticationScheme,
  CommandMethod,
  CommandStatus,
  NotificationEvent,
  SessionState,
} from "./src/generated/enums.generated.ts";
export type { Account, Contact, Presence, Receipt } from "./src/generated/types.generated.ts";
export { TransportError, type TransportErrorCode } from "./src/transport/errors.ts";
export type { Transport, TransportOptions } from "./src/transport/transport.ts";
export { WebSocketTransport, type WebSocketTransportOptions } from "./src/transport/websocket.ts";
export { ChannelError, type ChannelErrorCode } from "./src/channel/errors.ts";
export type { ChannelCloseInfo, Handler } from "./src/channel/channel.ts";
export type { ChannelOptions, TimeoutOptions } from "./src/channel/channel_options.ts";
export { ClientChannel, type EstablishSessionOptions } from "./src/channel/client_channel.ts";
export { CommandFailedError } from "./src/channel/resource_commands.ts";
export type { Credentials } from "./src/channel/authentication/credentials.ts";
export { guestCredentials, guestIdentity } from "./src/channel/authentication/guest.ts";
export { plainCredentials } from "./src/channel/authentication/plain.ts";
export { keyCredentials } from "./src/channel/authentication/key.ts";
export { LimeClient, webTransportFactory } from "./src/client/lime_client.ts";
export type {
  LimeClientOptions,
  LimeClientStatus,
  ReceivedMessage,
  TransportFactory,
} from "./src/client/client_options.ts";
export { LimeClientError, type LimeClientErrorCode } from "./src/client/client_errors.ts";
export type { DeadLetter } from "./src/client/resend_tracker.ts";
