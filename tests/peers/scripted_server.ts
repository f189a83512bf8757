/**
 * A scripted server: a {@link Profile} listening on TCP (`node:net`, TLS in the session when it
 * has a certificate) and WebSocket (`Deno.serve`, subprotocol `lime`) on 127.0.0.1. It can stop
 * (saying goodbye as its profile does, or dropping every connection) and start again on the same
 * ports, for reconnection tests.
 * @module
 */
import net from "node:net";
import { Hub } from "./hub.ts";
import { runSession, type SessionOptions } from "./peer_session.ts";
import type { Profile } from "./profile.ts";
import { type ServerCertificate, tcpWire } from "./tcp_wire.ts";
import { websocketWire } from "./websocket_wire.ts";
import type { Json, Wire } from "./wire.ts";

/** Options of a {@link ScriptedServer}. */
export interface ScriptedServerOptions extends SessionOptions {
  /** The certificate for TLS on TCP; without it TCP offers no TLS. */
  certificate?: ServerCertificate;
}

/** A profile served over TCP and WebSocket. */
export class ScriptedServer implements AsyncDisposable {
  /** The profile served. */
  readonly profile: Profile;
  readonly #options: ScriptedServerOptions;
  readonly #wires = new Set<Wire>();
  readonly #sessions = new Set<Promise<void>>();
  #hub = new Hub();
  #tcp: net.Server | undefined;
  #http: Deno.HttpServer | undefined;
  #tcpPort = 0;
  #wsPort = 0;

  /** Creates a server; {@link start} listens. */
  constructor(profile: Profile, options: ScriptedServerOptions = {}) {
    this.profile = profile;
    this.#options = options;
  }

  /** Starts a scripted server. */
  static async start(profile: Profile, options?: ScriptedServerOptions): Promise<ScriptedServer> {
    const server = new ScriptedServer(profile, options);
    await server.start();
    return server;
  }

  /** `net.tcp://127.0.0.1:port`. */
  get tcpUri(): string {
    return `net.tcp://127.0.0.1:${this.#tcpPort}`;
  }

  /** `ws://127.0.0.1:port`. */
  get wsUri(): string {
    return `ws://127.0.0.1:${this.#wsPort}`;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#wires.size;
  }

  /** The nodes of the established sessions. */
  get nodes(): string[] {
    return this.#hub.sessions().map((session) => session.node);
  }

  /** Sends an envelope to the session of `node` (as the server, `from` its node by default). */
  sendTo(node: string, envelope: Json): void {
    const wire = this.#hub.find(node);
    if (!wire) throw new Error(`No session for ${node}`);
    wire.send({ from: this.profile.node, to: node, ...envelope });
  }

  /** Listens (on the ports of the previous start, if any). */
  async start(): Promise<void> {
    this.#hub = new Hub();
    const tcp = net.createServer((socket) => {
      this.#serve(tcpWire(socket, this.profile.format, this.#options.certificate));
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(this.#tcpPort, "127.0.0.1", resolve);
    });
    this.#tcp = tcp;
    this.#tcpPort = (tcp.address() as net.AddressInfo).port;
    const listening = Promise.withResolvers<number>();
    this.#http = Deno.serve({
      hostname: "127.0.0.1",
      port: this.#wsPort,
      onListen: ({ port }) => listening.resolve(port),
    }, (request) => {
      const protocols = request.headers.get("sec-websocket-protocol") ?? "";
      if (!protocols.split(",").map((p) => p.trim()).includes("lime")) {
        return new Response("LIME over WebSocket needs the lime subprotocol", { status: 400 });
      }
      const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "lime" });
      this.#serve(websocketWire(socket, this.profile.format, false));
      return response;
    });
    this.#wsPort = await listening.promise;
  }

  /**
   * Stops listening and closes every connection, its established sessions told first with the
   * profile's goodbye (`finished`, or `failed` with its reason) unless `graceful` is false.
   */
  async stop({ graceful = true } = {}): Promise<void> {
    const tcp = this.#tcp;
    this.#tcp = undefined;
    const closing = tcp ? new Promise((resolve) => tcp.close(resolve)) : undefined;
    if (graceful) {
      for (const { id, node, wire } of this.#hub.sessions()) {
        wire.send({ id, from: this.profile.node, to: node, ...this.profile.goodbye });
      }
    }
    for (const wire of this.#wires) wire.close();
    await Promise.all([...this.#wires].map((wire) => wire.closed));
    await Promise.all(this.#sessions);
    await closing;
    await this.#http?.shutdown();
    this.#http = undefined;
  }

  /** Stops. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ graceful: false });
  }

  #serve(wire: Wire): void {
    this.#wires.add(wire);
    const session = runSession(wire, this.profile, this.#hub, this.#options)
      .catch(() => wire.close())
      .finally(async () => {
        wire.close();
        await wire.closed;
        this.#wires.delete(wire);
        this.#sessions.delete(session);
      });
    this.#sessions.add(session);
  }
}
