/**
 * Options of {@link LimeServer}, with the embedded defaults `deno task start` runs on.
 * @module
 */
import {
  CHANNEL_DEFAULTS,
  type ChannelOptions,
  checkDuration,
} from "../channel/channel_options.ts";
import { DEFAULT_WEBSOCKET_CLOSE_TIMEOUT } from "../transport/websocket.ts";
import type { DomainRole } from "../generated/enums.generated.ts";
import type { TcpServerTlsOptions } from "../transport/tcp_tls.ts";
import type { InflationLimits } from "../transport/tcp_gzip.ts";
import type { RateLimitOptions } from "./guard/traffic_shaper.ts";
import type { AccountStore } from "./account_store.ts";
import type { ClusterEngine } from "../cluster/engine.ts";
import type { LoginThrottleOptions } from "./guard/login_throttle.ts";
import type { PasswordWorkOptions } from "./guard/password_work.ts";
import type { ResourceQuotas } from "./resources/quotas.ts";
import type { HttpApiOptions } from "../http/http_edge.ts";
import type { WebhookOptions } from "../http/webhooks.ts";

/** Checks an `external` token: resolves with the role it gives `identity` (`unknown` refuses). */
export type ExternalTokenVerifier = (
  token: string,
  issuer: string,
  identity: string,
) => DomainRole | Promise<DomainRole>;

