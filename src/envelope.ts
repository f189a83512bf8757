/**
 * The four envelopes as classes that read like the seed's API
 * (`new Message("text/plain", "Hello!")`), plus type guards for decoded envelopes.
 *
 * Envelopes keep their wire shape: nodes and media types are strings (use {@link Node.parse} and
 * {@link MediaType.parse} to inspect them) and documents are plain JSON values, so a decoded
 * envelope and a constructed one are interchangeable and serialize with no conversion.
 * @module
 */
import type {
  AuthenticationScheme,
  CommandMethod,
  CommandStatus,
  NotificationEvent,
  SessionCompression,
  SessionEncryption,
  SessionState,
} from "./generated/enums.generated.ts";
import type { Reason } from "./errors.ts";
import type { Identity } from "./identity.ts";
import type { LimeUri } from "./lime_uri.ts";
import type { MediaType } from "./media_type.ts";
import type { Node } from "./node.ts";
import { newId } from "./ids.ts";

/**
 * Envelope metadata: string values (real clients also send null ones). Decoding enforces the size
 * caps of `Metadata` in `spec/envelopes.json` (number of entries, key and value lengths).
 */
export type Metadata = Record<string, string | null>;

/** A node given as a {@link Node} or as its string form. */
export type NodeLike = Node | Identity | string;

/** Fields every envelope may carry. */
export interface EnvelopeInit {
  /** Envelope id. */
  id?: string;
  /** Sender node. */
  from?: NodeLike;
  /** Destination node. */
  to?: NodeLike;
  /** Delegate that sends on behalf of `from`. */
  pp?: NodeLike;
  /** Free key/value information. */
  metadata?: Metadata;
}

function assignBase(target: EnvelopeBase, init: EnvelopeInit | undefined): void {
  if (!init) return;
  if (init.id !== undefined) target.id = init.id;
  if (init.from !== undefined) target.from = String(init.from);
  if (init.to !== undefined) target.to = String(init.to);
  if (init.pp !== undefined) target.pp = String(init.pp);
  if (init.metadata !== undefined) target.metadata = init.metadata;
}

/** Fields shared by every envelope. */
export abstract class EnvelopeBase {
  /** Envelope id. */
  declare id?: string;
  /** Sender node (`name@domain/instance`); absent means the immediate remote party. */
  declare from?: string;
  /** Destination node; absent means the immediate remote party. */
  declare to?: string;
  /** Delegate node that sent the envelope on behalf of `from`. */
  declare pp?: string;
  /** Free key/value information. */
  declare metadata?: Metadata;
}

/** Carries a content document between nodes. */
export class Message<T = unknown> extends EnvelopeBase {
  /** Media type of `content`. */
  type: string;
  /** The content: a JSON value for JSON media types, a string otherwise. */
  content: T;

  /** A message with a content of the given media type; no id (fire-and-forget) unless given. */
  constructor(type: MediaType | string, content: T, init?: EnvelopeInit) {
    super();
    assignBase(this, init);
    this.type = String(type);
    this.content = content;
  }
}

/** Reports an event about a message; `id` is the message's id. */
export class Notification extends EnvelopeBase {
  /** The event. */
  event: NotificationEvent;
  /** Why it failed, with event `failed`. */
  declare reason?: Reason;

  /** A notification of an event; pass the related message's id in `init.id`. */
  constructor(event: NotificationEvent, init?: EnvelopeInit & { reason?: Reason }) {
    super();
    assignBase(this, init);
    this.event = event;
    if (init?.reason) this.reason = init.reason;
  }
}

/** Fields of a command besides the base ones. */
export interface CommandInit<T = unknown> extends EnvelopeInit {
  /** Media type of `resource`; required with a resource. */
  type?: MediaType | string;
  /** The resource document. */
  resource?: T;
  /** Response status; absent in a request. */
  status?: CommandStatus;
  /** Why it failed, with status `failure`. */
  reason?: Reason;
}

/** Manipulates a resource: a request (`uri`, no `status`) or a response (`status`). */
export class Command<T = unknown> extends EnvelopeBase {
  /** The method. */
  method: CommandMethod;
  /** The resource URI (relative `/presence` or absolute `lime://owner/presence`). */
  declare uri?: string;
  /** Media type of `resource`. */
  declare type?: string;
  /** The resource document. */
  declare resource?: T;
  /** Response status. */
  declare status?: CommandStatus;
  /** Why it failed, with status `failure`. */
  declare reason?: Reason;

