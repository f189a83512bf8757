/**
 * Options of {@link LimeServer}, with the embedded defaults `deno task start` runs on.
 * @module
 */
import type { ChannelOptions } from "../channel/channel_options.ts";
import type { DomainRole } from "../generated/enums.generated.ts";
import type { TcpServerTlsOptions } from "../transport/tcp_tls.ts";
import type { AccountStore } from "./account_store.ts";

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
  /** Accounts and rosters. Required (use `KvAccountStore.open(":memory:")` in tests). */
  store: AccountStore;
  /** Offer the guest scheme. Default true. */
  guest?: boolean;
  /** Verifies `external` tokens; without it the scheme is not offered. */
  externalVerifier?: ExternalTokenVerifier;
  /**
   * Where `plain` and `key` may travel without TLS: `loopback` (default: only from 127.0.0.1/::1),
   * `anywhere`, or `nowhere`.
   */
  plainWithoutTls?: "loopback" | "anywhere" | "nowhere";
  /** Most sessions at once (established or establishing). Default 20,000. */
  maxSessions?: number;
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
   * Envelopes a session may send per second (token bucket, burst = one second's worth); beyond
   * it they are refused with reason 34. Default 10,000; 0 disables.
   */
  rateLimit?: number;
  /** PBKDF2 iterations for new password and key hashes. Default 600,000. */
  passwordIterations?: number;
  /**
   * Options passed to every server channel (timeouts, clock, remote ping). The server pings a
   * session silent for `remotePingInterval` (default 30 s) and ends one silent for
   * `remoteIdleTimeout` (default 60 s), releasing its node: a vanished client or a half-open
   * connection is gone within a minute.
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
  maxSessionsPerIdentity: 100,
  rateLimit: 10_000,
  remotePingInterval: 30_000,
  remoteIdleTimeout: 60_000,
});
