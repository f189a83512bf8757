/**
 * TLS for the TCP transport: the in-session upgrade of an open `node:net` socket (client and
 * server side, lime-protocol §5.2) and the TLS options of both sides.
 * @module
 */
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { TransportError } from "./errors.ts";
import { parseAuthorities } from "./tcp_certificate.ts";
import { afterWhitespace } from "./tcp_io.ts";

/** TLS settings of a client transport. */
export interface TcpClientTlsOptions {
  /**
   * Certificate authorities (PEM) trusted for the server certificate. They replace the default
   * root store (Deno's bundled roots, or the system store with `DENO_TLS_CA_STORE=system`).
   */
  caCerts?: string[];
  /**
   * The name the server certificate must carry (and the SNI). Default: the host of the URI; when
   * that is an IP address, the certificate must list it as an IP subject alternative name.
   */
  serverName?: string;
  /** Client certificate (PEM) to present, for the `transport` authentication scheme. */
  cert?: string;
  /** Private key (PEM) of `cert`. */
  key?: string;
}

/** TLS settings of a server-side transport (and of the listener that makes them). */
export interface TcpServerTlsOptions {
  /** Server certificate (PEM), optionally followed by its intermediates. */
  cert: string;
  /** Private key (PEM) of `cert`. */
  key: string;
  /**
   * Certificate authorities (PEM) that client certificates are checked against. A client
   * certificate from another issuer is still accepted by the handshake; its `verified` is false.
   */
  caCerts?: string[];
  /** Ask the client for a certificate (it may send none). Default true, as lime-csharp does. */
  requestClientCertificate?: boolean;
}

/**
 * Checks a certificate and its key up front (both parse, the key belongs to the certificate), so
 * that a bad configuration fails where it is given rather than at the first TLS handshake.
 * Throws a TypeError naming `what`.
 */
