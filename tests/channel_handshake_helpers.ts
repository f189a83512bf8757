/**
 * Helpers for the channel handshake tests: connected transport links (memory, TCP with TLS,
 * WebSocket), a wire recorder, one full handshake between a ClientChannel and a ServerChannel, the
 * traffic check run after establishment and the graceful finish check.
 * @module
 */
import assert from "node:assert/strict";
import { serializeEnvelope } from "../src/codec.ts";
import { Command, Message, type Session } from "../src/envelope.ts";
import { ClientChannel, type EstablishSessionOptions } from "../src/channel/client_channel.ts";
import type { ChannelOptions } from "../src/channel/channel_options.ts";
import { ServerChannel } from "../src/channel/server_channel.ts";
import type {
  EstablishmentResult,
  ServerEstablishOptions,
} from "../src/channel/server_establishment.ts";
import { MemoryTransport, type MemoryTransportOptions } from "../src/transport/memory.ts";
import { TcpTransport, type TcpTransportOptions } from "../src/transport/tcp.ts";
import {
  TcpTransportListener,
  type TcpTransportListenerOptions,
} from "../src/transport/tcp_listener.ts";
import type { Transport, TransportListener } from "../src/transport/transport.ts";
import { WebSocketTransport } from "../src/transport/websocket.ts";
import { WebSocketTransportListener } from "../src/transport/websocket_server.ts";
import { type RecordingProxy, recordingProxy, within } from "./tcp_helpers.ts";

/** The server node of every test. */
export const SERVER_NODE = "postmaster@localhost/server1";
/** The session id of every test (the one of lime-protocol §4.1). */
export const SESSION_ID = "d35ad2be-9aa9-4825-9096-d6332655ed1d";

/** A connected client/server transport pair. */
export interface Link extends AsyncDisposable {
  client: Transport;
  server: Transport;
}

/** A memory pair. */
export function memoryLink(options?: MemoryTransportOptions): Link {
  const [client, server] = MemoryTransport.pair(options);
  return {
    client,
    server,
    async [Symbol.asyncDispose]() {
      await Promise.allSettled([client.close(), server.close()]);
    },
  };
}

/** Accepts the next transport of `listener`, bounded. */
async function accept(listener: TransportListener): Promise<Transport> {
  const next = await within(listener[Symbol.asyncIterator]().next(), 5000, "accepting");
  assert.equal(next.done, false, "the listener ended");
  return next.value;
}

