/**
 * The resilient client for Deno: {@link LimeClient} with TCP (`net.tcp://`, in-session TLS) and
 * connection by domain through the `_lime._tcp` SRV record, besides WebSocket.
 * @module
 */
import { resolveLimeServer, type ResolveLimeServerOptions } from "../channel/resolve_server.ts";
import { TcpTransport } from "../transport/tcp.ts";
import type { TcpClientTlsOptions } from "../transport/tcp_options.ts";
import type { LimeClientOptions, TransportFactory } from "./client_options.ts";
import { clientUriProblem } from "./client_uri.ts";
import { LimeClient as WebLimeClient, webTransportFactory } from "./lime_client.ts";

/** Options of the Deno client: a URI or a domain, and TLS settings for TCP. */
export interface DenoLimeClientOptions extends LimeClientOptions {
  /** Connect to this domain's LIME server (SRV `_lime._tcp.<domain>`, else `<domain>:55321`). */
  domain?: string;
  /** Options of the SRV lookup. */
  resolve?: Omit<ResolveLimeServerOptions, "signal">;
  /** TLS settings for the in-session upgrade on TCP (CA list, client certificate). */
  tls?: TcpClientTlsOptions;
}

/** Opens TCP transports for `net.tcp://`, WebSocket ones otherwise. */
export function denoTransportFactory(
  options: DenoLimeClientOptions = { identity: "" },
): TransportFactory {
  return async (uri, signal) => {
    if (!uri && options.domain) {
      const [address] = await resolveLimeServer(options.domain, { ...options.resolve, signal });
      if (!address) {
        throw new TypeError(`The domain "${options.domain}" publishes no LIME service (SRV ".")`);
      }
      uri = address.uri;
    }
    if (/^net\.tcp:/i.test(uri)) {
      const transport = new TcpTransport(options.tls ? { tls: options.tls } : {});
      await transport.open(uri, { signal });
      return transport;
    }
    return webTransportFactory(uri, signal);
  };
}

/** A client that stays connected, over TCP, WebSocket, or a domain's SRV record. */
export class LimeClient extends WebLimeClient {
  /** Creates a client; `start()` connects. */
  constructor(options: DenoLimeClientOptions) {
    if (!options?.uri && !options?.domain) {
      throw new TypeError("A LimeClient needs options.uri or options.domain");
    }
    if (options.uri && !options.transportFactory) {
      const problem = clientUriProblem(String(options.uri), ["net.tcp", "ws", "wss"]);
      if (problem) throw new TypeError(problem);
    }
    super(options, denoTransportFactory(options));
  }
}