  /** A command; it gets a new UUID v4 id unless `init.id` is given. */
  constructor(method: CommandMethod, uri?: LimeUri | string, init?: CommandInit<T>) {
    super();
    this.id = init?.id ?? newId();
    assignBase(this, init);
    this.method = method;
    if (uri !== undefined) this.uri = String(uri);
    if (init?.type !== undefined) this.type = String(init.type);
    if (init?.resource !== undefined) this.resource = init.resource;
    if (init?.status !== undefined) this.status = init.status;
    if (init?.reason !== undefined) this.reason = init.reason;
  }
}

/** Fields of a session envelope besides the base ones. */
export interface SessionInit extends EnvelopeInit {
  /** Encryption options offered by the server. */
  encryptionOptions?: SessionEncryption[];
  /** Chosen or confirmed encryption. */
  encryption?: SessionEncryption;
  /** Compression options offered by the server. */
  compressionOptions?: SessionCompression[];
  /** Chosen or confirmed compression. */
  compression?: SessionCompression;
  /** Schemes offered by the server. */
  schemeOptions?: AuthenticationScheme[];
  /** Scheme of `authentication`. */
  scheme?: AuthenticationScheme;
  /** Credentials or round-trip data. */
  authentication?: Record<string, unknown>;
  /** Why the session failed. */
  reason?: Reason;
}

const SESSION_FIELDS = [
  "encryptionOptions",
  "encryption",
  "compressionOptions",
  "compression",
  "schemeOptions",
  "scheme",
  "authentication",
  "reason",
] as const;

/** Negotiates, authenticates, establishes and ends a session. */
export class Session extends EnvelopeBase {
  /** The state. */
  state: SessionState;
  /** Encryption options offered by the server. */
  declare encryptionOptions?: SessionEncryption[];
  /** Chosen or confirmed encryption. */
  declare encryption?: SessionEncryption;
  /** Compression options offered by the server. */
  declare compressionOptions?: SessionCompression[];
  /** Chosen or confirmed compression. */
  declare compression?: SessionCompression;
  /** Schemes offered by the server. */
  declare schemeOptions?: AuthenticationScheme[];
  /** Scheme of `authentication`. */
  declare scheme?: AuthenticationScheme;
  /** Credentials or round-trip data, shaped by `scheme`. */
  declare authentication?: Record<string, unknown>;
  /** Why the session failed. */
  declare reason?: Reason;

  /** A session envelope in the given state. */
  constructor(state: SessionState, init?: SessionInit) {
    super();
    assignBase(this, init);
    this.state = state;
    if (init) {
      for (const key of SESSION_FIELDS) {
        if (init[key] !== undefined) (this as Record<string, unknown>)[key] = init[key];
      }
    }
  }
}

/** Any envelope. Decoded envelopes are plain objects of these shapes. */
export type Envelope = Message | Notification | Command | Session;

/** The kind of an envelope. */
export type EnvelopeKind = "message" | "notification" | "command" | "session";

/** The kind of an envelope, by which key it has (lime-protocol §1.6). */
export function envelopeKind(envelope: Envelope): EnvelopeKind {
  if ("content" in envelope) return "message";
  if ("event" in envelope) return "notification";
  if ("method" in envelope) return "command";
  return "session";
}

/** Whether an envelope is a message. */
export function isMessage(envelope: Envelope): envelope is Message {
  return "content" in envelope;
}

/** Whether an envelope is a notification. */
export function isNotification(envelope: Envelope): envelope is Notification {
  return !("content" in envelope) && "event" in envelope;
}

/** Whether an envelope is a command. */
export function isCommand(envelope: Envelope): envelope is Command {
  return !("content" in envelope) && !("event" in envelope) && "method" in envelope;
}

/** Whether an envelope is a session envelope. */
export function isSession(envelope: Envelope): envelope is Session {
  return envelopeKind(envelope) === "session";
}

/** Whether a command is a response (has a status). */
export function isResponse(command: Command): boolean {
  return command.status != null;
}
