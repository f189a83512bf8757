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
export type {
  AuthenticationEntry,
  Check,
  DocumentEntry,
  EnvelopeKindEntry,
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
  FIELD_REASONS,
} from "./src/generated/registry.generated.ts";
export {
  ENVELOPE_PERMISSIONS,
  INITIAL_SESSION_STATE,
  SESSION_FAILURES,
  SESSION_MOVES,
  SESSION_STATES,
} from "./src/generated/session.generated.ts";
/** Generated types of every envelope shape, authentication object and document type. */
export type * as DocumentTypes from "./src/generated/types.generated.ts";