/** Options of a LIME server. */
export interface LimeServerOptions {
  /** The domain served. Default `localhost`. */
  domain?: string;
  /** The server's instance (`postmaster@<domain>/<instance>`). Default `server`. */
  instance?: string;
  /**
   * The TCP listener: `false` for none. Default 127.0.0.1:55321; TLS is offered when `tls` has a
   * certificate; gzip is always offered.
   */
  tcp?: false | { hostname?: string; port?: number; tls?: TcpServerTlsOptions };
  /** The WebSocket listener: `false` for none. Default 127.0.0.1:8080, path `/`. */
  websocket?: false | { hostname?: string; port?: number; cert?: string; key?: string };
  /**
   * WebSocket connections (the listener and {@link LimeServer.handler}) arrive through a reverse
   * proxy you run: the client's address (for per-address limits and the loopback rule of
   * `plainWithoutTls`) is the right-most `X-Forwarded-For` entry (or `Forwarded: for=`), not the
   * proxy's. Default false: never trust forwarded headers unless a proxy that overwrites them
   * stands in front (anyone can send them). TCP has no such header: behind a TCP proxy every
   * connection counts as the proxy's address.
   */
  trustProxy?: boolean;
  /**
   * A TLS-terminating proxy you run stands in front (Deno Deploy's edge is one): a request or
   * WebSocket whose right-most `X-Forwarded-Proto` (or `Forwarded: proto=`) is `https` counts as
   * TLS, so `plain` and `key` (and the HTTP API's `Authorization`) are accepted on it. Default
   * false: anyone can send that header, and with this on, a client that reaches the server
   * without the proxy can make a cleartext connection count as encrypted, and its password then
   * crosses the network in clear. (A request whose URL is `https:`, a `Deno.serve` with a
   * certificate, counts as TLS without it.)
   */
  trustProxyTls?: boolean;
  /**
   * The HTTP API (`POST /messages`, `/notifications`, `/commands`: `src/http/`), served by
   * {@link LimeServer.handler} and, when `port` is given, on a port of its own (`Deno.serve`,
   * with `GET /healthz` and LIME over WebSocket there too; https with `cert` and `key`). `false`
   * turns the API off. Default: served by `handler` only.
   */
  http?:
    | false
    | (HttpApiOptions & { hostname?: string; port?: number; cert?: string; key?: string });
  /**
   * Webhooks (`set /webhook`, deliveries by signed HTTP POST: `src/http/webhooks.ts`), kept in
   * the store's Deno KV database (or `kv`). `false` turns them off. Default: on when the store is
   * a `KvAccountStore`; webhook URLs may not point to private or loopback addresses unless
   * `allowPrivateAddresses` or `allowedHosts` say so.
   */
  webhooks?: false | WebhookOptions;
  /** Accounts and rosters. Required (use `KvAccountStore.open(":memory:")` in tests). */
  store: AccountStore;
  /**
   * The engine: `MemoryEngine` (the default: this process serves the domain alone) or a
   * `RedisEngine` from `cluster.ts` (any number of processes serve one domain through Redis; give
   * them a `RedisAccountStore` too). One engine per server.
   */
  engine?: ClusterEngine;
  /** Offer the guest scheme. Default true. */
  guest?: boolean;
  /**
   * Names of the served domain nobody may sign in as, register or be routed as (the server's own
   * `postmaster` is always reserved). Default `["postmaster"]`.
   */
  reservedNames?: readonly string[];
  /** Verifies `external` tokens; without it the scheme is not offered. */
  externalVerifier?: ExternalTokenVerifier;
  /**
   * Where `plain` and `key` may travel without TLS: `loopback` (default: only from 127.0.0.1/::1),
   * `anywhere`, or `nowhere`.
   */
  plainWithoutTls?: "loopback" | "anywhere" | "nowhere";
  /**
   * Which envelopes get a `lime.route` span when a tracer provider is registered: `traced`
   * (default) those that carry a trace context (`traceparent` in `metadata`), so a trace a
   * client started runs through the server; `all` every envelope too (a root span for untraced
   * ones), which costs about 15 µs of CPU per envelope with Deno's exporter (see README's "Logs,
   * metrics and traces").
   */
  traceRouting?: "traced" | "all";
  /** Most sessions at once (established or establishing). Default 20,000. */
  maxSessions?: number;
  /**
   * Most sessions (established or establishing) from one source address (an IPv4 address, or an
   * IPv6 /64). Default 1,000; 0 = no cap.
   */
  maxSessionsPerAddress?: number;
  /**
   * Most connections from one source address still establishing at once. Default 32; 0 = no cap.
   */
  maxEstablishingPerAddress?: number;
  /**
   * Milliseconds a new connection has to send its first envelope (`new`); a silent one is failed
   * with reason 16. Default 5,000.
   */
  firstEnvelopeTimeout?: number;
  /**
   * Most connections still establishing their session at once (slowloris guard); more are
   * refused with `failed` at once. Default 1,000. Each has `channel.establishmentTimeout`
   * (default 30 s) to finish.
   */
  maxEstablishing?: number;
  /**
   * Most sessions of one identity (`name@domain`) at once; another instance is refused with
   * reason 12 (a reconnecting instance replaces its old session instead). Default 100; 0 = no cap.
   */
  maxSessionsPerIdentity?: number;
  /** Largest envelope, in bytes. Default 8 MiB. */
  maxEnvelopeSize?: number;
  /**
   * Most object members in one received envelope, counted before parsing (a parse's cost grows
   * with keys). Default 100,000.
   */
  maxMembers?: number;
  /**
   * Bytes the server holds for a session that does not read them (its send queue and socket
   * buffers): past it the session is closed (a slow reader) and the senders of what it had not
   * taken are told `failed` (51). Default 8 MiB.
   */
  maxQueuedBytes?: number;
  /**
   * Bytes one connection's gzip stream may inflate into per second (whitespace included), and
   * inflated bytes per compressed byte: more fails it with 21. Default 64 MiB/s and 256:1.
   */
  inflation?: InflationLimits;
  /**
   * What a session, and all the sessions of one identity together, may send per second:
   * envelopes and bytes (token buckets holding one second's worth). A sender over its rate is
   * slowed down, not refused: the server stops reading its connection until it is back within
   * the rate (TCP flow control does the rest); only where the transport cannot stop reading (the
   * standard WebSocket API, `handler`) is what is over the rate refused with 34. A number sets
   * the envelopes per session (per identity: twice that; no per-address limits); 0 or `false`
   * disables all limits.
   * Default: per session 10,000 envelopes/s and 32 MiB/s, per identity 20,000/s and 64 MiB/s, per
   * source address 20,000/s and 32 MiB/s (a quarter second's burst), the server's answers included.
   */
  rateLimit?: number | false | RateLimitOptions;
  /** PBKDF2 iterations for new password and key hashes. Default 600,000. */
  passwordIterations?: number;
  /**
   * Hashes computed at once (logins and account changes) and logins waiting for a slot; past
   * that a login fails with 11 ("busy") and an account change with 34, at once. Default 4 at once,
   * 64 waiting.
   */
  passwordWork?: PasswordWorkOptions;
  /**
   * Delays after failed sign-ins (plain, key, external), per identity and per source address;
   * attempts inside a delay are refused with 34 without hashing. Default: 5 free failures per
   * identity then 1 s doubling to 60 s; 20 per address then 1 s doubling to 5 min.
   */
  loginThrottle?: LoginThrottleOptions;
  /** Storage quotas (rosters, presence, account documents, registrations); see the defaults. */
  quotas?: Partial<ResourceQuotas>;
  /**
   * Options passed to every server channel (timeouts, clock, remote ping). The server pings a
   * session silent for `remotePingInterval` (default 30 s) and ends one silent for
   * `remoteIdleTimeout` (default 60 s), releasing its node: a vanished client or a half-open
   * connection is gone within a minute. A session the server ends stops being routed to at once;
   * its connection then waits at most `closeTimeout` (default 5 s) for the peer's part of the end
   * (over WebSocket, its close frame).
   */
  channel?: ChannelOptions;
}

