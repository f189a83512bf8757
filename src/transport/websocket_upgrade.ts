/**
 * Accepting LIME WebSocket connections inside any `Deno.serve` handler (Deno Deploy included):
 * {@link upgradeLimeWebSocket} refuses requests that are not WebSocket upgrades asking for the
 * `lime` subprotocol, and turns the others into a server-side {@link WebSocketTransport}.
 *
 * **Oversize frames: what the runtime allows, and what is left.** Deno 2.9.6's
 * `Deno.upgradeWebSocket` takes `protocol`, `idleTimeout`, `socket` and `head`: no frame or
 * message size. Deno assembles every message in Rust up to its own fixed cap of 64 MiB (a larger
 * one fails the connection in Deno) and hands it to JavaScript only when complete, so the
 * transport cannot see a frame before it is whole. It refuses an oversize message the moment it
 * is delivered: the size check reads the string's length (or the binary message's byte length)
 * before decoding or copying anything, keeps no reference to it, fails with `framing` (a server
 * channel answers `failed`, reason 21) and closes with code 4000. What a peer can make the server
 * hold per connection is therefore one message of up to 64 MiB, twice (Deno's receive buffer and
 * the JavaScript string): one 60 MiB text frame raised RSS by 125 MiB at its peak (measured,
 * `deno run` of a `WebSocketTransportListener` and a hand-made client in another process). Both
 * copies live as long as the connection does; a major GC does not release them earlier:
 *
 * - a peer that answers the close (any WebSocket client) is disconnected about 40 ms after the
 *   message arrived; half the memory is released at once, the rest at the next major GC;
 * - a peer that sends anything after the close is disconnected by Deno at once (four 60 MiB
 *   frames in a row: +185 MiB at the peak, back to the baseline at the next GC);
 * - a peer that stays silent keeps its connection, and the memory, until it goes away: Deno stops
 *   its `idleTimeout` pings once a close is sent, and the WebSocket API has no way to drop a
 *   connection without the close handshake (50 s observed, nothing released).
 *
 * Here, inside someone else's `Deno.serve` (and in `LimeServer.handler`, Deno Deploy), the
 * runtime owns the socket, so these limits stay: the server bounds the total only by how many
 * connections it accepts (per address and in all). The standalone listener
 * (`WebSocketTransportListener.listen()`, what `LimeServer.start()` runs) does not use this API:
 * it owns its sockets and speaks WebSocket itself (`websocket_server_transport.ts`), refusing an
 * oversize message on its frame header (close 1009, none of the payload kept, the socket
 * destroyed within 1 s whatever the peer does): four such 60 MiB frames there raised the
 * server's RSS by 5–6 MiB (`tests/security/websocket_frames_test.ts`).
 * @module
 */
import { forwardedClientAddress, forwardedProtocol } from "./forwarded.ts";
import { LIME_SUBPROTOCOL, type WebSocketSocketOptions, WebSocketTransport } from "./websocket.ts";

/** Options of {@link upgradeLimeWebSocket}. */
export interface LimeUpgradeOptions extends WebSocketSocketOptions {
  /**
   * Seconds without a pong before the connection is closed, 0 disables pings. Here it is
   * `Deno.upgradeWebSocket`'s `idleTimeout` (default: Deno's, 30 s); the standalone listener
   * pings after that many quiet seconds and drops a peer silent for as long again (default 30).
   */
  idleTimeout?: number;
  /** Fills `remoteEndpoint` from the `info` argument of the `Deno.serve` handler. */
  info?: Deno.ServeHandlerInfo;
  /**
   * The request comes through a reverse proxy you control: take the client's address for
   * `remoteEndpoint` from the right-most `X-Forwarded-For` entry (or `Forwarded: for=`), with
   * port 0, instead of the proxy's address. Default false: any client can send those headers, so
   * trusting them without such a proxy lets every client claim any address.
   */
  trustProxy?: boolean;
  /**
   * A TLS-terminating proxy you control stands in front: a request whose right-most
   * `X-Forwarded-Proto` (or `Forwarded: proto=`) is `https` gives a transport whose `encryption`
   * is `tls` (so a server accepts `plain` and `key` on it). Default false: a client that reaches
   * the server without the proxy could send the header over cleartext. A request whose URL is
   * `https:` (a `Deno.serve` with a certificate) is `tls` without it.
   */
  trustProxyTls?: boolean;
}

