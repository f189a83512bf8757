/**
 * What a scripted server's profile decides: the observed behaviour of one real server, as data
 * and a few functions. `peer_session.ts` runs the protocol and asks the profile at every point
 * where servers differ.
 * @module
 */
import type { Json } from "./wire.ts";

/** A LIME reason as the server writes it (lime-go may leave the description out). */
export interface WireReason {
  /** The code. */
  code: number;
  /** The description, when the server writes one. */
  description?: string;
}

/** How a server writes envelopes. */
export interface WireFormat {
  /** The JSON text of an envelope. */
  encode(envelope: Json): string;
  /** Written after every envelope (`"\n"` for Go's `json.Encoder`). */
  separator: string;
}

/** Where an establishment fails. */
export type Failure =
  | "session-id"
  | "negotiation"
  | "scheme"
  | "registration"
  | "establishment";

/** Credentials as the client sent them. */
export interface Login {
  /** `name@domain` of the client's `from`. */
  identity: string;
  /** The name part. */
  name: string;
  /** The chosen scheme. */
  scheme: string;
  /** The `authentication` object. */
  authentication: Json;
  /** The TLS client certificate's CN, when there is one. */
  certificateName: string | undefined;
}

/** A scripted server's behaviour. */
export interface Profile {
  /** Which server this reproduces. */
  readonly name: string;
  /** The server's domain. */
  readonly domain: string;
  /** The server's node, `from` of its session envelopes. */
  readonly node: string;
  /** How the server writes an envelope: JSON text, then `separator`. */
  readonly format: WireFormat;
  /** Compression and encryption options; the server negotiates only when a list has two or more. */
  offer(kind: "tcp" | "ws", tlsAvailable: boolean): { compression: string[]; encryption: string[] };
  /** Whether the TLS handshake asks for a client certificate. */
  readonly requestClientCertificate: boolean;
  /** Schemes offered, in the server's order. */
  readonly schemeOptions: readonly string[];
  /** Whether a `new` envelope carrying an id is refused (lime-go). */
  readonly refusesNewWithId: boolean;
  /** The reason written in `failed` for each kind of failure. */
  readonly reasons: Readonly<Record<Failure, WireReason>>;
  /** Checks credentials: undefined when accepted, else the reason of the `failed` to send. */
  authenticate(login: Login): WireReason | undefined;
  /** The node to write in `established`'s `to`, or undefined to refuse the registration. */
  register(from: string, taken: (node: string) => boolean): string | undefined;
  /**
   * The response to a request addressed to the server (`to` absent or the server), or undefined
   * to leave it unanswered. `client` is the session's node.
   */
  answer(request: Json, client: string): Json | undefined;
  /** A notification for a message whose destination is not connected, or undefined. */
  notDelivered(message: Json, client: string): Json | undefined;
  /** What a session gets when the server shuts down: `finished`, or `failed` with a reason. */
  readonly goodbye: { state: "finished" } | { state: "failed"; reason: WireReason };
}
