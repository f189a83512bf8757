/**
 * The Redis connections of one server, with node-redis (`npm:redis`, the official client): one
 * for commands (node-redis pipelines what is sent in the same turn) and one for the inbox's
 * blocking reads. Commands fail at once while Redis is unreachable (no offline queue: a
 * delivery must be refused with a reason, not held for an unknown time); the client reconnects
 * with exponential backoff and jitter, and {@link RedisLink.onReady} runs again after every
 * reconnection (the engine re-registers its server and sessions then). Lua scripts are run by
 * SHA, loaded again when Redis forgot them (a restart).
 * @module
 */
import { createClient } from "npm:redis@6.4.0";

/** What a command may be given. */
export type RedisArg = string | number;

type Client = ReturnType<typeof createClient>;

/** Reconnection delays. */
export interface RedisBackoff {
  /** The first delay, ms. Default 50. */
  minDelay?: number;
  /** The longest delay, ms. Default 2,000. */
  maxDelay?: number;
}

/** A Lua script, run by its SHA1. */
export interface RedisScript {
  /** The source. */
  readonly source: string;
  /** Its SHA1 (hex), once computed. */
  sha?: string;
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The connections to Redis. */
export class RedisLink {
  /** The URL (`redis://host:port`). */
  readonly url: string;
  readonly #commands: Client;
  readonly #blocking: Client | undefined;
  readonly #ready = new Set<() => void>();
  readonly #down = new Set<() => void>();
  #up = false;
  #closed = false;
  #reported = false;

  /**
   * Connections to `url` (not opened yet: {@link connect}); `blocking: false` for no connection
   * for blocking reads.
   */
  constructor(url: string, backoff: RedisBackoff = {}, { blocking = true } = {}) {
    this.url = url;
    const min = backoff.minDelay ?? 50;
    const max = backoff.maxDelay ?? 2_000;
    const reconnectStrategy = (retries: number) =>
      Math.round(Math.min(max, min * 2 ** Math.min(retries, 16)) * (0.5 + Math.random() / 2));
    const options = {
      url,
      // RESP2: replies stay flat arrays (HGETALL, XREADGROUP) as this module reads them.
      RESP: 2 as const,
      disableOfflineQueue: true,
      socket: { reconnectStrategy, connectTimeout: 5_000 },
    };
    this.#commands = createClient(options);
    this.#blocking = blocking ? createClient(options) : undefined;
    for (const client of this.#clients()) {
      client.on("error", (error: Error) => {
        // Once per outage: a reconnecting client reports every failed attempt.
        if (this.#reported || this.#closed) return;
        this.#reported = true;
        console.error(`LIME cluster: Redis ${url}: ${error?.message ?? error} (reconnecting)`);
      });
    }
    this.#commands.on("ready", () => {
      if (this.#reported && !this.#closed) console.error(`LIME cluster: Redis ${url}: back`);
      this.#reported = false;
      this.#up = true;
      for (const listener of this.#ready) listener();
    });
    this.#commands.on("end", () => this.#wentDown());
    this.#commands.on("reconnecting", () => this.#wentDown());
  }

  #clients(): Client[] {
    return this.#blocking ? [this.#commands, this.#blocking] : [this.#commands];
  }

  #wentDown(): void {
    if (!this.#up) return;
    this.#up = false;
    for (const listener of this.#down) listener();
  }

  /**
   * Connects both connections; rejects (and closes the link) when Redis cannot be reached within
   * `timeout` ms (default 10,000): a server that starts needs its Redis.
   */
  async connect({ timeout = 10_000 } = {}): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis at ${this.url} did not answer within ${timeout} ms`)),
        timeout,
      );
    });
    try {
      await Promise.race([Promise.all(this.#clients().map((client) => client.connect())), late]);
    } catch (error) {
      this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether commands can be sent now. */
  get isUp(): boolean {
    return this.#up && this.#commands.isReady;
  }

  /** Calls `listener` whenever the command connection is (again) ready. */
  onReady(listener: () => void): void {
    this.#ready.add(listener);
  }

  /** Calls `listener` whenever the command connection is lost. */
  onDown(listener: () => void): void {
    this.#down.add(listener);
  }

  /** Sends one command. */
  call<T = unknown>(args: readonly RedisArg[]): Promise<T> {
    return this.#commands.sendCommand(args.map(String)) as Promise<T>;
  }

  /** Sends one command on the blocking connection (one at a time). */
  callBlocking<T = unknown>(args: readonly RedisArg[]): Promise<T> {
    if (!this.#blocking) throw new TypeError("This link has no blocking connection");
    return this.#blocking.sendCommand(args.map(String)) as Promise<T>;
  }

  /** Runs a Lua script with `keys` and `args` (loading it when Redis does not know it). */
  async eval<T = unknown>(
    script: RedisScript,
    keys: readonly string[],
    args: readonly RedisArg[],
  ): Promise<T> {
    script.sha ??= await sha1(script.source);
    const tail = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.#commands.sendCommand(["EVALSHA", script.sha, ...tail]) as T;
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      return await this.#commands.sendCommand(["EVAL", script.source, ...tail]) as T;
    }
  }

  /** Closes both connections at once (pending commands reject). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#up = false;
    for (const client of this.#clients()) {
      try {
        client.destroy();
      } catch {
        // not open
      }
    }
  }
}