export function checkCertificateAndKey(what: string, cert: string, key: string): void {
  let matches: boolean;
  try {
    // The public keys compared (SPKI): `X509Certificate.checkPrivateKey` is missing in Deno 2.5.
    const certified = spki(new X509Certificate(cert).publicKey);
    const owned = spki(createPublicKey(createPrivateKey(key)));
    matches = certified.length === owned.length && certified.every((byte, i) => byte === owned[i]);
  } catch (error) {
    throw new TypeError(
      `${what}: cannot read the certificate or key: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!matches) throw new TypeError(`${what}: the key does not belong to the certificate`);
}

const spki = (key: KeyObject) => new Uint8Array(key.export({ type: "spki", format: "der" }));

/** TLS record content types (change_cipher_spec, alert, handshake, application_data). */
const isTlsRecordType = (byte: number) => byte >= 20 && byte <= 23;

/**
 * The stream a client's TLS runs over: `socket`, minus the whitespace that comes before the
 * server's first TLS record. The client speaks first in TLS, so its hello is out before it can
 * know whether the `\n` a server writes after the confirmation (lime-go) is still on its way in a
 * later segment; that `\n` must not reach the TLS engine. A first byte that starts no TLS record
 * fails the stream (bytes injected after the confirmation).
 */
function skippingWhitespace(socket: net.Socket): Duplex {
  let skipping = true;
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk, _encoding, callback) => void socket.write(chunk, callback),
    writev: (chunks, callback) => {
      socket.cork();
      chunks.forEach(({ chunk }, i) =>
        socket.write(chunk, i === chunks.length - 1 ? callback : undefined)
      );
      socket.uncork();
    },
    final: (callback) => void socket.end(callback),
    destroy: (error, callback) => {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  socket.on("data", (chunk: Uint8Array) => {
    if (skipping) {
      chunk = afterWhitespace(chunk);
      if (chunk.length === 0) return;
      skipping = false;
      if (!isTlsRecordType(chunk[0])) {
        const problem = "arrived after the negotiation confirmation, before the TLS handshake";
        stream.destroy(new Error(`${chunk.length} bytes ${problem}`));
        return;
      }
    }
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("close", () => stream.destroy());
  return stream;
}

/**
 * Starts the client side of TLS on `socket`, which must be paused with no reader attached. The
 * returned socket carries the application bytes once {@link handshake} resolves. Whitespace that
 * arrives before the server's first TLS record is dropped, whenever it arrives.
 */
export function startClientTls(
  socket: net.Socket,
  options: TcpClientTlsOptions,
  host: string,
): tls.TLSSocket {
  const connect: tls.ConnectionOptions = {
    socket: skippingWhitespace(socket) as net.Socket,
    ca: options.caCerts,
    cert: options.cert,
    key: options.key,
  };
  // SNI must not be an IP address; the identity check then uses `host`.
  if (options.serverName !== undefined) connect.servername = options.serverName;
  else if (net.isIP(host)) connect.host = host;
  else connect.servername = host;
  return tls.connect(connect);
}

/** Starts the server side of TLS on `socket` (paused, no reader attached). */
export function startServerTls(socket: net.Socket, options: TcpServerTlsOptions): tls.TLSSocket {
  return new tls.TLSSocket(socket, {
    isServer: true,
    cert: options.cert,
    key: options.key,
    ca: options.caCerts,
    requestCert: options.requestClientCertificate ?? true,
    // A client certificate is optional; when one comes, the transport checks its chain itself.
    rejectUnauthorized: false,
  });
}

/**
 * Resolves when the TLS handshake of `socket` (the `server` or client side) completes; rejects with a `tls` TransportError
 * when it fails or the connection closes first, with `aborted` when `signal` aborts (the socket
 * is then destroyed). Leaves no listeners behind.
 */
export function handshake(
  socket: tls.TLSSocket,
  server: boolean,
  signal?: AbortSignal,
): Promise<void> {
  const event = server ? "secure" : "secureConnect";
  return new Promise((resolve, reject) => {
    const done = (error?: TransportError) => {
      socket.off(event, onSecure);
      socket.off("error", onError);
      socket.off("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onSecure = () => done();
    const onError = (error: Error) =>
      done(new TransportError("tls", `TLS handshake failed: ${error.message}`, { cause: error }));
    const onClose = () =>
      done(new TransportError("tls", "TLS handshake failed: the connection closed"));
    const onAbort = () => {
      done(
        new TransportError("aborted", "The TLS handshake was aborted", { cause: signal?.reason }),
      );
      socket.destroy();
    };
    if (signal?.aborted) return onAbort();
    socket.once(event, onSecure);
    socket.once("error", onError);
    socket.once("close", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Makes pausing `secure` stop reading from the connection under it. Deno 2.9's TLS sockets keep
 * reading while paused (a paused server-side TLS socket took 2 GB from a fast writer in 4 s,
 * where a paused plain socket took 4 MB), so receive backpressure would never reach the peer.
 * Its `pause`/`resume` events therefore also stop and restart the TCP handle under it (a private
 * `node:net` field, used only when present).
 */
export function pauseWithConnection(secure: tls.TLSSocket, raw: net.Socket): void {
  const handle = (raw as unknown as { _handle?: { readStart?(): void; readStop?(): void } })
    ._handle;
  if (typeof handle?.readStop !== "function" || typeof handle.readStart !== "function") return;
  secure.on("pause", () => handle.readStop!());
  secure.on("resume", () => handle.readStart!());
}

/** How this side starts TLS. */
export type TlsRole =
  | { server: true; options: TcpServerTlsOptions; authorities: readonly X509Certificate[] }
  | { server: false; options: TcpClientTlsOptions; host: string };

const serverRoles = new WeakMap<TcpServerTlsOptions, TlsRole>();

/**
 * A server's TLS role with `options` (none without them: it offers no TLS). Made once per options
 * object, so that a listener's connections share it and its authorities are parsed once.
 */
export function serverTlsRole(options: TcpServerTlsOptions | undefined): TlsRole | undefined {
  if (!options) return undefined;
  let role = serverRoles.get(options);
  if (!role) {
    role = { server: true, options, authorities: parseAuthorities(options.caCerts) };
    serverRoles.set(options, role);
  }
  return role;
}

/** A client's TLS role (its certificate, when given, is checked against its key at once). */
export function clientTlsRole(options: TcpClientTlsOptions): TlsRole {
  if (options.cert !== undefined) {
    checkCertificateAndKey("Client TLS options", options.cert, options.key ?? "");
  }
  return { server: false, options, host: "" };
}
