/**
 * A real `redis-server` for the cluster tests (Debian's package; `.ci/run` installs it): started
 * on a free loopback port with persistence off, stopped (and waited for) on dispose. No mock.
 * @module
 */
import { createClient } from "npm:redis@6.4.0";

/**
 * A free TCP port on 127.0.0.1 below Linux's ephemeral range (32768 and up): a port another
 * process gets with port 0 never comes from there, so a Redis restarted on the same port does not
 * find it taken meanwhile.
 */
export function freePort(): number {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // taken: another one
    }
  }
}

/** A redis-server process. */
export class RedisServer implements AsyncDisposable {
  /** Its port. */
  readonly port: number;
  #child: Deno.ChildProcess | undefined;
  #log: Promise<string> = Promise.resolve("");

  private constructor(port: number) {
    this.port = port;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts one on a free port (or `port`) and waits until it answers PING. */
  static async start(port = freePort()): Promise<RedisServer> {
    const server = new RedisServer(port);
    await server.#spawn();
    return server;
  }

  async #spawn(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child = this.#child;
    this.#log = Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]).then(([out, err]) => out + err);
    let exited = false;
    child.status.then(() => exited = true);
    const until = Date.now() + 10_000;
    for (;;) {
      if (exited) throw new Error(`redis-server exited: ${await this.stop()}`);
      try {
        // Ours, not another process's on the same port: its process id is our child's.
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        await conn.write(new TextEncoder().encode("INFO server\r\n"));
        const buffer = new Uint8Array(8192);
        const n = await conn.read(buffer);
        conn.close();
        const info = n ? new TextDecoder().decode(buffer.subarray(0, n)) : "";
        const pid = /process_id:(\d+)/.exec(info)?.[1];
        if (pid === String(child.pid)) return;
        if (pid) throw new Error(`port ${this.port} is another redis-server's (pid ${pid})`);
      } catch (error) {
        if (String(error).includes("another redis-server")) throw error;
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`redis-server did not start: ${await this.stop()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops it (SIGKILL: nothing to save) and waits; returns its output. */
  async stop(): Promise<string> {
    const child = this.#child;
    if (!child) return "";
    this.#child = undefined;
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
    await child.status;
    return await this.#log;
  }

  /** Stops it and starts a fresh one on the same port (everything in it is lost). */
  async restart(downFor = 0): Promise<void> {
    await this.stop();
    if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
    await this.#spawn();
  }

  /** Runs one command on a connection of its own. */
  async command<T = unknown>(args: (string | number)[]): Promise<T> {
    const client = createClient({ url: this.url, RESP: 2 });
    client.on("error", () => {});
    await client.connect();
    try {
      return await client.sendCommand(args.map(String)) as T;
    } finally {
      client.destroy();
    }
  }

  /** Stops it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