/** The defaults above. */
export const SERVER_DEFAULTS: Readonly<{
  domain: string;
  instance: string;
  tcpHostname: string;
  tcpPort: number;
  websocketHostname: string;
  websocketPort: number;
  maxSessions: number;
  maxEstablishing: number;
  maxSessionsPerAddress: number;
  maxEstablishingPerAddress: number;
  firstEnvelopeTimeout: number;
  maxSessionsPerIdentity: number;
  rateLimit: number;
  remotePingInterval: number;
  remoteIdleTimeout: number;
}> = Object.freeze({
  domain: "localhost",
  instance: "server",
  tcpHostname: "127.0.0.1",
  tcpPort: 55321,
  websocketHostname: "127.0.0.1",
  websocketPort: 8080,
  maxSessions: 20_000,
  maxEstablishing: 1_000,
  maxSessionsPerAddress: 1_000,
  maxEstablishingPerAddress: 32,
  firstEnvelopeTimeout: 5_000,
  maxSessionsPerIdentity: 100,
  rateLimit: 10_000,
  remotePingInterval: 30_000,
  remoteIdleTimeout: 60_000,
});

/** The channel options that must be durations (the channel's constructor refuses others). */
const CHANNEL_DURATIONS = [
  "commandTimeout",
  "sendTimeout",
  "consumeTimeout",
  "closeTimeout",
  "establishmentTimeout",
] as const;

/**
 * Checks `channel` as every channel would: a server refuses bad durations when it is made, not at
 * each connection, where the failure would only be logged.
 */
export function checkChannelOptions(channel: ChannelOptions | undefined): void {
  for (const key of CHANNEL_DURATIONS) checkDuration(`channel.${key}`, channel?.[key]);
}

/**
 * How long a WebSocket close waits for the peer's close frame: the channels' `closeTimeout` (one
 * wait for the peer's part of an end), at least 100 ms (the close frame must get out before the
 * socket goes) and at most what a timer takes; 0 ("no deadline" for a channel) keeps the 5 s
 * default, so that a silent peer cannot hold a socket for ever.
 */
export function websocketCloseTimeout(channel: ChannelOptions | undefined): number {
  const ms = channel?.closeTimeout ?? CHANNEL_DEFAULTS.closeTimeout;
  if (!(ms > 0)) return DEFAULT_WEBSOCKET_CLOSE_TIMEOUT;
  return Math.min(Math.max(ms, 100), 2 ** 31 - 1);
}

/** The limits every transport a server accepts gets, from its options. */
export function transportLimits(options: LimeServerOptions) {
  return {
    ...(options.maxEnvelopeSize !== undefined ? { maxEnvelopeSize: options.maxEnvelopeSize } : {}),
    ...(options.maxMembers !== undefined ? { maxMembers: options.maxMembers } : {}),
    ...(options.maxQueuedBytes !== undefined ? { maxQueuedBytes: options.maxQueuedBytes } : {}),
    ...options.inflation,
  };
}
