/**
 * Helpers for the attack tests: a healthy authenticated bystander that measures its `/ping`
 * round trips while an attack runs (it must stay under 100 ms at p99 and survive), and a raw
 * line-level LIME client over `node:net` that can bind to another loopback address (127.0.0.2
 * and up count as other source addresses).
 * @module
 */
import assert from "node:assert/strict";
import net from "node:net";
import { type ClientChannel, plainCredentials } from "../../mod.ts";
import { EnvelopeFramer } from "../../src/transport/framing.ts";
import type { TestServer } from "../server_test_helpers.ts";
import { within } from "../tcp_helpers.ts";

/** The bound every fairness test holds the bystander to. */
export const BYSTANDER_P99_LIMIT_MS = 100;

/** Round-trip figures of a bystander. */
export interface PingFigures {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A signed-in session that pings the server every `interval` ms until stopped. */
export class Bystander {
  readonly #client: ClientChannel;
  readonly #rtts: number[] = [];
  #running = false;
  #loop: Promise<void> | undefined;

  private constructor(client: ClientChannel) {
    this.#client = client;
  }

  /** Creates `bystander@localhost` with a password and signs it in over `via`. */
  static async start(t: TestServer, via: "tcp" | "ws" = "tcp"): Promise<Bystander> {
    if (!(await t.store.getAccount("bystander@localhost"))) {
      await t.addAccount("bystander@localhost", "bystander-pw");
    }
    const client = await t.login(`bystander@localhost/${via}`, {
      credentials: plainCredentials("bystander-pw"),
      via,
    });
    return new Bystander(client);
  }

  /** The bystander's channel. */
  get client(): ClientChannel {
    return this.#client;
  }

  /** Starts pinging. */
  run(interval = 10): this {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        const started = performance.now();
        await within(this.#client.getResource("/ping"), 10_000, "a bystander ping");
        this.#rtts.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, interval));
      }
    })();
    return this;
  }

  /**
   * Stops, asserts the session is still established and the p99 under the limit, and returns
   * the figures (printed with `label`).
   */
  async stop(label: string, limit = BYSTANDER_P99_LIMIT_MS): Promise<PingFigures> {
    this.#running = false;
    await this.#loop;
    const figures: PingFigures = {
      count: this.#rtts.length,
      p50: percentile(this.#rtts, 50),
      p99: percentile(this.#rtts, 99),
      max: Math.max(...this.#rtts),
    };
    console.log(
      `${label}: bystander /ping p50 ${figures.p50.toFixed(2)} ms, p99 ${
        figures.p99.toFixed(2)
      } ms, max ${figures.max.toFixed(1)} ms (n=${figures.count})`,
    );
    assert.equal(this.#client.state, "established", "the bystander's session survived");
    assert.ok(figures.count >= 5, `the bystander pinged (${figures.count})`);
    assert.ok(figures.p99 < limit, `bystander p99 ${figures.p99.toFixed(1)} ms ≥ ${limit} ms`);
    return figures;
  }
}

/** A raw TCP peer: writes text, reads whole JSON objects. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly #framer = new EnvelopeFramer({ maxEnvelopeSize: 64 * 1024 * 1024, maxDepth: 1000 });
  readonly #queue: unknown[] = [];
  #waiter: (() => void) | undefined;
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#framer.push(chunk, (frame) => {
        this.#queue.push(JSON.parse(new TextDecoder().decode(frame)));
        return true;
      });
      this.#wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
  }

  /** Connects to `address` (`host:port`), from `localAddress` when given. */
  static connect(address: string, localAddress?: string): Promise<RawPeer> {
    const colon = address.lastIndexOf(":");
    const socket = net.connect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      ...(localAddress ? { localAddress } : {}),
    });
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(new RawPeer(socket)));
      socket.once("error", reject);
    });
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Writes text (or bytes) as is. */
  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** The next JSON object, or `"closed"` when the connection ended first. */
  async next(ms = 5000): Promise<Record<string, unknown> | "closed"> {
    const deadline = performance.now() + ms;
    while (this.#queue.length === 0) {
      if (this.closed) return "closed";
      const left = deadline - performance.now();
      if (left <= 0) throw new Error("no envelope arrived in time");
      await within(new Promise<void>((resolve) => this.#waiter = resolve), left, "an envelope")
        .catch(() => {});
    }
    return this.#queue.shift() as Record<string, unknown>;
  }

  /** Closes the socket and waits for it. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    const closed = new Promise((resolve) => this.socket.once("close", resolve));
    this.socket.destroy();
    await closed;
  }
}
