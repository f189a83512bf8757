/**
 * Options of the TCP transport and its port.
 * @module
 */
import type { SessionCompression } from "../generated/enums.generated.ts";
import type { GunzipLimits, InflationLimits } from "./tcp_gzip.ts";
import type { TcpClientTlsOptions, TcpServerTlsOptions } from "./tcp_tls.ts";
import type { TransportOptions } from "./transport.ts";

export type { InflationLimits } from "./tcp_gzip.ts";
export type { TcpClientTlsOptions, TcpServerTlsOptions } from "./tcp_tls.ts";

/** The LIME TCP port. */
export const DEFAULT_TCP_PORT = 55321;

/** Options of a client TCP transport. */
export interface TcpTransportOptions extends TransportOptions, InflationLimits {
  /** TLS settings for the in-session upgrade (server verification, client certificate). */
  tls?: TcpClientTlsOptions;
  /** Compression modes offered. Default `["none", "gzip"]`. */
  compression?: readonly SessionCompression[];
  /**
   * Write the sends that follow the first one in an event-loop turn together, in one write at the
   * turn's end (with gzip, one sync flush). Default: on for server-side transports (a server
   * relays bursts: one write instead of hundreds) and with gzip (a call into zlib per envelope
   * costs more than scheduling the end of the turn), off for plain clients (request/response:
   * each write at once, without the ~2 µs of scheduling the end of the turn).
   */
  batchSends?: boolean;
}

/** Options of a server-side TCP transport (see `TcpTransport.accept`). */
export interface TcpServerTransportOptions extends TransportOptions, InflationLimits {
  /** Certificate and key: without them the transport offers no TLS. */
  tls?: TcpServerTlsOptions;
  /** Compression modes offered. Default `["none", "gzip"]`. */
  compression?: readonly SessionCompression[];
  /**
   * Write the sends that follow the first one in an event-loop turn together, in one write at the
   * turn's end (with gzip, one sync flush). Default: on for server-side transports (a server
   * relays bursts: one write instead of hundreds) and with gzip (a call into zlib per envelope
   * costs more than scheduling the end of the turn), off for plain clients (request/response:
   * each write at once, without the ~2 µs of scheduling the end of the turn).
   */
  batchSends?: boolean;
}

/**
 * The gzip inflation limits of a transport with `options`: the rate cap guards a server against
 * its peers; a client reading its server's gzip is not rate-capped unless told to (the ratio cap
 * still applies).
 */
export function gunzipLimits(options: GunzipLimits, server: boolean): GunzipLimits {
  if (server) return options;
  const given = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as GunzipLimits;
  return { maxInflatedBytesPerSecond: 0, ...given };
}
