/**
 * Accepting LIME WebSocket connections inside any `Deno.serve` handler (Deno Deploy included):
 * {@link upgradeLimeWebSocket} refuses requests that are not WebSocket upgrades asking for the
 * `lime` subprotocol, and turns the others into a server-side {@link WebSocketTransport}.
 * @module
 */
import { forwardedClientAddress } from "./forwarded.ts";
import { LIME_SUBPROTOCOL, type WebSocketSocketOptions, WebSocketTransport } from "./websocket.ts";

/** Options of {@link upgradeLimeWebSocket}. */
export interface LimeUpgradeOptions extends WebSocketSocketOptions {
  /**
   * Seconds without a pong before Deno closes the connection (`Deno.upgradeWebSocket`'s
   * `idleTimeout`; 0 disables pings). Default: Deno's.
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
 * WebSocket upgrade whose `Sec-WebSocket-Protocol` list includes `lime`.
 */
export function limeUpgradeProblem(request: Request): string | undefined {
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