/** A TCP listener on 127.0.0.1, port 0. */
export async function tcpListener(
  options: TcpTransportListenerOptions = {},
): Promise<TcpTransportListener> {
  const listener = new TcpTransportListener({ ...options, hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  return listener;
}

/** Connects a new TCP client to `listener`, through a recording proxy when asked. */
export async function tcpLink(
  listener: TcpTransportListener,
  options: TcpTransportOptions = {},
  proxied = false,
): Promise<Link & { proxy?: RecordingProxy }> {
  const accepted = accept(listener);
  const proxy = proxied ? recordingProxy(listener.address!) : undefined;
  const client = new TcpTransport(options);
  try {
    await client.open(`net.tcp://${proxy?.address ?? listener.address}`);
  } catch (error) {
    accepted.catch(() => {});
    throw error;
  }
  const server = await accepted;
  return {
    client,
    server,
    proxy,
    async [Symbol.asyncDispose]() {
      await Promise.allSettled([client.close(), server.close()]);
      await proxy?.[Symbol.asyncDispose]();
    },
  };
}

/** A WebSocket listener on 127.0.0.1, port 0. */
export async function webSocketListener(): Promise<WebSocketTransportListener> {
  const listener = new WebSocketTransportListener({ hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  return listener;
}

/** Connects a new WebSocket client to `listener`. */
export async function webSocketLink(listener: WebSocketTransportListener): Promise<Link> {
  const accepted = accept(listener);
  const client = new WebSocketTransport();
  await client.open(listener.url!);
  const server = await accepted;
  return {
    client,
    server,
    async [Symbol.asyncDispose]() {
      await Promise.allSettled([client.close(), server.close()]);
    },
  };
}

/**
 * Records every envelope both sides send, in order, as `C→S {json}` / `S→C {json}` (the JSON the
 * transport serializes, before any compression or encryption).
 */
export function recordWire(link: Link): string[] {
  const lines: string[] = [];
  for (const [transport, direction] of [[link.client, "C→S"], [link.server, "S→C"]] as const) {
    const send = transport.send.bind(transport);
    transport.send = (envelope, options) => {
      lines.push(`${direction} ${serializeEnvelope(envelope)}`);
      return send(envelope, options);
    };
  }
  return lines;
}

/**
 * Asserts the recorded wire equals `expected` (lines in the same `C→S {json}` form), comparing
 * each envelope as parsed JSON: the same keys and values, in any key order.
 */
export function assertWire(wire: readonly string[], expected: readonly string[]): void {
  const parse = (line: string) => [line.slice(0, 3), JSON.parse(line.slice(4))];
  assert.deepEqual(wire.map(parse), expected.map(parse));
}

/** Both channels of a link, and how the establishment went on each side. */
export interface Handshake extends AsyncDisposable {
  client: ClientChannel;
  server: ServerChannel;
  /** The client's outcome: the `established` envelope, or the error it rejected with. */
  session: Session | undefined;
  clientError: unknown;
  /** The server's outcome. */
  result: EstablishmentResult;
}

/** What {@link handshake} runs. */
export interface HandshakeOptions {
  client?: EstablishSessionOptions;
  server?: ServerEstablishOptions;
  clientChannel?: ChannelOptions;
}

/** Runs both establishments at once on `link` (bounded); never rejects for a failed session. */
export async function handshake(link: Link, options: HandshakeOptions = {}): Promise<Handshake> {
  const client = new ClientChannel(link.client, options.clientChannel);
  const server = new ServerChannel(link.server, { serverNode: SERVER_NODE, sessionId: SESSION_ID });
  const [clientOutcome, result] = await within(
    Promise.all([
      client.establishSession(options.client ?? { identity: "alice@localhost" }).then(
        (session) => ({ session, error: undefined }),
        (error: unknown) => ({ session: undefined, error }),
      ),
      server.establishSession(options.server),
    ]),
    5000,
    "the handshake",
  );
  return {
    client,
    server,
    session: clientOutcome.session,
    clientError: clientOutcome.error,
    result,
    async [Symbol.asyncDispose]() {
      await Promise.allSettled([client.close(), server.close()]);
    },
  };
}

/** Asserts that both sides established `node` with `domainRole`. */
export function assertEstablished(h: Handshake, node: string, domainRole = "member"): void {
  if (h.clientError) throw h.clientError;
  assert.ok(h.result?.established, "the server established the session");
  assert.deepEqual(
    { established: true, node: h.result.node, domainRole: h.result.domainRole },
    { established: true, node, domainRole },
  );
  assert.equal(h.session?.state, "established");
  assert.equal(h.client.state, "established");
  assert.equal(h.server.state, "established");
  assert.equal(h.client.isEstablished, true);
  assert.equal(h.client.sessionId, SESSION_ID);
  assert.equal(h.client.localNode, node);
  assert.equal(h.client.remoteNode, SERVER_NODE);
  assert.equal(h.server.remoteNode, node);
}

/**
 * Messages both ways and a `processCommand` round trip (client asks, the server answers) on an
 * established session.
 */
export async function assertTraffic(h: Handshake): Promise<void> {
  const { client, server } = h;
  const hello = new Message("text/plain", "hello server", { id: "m1" });
  await client.sendMessage(hello);
  assert.deepEqual(await within(server.receiveMessage(), 2000, "server receive"), {
    id: "m1",
    type: "text/plain",
    content: "hello server",
  });
  await server.sendMessage(new Message("text/plain", "hello ünïcödé client 🚀", { id: "m2" }));
  const back = await within(client.receiveMessage(), 2000, "client receive");
  assert.equal(back.content, "hello ünïcödé client 🚀");
  const answered = (async () => {
    const request = await within(server.receiveCommand(), 2000, "server command");
    assert.equal(request.method, "get");
    assert.equal(request.uri, "/account");
    await server.sendCommand(
      new Command("get", undefined, {
        id: request.id,
        status: "success",
        type: "application/json",
        resource: { fullName: "Alice" },
      }),
    );
  })();
  const response = await within(
    client.processCommand(new Command("get", "/account", { id: "c1" })),
    2000,
    "processCommand",
  );
  await answered;
  assert.equal(response.id, "c1");
  assert.equal(response.status, "success");
  assert.deepEqual(response.resource, { fullName: "Alice" });
}

/** Finishes from the client and asserts both channels ended `finished` without an error. */
export async function assertFinish(h: Handshake): Promise<void> {
  await within(h.client.finish(), 2000, "finish");
  await assertBothFinished(h.client, h.server);
}

/** Both channels closed in state `finished`, no reason, no error; both transports closed. */
export async function assertBothFinished(
  client: ClientChannel,
  server: ServerChannel,
): Promise<void> {
  const [clientInfo, serverInfo] = await within(
    Promise.all([client.closed, server.closed]),
    2000,
    "closing",
  );
  assert.deepEqual(clientInfo, { state: "finished" });
  assert.deepEqual(serverInfo, { state: "finished" });
  assert.equal(client.transport.isConnected, false);
  assert.equal(server.transport.isConnected, false);
}
