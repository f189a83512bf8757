/**
 * Options and status of the resilient client.
 * @module
 */
import type { Credentials } from "../channel/authentication/credentials.ts";
import type { ChannelOptions } from "../channel/channel_options.ts";
import type { Authenticator, OptionSelector } from "../channel/client_channel.ts";
import type { Clock } from "../clock.ts";
import type { Message } from "../envelope.ts";
import type {
  NotificationEvent,
  SessionCompression,
  SessionEncryption,
} from "../generated/enums.generated.ts";
import type { Presence } from "../generated/types.generated.ts";
import type { Transport } from "../transport/transport.ts";
import type { BackoffOptions } from "./backoff.ts";
import type { DeadLetter, ResendOptions } from "./resend_tracker.ts";

/** Opens a transport to `uri` (the client calls it for every connection). */
export type TransportFactory = (uri: string, signal: AbortSignal) => Promise<Transport>;

/** Options of a {@link LimeClient}. */
export interface LimeClientOptions {
  /** Where to connect: `net.tcp://host:port`, `ws://…`, `wss://…`. */
  uri?: string | URL;
  /** Who connects (`name@domain`). */
  identity: string;
  /** The instance. Default `default`. */
  instance?: string;
  /** Credentials (default guest), or an authenticator for scheme choice and round trips. */
  credentials?: Credentials;
  /** Chooses credentials among the offered schemes; wins over `credentials`. */
  authenticator?: Authenticator;
  /** Compression choice when the server negotiates. */
  compression?: OptionSelector<SessionCompression>;
  /** Encryption choice when the server negotiates. */
  encryption?: OptionSelector<SessionEncryption>;
  /** Opens transports. Default: by URI scheme (`net.tcp://` needs `mod.ts`; `web.ts`: WebSocket). */
  transportFactory?: TransportFactory;
  /** Reconnection backoff. */
  reconnect?: BackoffOptions;
  /**
   * Keepalive: ping the server after `interval` ms without traffic and drop the connection
   * (then reconnect) when nothing arrives for `timeout` ms. Defaults 10,000 and 25,000, so a
   * half-open connection is noticed within about half a minute. `false` turns it off.
   */
  keepalive?: false | { interval?: number; timeout?: number };
  /** Messages and notifications kept while disconnected. Default 1,000. */
  outboxSize?: number;
  /** Resending of unconfirmed messages (those with an id). */
  resend?: ResendOptions;
  /** Received message ids remembered to drop duplicates. Default 10,000; 0 keeps every copy. */
  dedupeWindow?: number;
  /** Presence set after every establishment (kept up to date by `setResource("/presence")`). */
  presence?: Presence;
  /** Receipt events set after every establishment (`/receipt`). */
  receipts?: NotificationEvent[];
  /** Called with messages given up on (never silently dropped). */
  onDeadLetter?: (letter: DeadLetter) => void;
  /** Options of every channel (timeouts; `autoNotifyReceipt` defaults to true here). */
  channel?: ChannelOptions;
  /** Time source for backoff, keepalive and resends. */
  clock?: Clock;
  /** Random source for the jitter (tests pass a seeded one). */
  random?: () => number;
}

/** What the client is doing. */
export type LimeClientStatus =
  | { readonly state: "connecting"; readonly attempt: number }
  | { readonly state: "established"; readonly node: string; readonly attempt: number }
  | { readonly state: "disconnected"; readonly error?: Error; readonly reason?: string }
  | { readonly state: "reconnecting"; readonly attempt: number; readonly delay: number }
  | { readonly state: "closed"; readonly error?: Error };

/** Keepalive defaults. */
export const KEEPALIVE_DEFAULTS: Readonly<{ interval: number; timeout: number }> = Object
  .freeze({ interval: 10_000, timeout: 25_000 });

/** A message as handed to handlers. */
export type ReceivedMessage = Message;