/**
 * Whether a request arrived over TLS: its URL is `https:`, or (with `trustProxyTls`) the
 * trusted proxy's `X-Forwarded-Proto` says `https`.
 */
export function requestIsTls(
  request: { readonly url: string; readonly headers: Headers },
  trustProxyTls: boolean,
): boolean {
  return request.url.startsWith("https:") ||
    (trustProxyTls && forwardedProtocol(request.headers) === "https");
}

/** What {@link upgradeLimeWebSocket} gives back: always a response, a transport when accepted. */
export type LimeUpgrade =
  | {
    /** The 101 response to return from the handler. */
    response: Response;
    /** The server-side transport; usable at once (sends wait for the handshake to finish). */
    transport: WebSocketTransport;
  }
  | {
    /** The 400 response to return from the handler; its body says why. */
    response: Response;
    /** No transport: the request was refused. */
    transport: undefined;
  };

/**
 * Why a request cannot become a LIME WebSocket, or `undefined` when it can: it must be a
 * WebSocket upgrade whose `Sec-WebSocket-Protocol` list includes `lime`. Takes a `Request` or
 * anything with its `headers`.
 */
export function limeUpgradeProblem(request: { readonly headers: Headers }): string | undefined {
  const upgrade = request.headers.get("upgrade") ?? "";
  if (upgrade.toLowerCase() !== "websocket") {
    return "This endpoint speaks LIME over WebSocket: send a WebSocket upgrade request with the " +
      `"${LIME_SUBPROTOCOL}" subprotocol`;
  }
  const protocols = (request.headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((protocol) => protocol.trim());
  if (!protocols.includes(LIME_SUBPROTOCOL)) {
    return `The WebSocket upgrade must request the "${LIME_SUBPROTOCOL}" subprotocol ` +
      `(Sec-WebSocket-Protocol: ${LIME_SUBPROTOCOL})`;
  }
  return undefined;
}

/**
 * Accepts a LIME WebSocket upgrade inside a `Deno.serve` handler, selecting the `lime`
 * subprotocol; refuses (HTTP 400, plain-text reason) a request that is not a WebSocket upgrade or
 * does not ask for `lime`.
 *
 * @example
 * ```ts ignore
 * Deno.serve((request, info) => {
 *   if (new URL(request.url).pathname !== "/lime") return new Response("hello");
 *   const { response, transport } = upgradeLimeWebSocket(request, { info });
 *   if (transport) serveLimeClient(transport);
 *   return response;
 * });
 * ```
 */
export function upgradeLimeWebSocket(
  request: Request,
  options: LimeUpgradeOptions = {},
): LimeUpgrade {
  const problem = limeUpgradeProblem(request);
  if (problem !== undefined) return { response: badRequest(problem), transport: undefined };
  // Read before upgrading: Deno's `info.remoteAddr` throws once the request is upgraded.
  const remote = options.info?.remoteAddr;
  const forwarded = options.trustProxy ? forwardedClientAddress(request.headers) : undefined;
  const tls = requestIsTls(request, options.trustProxyTls ?? false);
  const remoteEndpoint = options.remoteEndpoint ??
    (forwarded !== undefined
      ? hostPort(forwarded, 0)
      : remote?.transport === "tcp"
      ? hostPort(remote.hostname, remote.port)
      : undefined);
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(request, {
      protocol: LIME_SUBPROTOCOL,
      idleTimeout: options.idleTimeout,
    });
  } catch (error) {
    return {
      response: badRequest(`Cannot upgrade to WebSocket: ${(error as Error).message}`),
      transport: undefined,
    };
  }
  const transport = WebSocketTransport.fromSocket(upgraded.socket, {
    ...options,
    remoteEndpoint,
    ...(tls ? { encryption: "tls" } : {}),
  });
  return { response: upgraded.response, transport };
}

/** `host:port`, with brackets around an IPv6 host. */
export function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

function badRequest(text: string): Response {
  return new Response(`${text}\n`, {
    status: 400,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
