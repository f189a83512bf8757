/**
 * The server's own HTTP port (`deno task start --http=HOST:PORT`): a `Deno.serve` listener
 * (Deno's HTTP/1.1 and HTTP/2 server parses requests, keep-alive and chunked bodies) that hands
 * every request to one handler: `LimeServer.handler` (the HTTP API, LIME over WebSocket through
 * `Deno.upgradeWebSocket`) and `GET /healthz`. Chosen over teaching the standalone WebSocket
 * listener (`websocket_node_server.ts`) HTTP: that one stays a lean upgrade-only server, and the
 * HTTP API here is exactly what runs inside any `Deno.serve` app or on Deno Deploy.
 * @module
 */
import { TransportError } from "../transport/errors.ts";

/** The HTTP port of `deno task start` (the WebSocket port's neighbour). */
export const DEFAULT_HTTP_PORT = 8081;

/** Where and how the HTTP port listens. */
export interface HttpListenOptions {
  /** Interface. Default `127.0.0.1`. */
  hostname?: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Serve https with this certificate chain (PEM); needs `key`. */
  cert?: string;
  /** The private key of `cert` (PEM). */
  key?: string;
}

/** A request handler of `Deno.serve`'s shape. */
export type ServeHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

/** The HTTP port: `GET /healthz`, everything else to the handler. */
export class HttpListener {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** `host:port` it listens on. */
  readonly address: string;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
    const { hostname, port } = server.addr;
    this.address = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  }

  /** Listens; rejects with an `io` TransportError (its cause Deno's) when it cannot. */
  static listen(options: HttpListenOptions, handler: ServeHandler): HttpListener {
    const serve = (request: Request, info: Deno.ServeHandlerInfo) => {
      if (new URL(request.url).pathname === "/healthz" && request.method === "GET") {
        return new Response("ok\n", { headers: { "content-type": "text/plain" } });
      }
      return handler(request, info);
    };
    const tls = options.cert !== undefined && options.key !== undefined
      ? { cert: options.cert, key: options.key }
      : {};
    try {
      const server = Deno.serve({
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port,
        onListen: () => {},
        ...tls,
      }, serve);
      return new HttpListener(server as Deno.HttpServer<Deno.NetAddr>);
    } catch (error) {
      throw new TransportError(
        "io",
        `Cannot listen on ${options.hostname ?? "127.0.0.1"}:${options.port}: ${
          (error as Error).message
        } (the HTTP port)`,
        { cause: error },
      );
    }
  }

  /** Stops listening and ends the connections (requests in progress are answered first). */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
