/**
 * Helpers for the LimeServer tests over real sockets on 127.0.0.1 (port 0): starting a server on a
 * store, client channels over TCP or WebSocket, a `TestServer` that logs clients in and cleans up
 * after itself, and small helpers for what the clients receive.
 * @module
 */
import assert from "node:assert/strict";
import {
  type ChannelOptions,
  ClientChannel,
  CommandFailedError,
  type Credentials,
  type Envelope,
  hashPassword,
  KvAccountStore,
  LimeError,
  LimeServer,
  type LimeServerOptions,
  serializeEnvelope,
  TcpTransport,
  type TcpTransportOptions,
  WebSocketTransport,
} from "../mod.ts";
import { within } from "./tcp_helpers.ts";

export const ACCOUNT = "application/vnd.lime.account+json";
export const CONTACT = "application/vnd.lime.contact+json";
export const PRESENCE = "application/vnd.lime.presence+json";
export const RECEIPT = "application/vnd.lime.receipt+json";

/** How a client reaches the server. */
export type Via = "tcp" | "ws";

/**
 * Starts a LimeServer on `store` for `localhost`, listening for TCP and WebSocket on 127.0.0.1
 * (port 0), with cheap password hashing; `options` override all but the store.
 */
export async function startServer(
  store: KvAccountStore,
  options: Partial<LimeServerOptions> = {},
): Promise<LimeServer> {
  const server = new LimeServer({
    domain: "localhost",
    tcp: { hostname: "127.0.0.1", port: 0 },
    websocket: { hostname: "127.0.0.1", port: 0 },
    passwordIterations: 1000,
    ...options,
    store,
  });
  await server.start();
  return server;
}

/** Options of a client connection: the transport, the channel and the credentials to log in. */
export interface LoginOptions {
  via?: Via;
  credentials?: Credentials;
  channel?: ChannelOptions;
  /** TCP transport options (ignored over WebSocket). */
  tcp?: TcpTransportOptions;
}

/** A client channel on a new connection to `address` (`host:port`), not established. */
export async function connect(
  address: string,
  via: Via = "tcp",
  how: Pick<LoginOptions, "channel" | "tcp"> = {},
): Promise<ClientChannel> {
  const transport = via === "tcp" ? new TcpTransport(how.tcp) : new WebSocketTransport();
  await transport.open(via === "tcp" ? `net.tcp://${address}` : `ws://${address}/`);
  return new ClientChannel(transport, how.channel);
}

/** A started server with a throwaway store; closes its clients, the server and the store. */
export class TestServer implements AsyncDisposable {
  readonly clients: ClientChannel[] = [];

  private constructor(readonly server: LimeServer, readonly store: KvAccountStore) {}

  static async start(options: Partial<LimeServerOptions> = {}): Promise<TestServer> {
    const store = await KvAccountStore.open(":memory:");
    return new TestServer(await startServer(store, options), store);
  }

  /** Creates an account directly in the store. */
  async addAccount(identity: string, password: string): Promise<void> {
    assert.equal(
      await this.store.createAccount({
        identity,
        document: {},
        passwordHash: await hashPassword(password, 1000),
      }),
      true,
    );
  }

  /** A client channel on a new connection (not established). */
  async connect(how: LoginOptions = {}): Promise<ClientChannel> {
    const via = how.via ?? "tcp";
    const address = via === "tcp" ? this.server.tcpAddress : this.server.websocketAddress;
    const channel = await connect(address!, via, how);
    this.clients.push(channel);
    return channel;
  }

  /**
   * Establishes `name@domain/instance` (guest unless credentials are given); resolves with the
   * channel, rejects like establishSession.
   */
  async login(node: string, how: LoginOptions = {}): Promise<ClientChannel> {
    const [identity, instance] = node.split("/");
    const client = await this.connect(how);
    const established = await within(
      client.establishSession({ identity, instance, credentials: how.credentials }),
      5000,
      `establishing ${node}`,
    );
    assert.equal(established.to, node);
    return client;
  }

  /** Asserts that establishing `node` fails with `code`, and that the channel ends `failed`. */
  async refused(node: string, how: LoginOptions, code = 13): Promise<void> {
    const [identity, instance] = node.split("/");
    const client = await this.connect(how);
    const error = await within(
      client.establishSession({ identity, instance, credentials: how.credentials }),
    ).then(() => undefined, (caught) => caught);
    assert.ok(error instanceof LimeError, `expected a LimeError, got ${error}`);
    assert.equal(error.code, code, error.message);
    const info = await within(client.closed);
    assert.equal(info.state, "failed");
    assert.equal(info.reason?.code, code);
  }

  /**
   * Asserts that the server does not offer the scheme of `how.credentials` to `node` on this
   * connection: the client gives up before sending any secret (a LimeError 13 naming the offer).
   * Resolves with the schemes offered.
   */
  async notOffered(node: string, how: LoginOptions): Promise<readonly string[]> {
    const [identity, instance] = node.split("/");
    const client = await this.connect(how);
    let offered: readonly string[] = [];
    const credentials = how.credentials!;
    const error = await within(
      client.establishSession({
        identity,
        instance,
        authenticator: (schemes) => {
          offered = schemes;
          if (schemes.includes(credentials.scheme)) return credentials;
          throw new LimeError({ code: 13, description: `"${credentials.scheme}" not offered` });
        },
      }),
    ).then(() => undefined, (caught) => caught);
    assert.ok(error instanceof LimeError, `expected a LimeError, got ${error}`);
    assert.ok(!offered.includes(credentials.scheme), `"${credentials.scheme}" was offered`);
    return offered;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server.shutdown();
    await Promise.all(this.clients.map((client) => within(client.close(), 5000, "closing")));
    this.store.close();
  }
}

/** The envelope as its wire JSON object. */
export function json(envelope: Envelope): unknown {
  return JSON.parse(serializeEnvelope(envelope));
}

/** The wire JSON of the next message `client` receives (bounded wait). */
export const nextMessage = async (client: ClientChannel): Promise<unknown> =>
  json(await within(client.receiveMessage()));

/** The wire JSON of the next notification `client` receives (bounded wait). */
export const nextNotification = async (client: ClientChannel): Promise<unknown> =>
  json(await within(client.receiveNotification()));

/** Runs `promise`, expecting a CommandFailedError; returns its reason. */
export async function commandFailure(promise: Promise<unknown>): Promise<unknown> {
  const error = await within(promise).then(() => undefined, (caught) => caught);
  assert.ok(error instanceof CommandFailedError, `expected a CommandFailedError, got ${error}`);
  return error.reason;
}
