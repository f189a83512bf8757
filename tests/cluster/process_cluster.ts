/**
 * Clusters of real server processes (`deno task start --engine=redis`) on one real
 * `redis-server`, for the tests that kill processes and restart Redis; and resilient clients
 * (`LimeClient`) that fail over to the next server when theirs is gone.
 * @module
 */
import { LimeClient, type LimeClientOptions, TcpTransport } from "../../mod.ts";
import { StartProcess } from "../server_start_helpers.ts";
import { within } from "../tcp_helpers.ts";
import { RedisServer } from "./redis_server.ts";

/** One server process of the cluster. */
export interface ServerProcess {
  /** The process. */
  process: StartProcess;
  /** Its TCP address (`127.0.0.1:port`). */
  address: string;
  /** Its cluster server id. */
  serverId: string;
}

/** Server processes on one Redis; all stopped on dispose. */
export class ProcessCluster implements AsyncDisposable {
  readonly servers: ServerProcess[] = [];
  readonly clients: LimeClient[] = [];

  private constructor(readonly redis: RedisServer, readonly ttl: number) {}

  /** `count` server processes (cluster TTL `ttl` ms) on a fresh Redis. */
  static async start(count: number, ttl = 1_500): Promise<ProcessCluster> {
    const redis = await RedisServer.start();
    const cluster = new ProcessCluster(redis, ttl);
    try {
      await Promise.all(Array.from({ length: count }, () => cluster.#spawn()));
    } catch (error) {
      await cluster[Symbol.asyncDispose]();
      throw error;
    }
    return cluster;
  }

  async #spawn(): Promise<void> {
    const process = new StartProcess([
      "--engine=redis",
      `--redis=${this.redis.url}`,
      `--cluster-ttl=${this.ttl}`,
      "--tcp=127.0.0.1:0",
      "--ws=off",
      "--rate-limit=0",
    ]);
    const address = await process.tcpAddress();
    const match = await within(
      process.stdout.find(/cluster\s+\S+, server (\S+)/, () => process.exited),
      10_000,
      "the cluster line",
    );
    this.servers.push({ process, address, serverId: match[1] });
  }

  /** Kills server `index` with SIGKILL (no goodbye) and waits for it. */
  async kill(index: number): Promise<void> {
    const server = this.servers[index];
    server.process.child.kill("SIGKILL");
    await server.process.status;
  }

  /**
   * A started LimeClient for `node` that connects to server `home` first and fails over to the
   * next live one (guest; short backoff, keepalive and resend window).
   */
  async client(
    node: string,
    home: number,
    options: Partial<LimeClientOptions> = {},
  ): Promise<LimeClient> {
    const [identity, instance] = node.split("/");
    let next = home;
    const client = new LimeClient({
      uri: "net.tcp://unused",
      identity,
      instance,
      reconnect: { initialDelay: 20, maxDelay: 200 },
      keepalive: { interval: 1_000, timeout: 3_000 },
      ...options,
      transportFactory: async (_uri, signal) => {
        for (let tried = 0; tried < this.servers.length; tried++) {
          const server = this.servers[next++ % this.servers.length];
          if (server.process.exited) continue;
          const transport = new TcpTransport();
          try {
            await transport.open(`net.tcp://${server.address}`, { signal });
            return transport;
          } catch {
            // that one is gone: the next
          }
        }
        throw new Error("no server is reachable");
      },
    });
    this.clients.push(client);
    await within(client.start(), 10_000, `starting ${node}`);
    return client;
  }

  /** The directory's fields whose value names `serverId` (hash keys and fields). */
  async entriesOf(serverId: string): Promise<string[]> {
    const keys = await this.redis.command<string[]>(["KEYS", "lime:localhost:id:*"]);
    const found: string[] = [];
    for (const key of keys) {
      const flat = await this.redis.command<string[]>(["HGETALL", key]);
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (flat[i + 1].startsWith(`${serverId}|`)) found.push(`${key} ${flat[i]}`);
      }
    }
    return found;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.clients.map((client) => within(client.close(), 5000, "closing")));
    await Promise.all(this.servers.map(async ({ process }) => {
      if (!process.exited) process.child.kill("SIGTERM");
      await within(process.status, 10_000, "a server's exit").catch(() => {
        if (!process.exited) process.child.kill("SIGKILL");
      });
      await process[Symbol.asyncDispose]();
    }));
    await this.redis.stop();
  }
}
