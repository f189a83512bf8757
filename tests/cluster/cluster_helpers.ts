/**
 * In-process clusters for the engine tests: several `LimeServer`s, each with its own
 * `RedisEngine` (its own server id, connections and inbox), on one real `redis-server`, sharing
 * a `RedisAccountStore`; clients log in to whichever server a test names. Everything is closed
 * on dispose (clients, servers, store, Redis).
 * @module
 */
import assert from "node:assert/strict";
import {
  ClientChannel,
  type Credentials,
  hashPassword,
  LimeError,
  LimeServer,
  type LimeServerOptions,
  TcpTransport,
} from "../../mod.ts";
import { RedisAccountStore, RedisEngine, type RedisEngineOptions } from "../../cluster.ts";
import { within } from "../tcp_helpers.ts";
import { RedisServer } from "./redis_server.ts";

/** Servers of one domain on one Redis. */
export class TestCluster implements AsyncDisposable {
  readonly servers: LimeServer[] = [];
  readonly engines: RedisEngine[] = [];
  readonly clients: ClientChannel[] = [];

  private constructor(readonly redis: RedisServer, readonly store: RedisAccountStore) {}

  /** `count` servers (short TTLs: 1.5 s) on a fresh Redis. */
  static async start(
    count: number,
    options: Partial<LimeServerOptions> = {},
    engine: Partial<RedisEngineOptions> = {},
  ): Promise<TestCluster> {
    const redis = await RedisServer.start();
    const store = await RedisAccountStore.open(redis.url, "lime:localhost:");
    const cluster = new TestCluster(redis, store);
    for (let i = 0; i < count; i++) await cluster.add(options, engine);
    return cluster;
  }

  /** Starts one more server. */
  async add(
    options: Partial<LimeServerOptions> = {},
    engine: Partial<RedisEngineOptions> = {},
  ): Promise<LimeServer> {
    const redisEngine = new RedisEngine({
      url: this.redis.url,
      ttl: 1_500,
      hopTimeout: 3_000,
      backoff: { minDelay: 20, maxDelay: 200 },
      ...engine,
    });
    const server = new LimeServer({
      domain: "localhost",
      tcp: { hostname: "127.0.0.1", port: 0 },
      websocket: false,
      passwordIterations: 1000,
      engine: redisEngine,
      ...options,
      store: this.store,
    });
    await server.start();
    this.servers.push(server);
    this.engines.push(redisEngine);
    return server;
  }

  /** Creates an account in the shared store. */
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

  /** A client channel to server `index` (not established). */
  async connect(index: number): Promise<ClientChannel> {
    const transport = new TcpTransport();
    await transport.open(`net.tcp://${this.servers[index].tcpAddress}`);
    const channel = new ClientChannel(transport);
    this.clients.push(channel);
    return channel;
  }

  /** Establishes `name@domain/instance` on server `index` (guest unless credentials). */
  async login(index: number, node: string, credentials?: Credentials): Promise<ClientChannel> {
    const [identity, instance] = node.split("/");
    const client = await this.connect(index);
    const established = await within(
      client.establishSession({ identity, instance, credentials }),
      5000,
      `establishing ${node}`,
    );
    assert.equal(established.to, node);
    return client;
  }

  /** Asserts that establishing `node` on server `index` fails with `code`. */
  async refused(index: number, node: string, code: number, credentials?: Credentials) {
    const [identity, instance] = node.split("/");
    const client = await this.connect(index);
    const error = await within(client.establishSession({ identity, instance, credentials }))
      .then(() => undefined, (caught) => caught);
    assert.ok(error instanceof LimeError, `expected a LimeError, got ${error}`);
    assert.equal(error.code, code, error.message);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const server of this.servers) await server.shutdown();
    await Promise.all(this.clients.map((client) => within(client.close(), 5000, "closing")));
    this.store.close();
    await this.redis.stop();
  }
}

/** Waits until `check` holds (polling), or throws naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
