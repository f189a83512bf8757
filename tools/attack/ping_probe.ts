/**
 * A bystander's measure: a healthy session pings the server (`get /ping`) every few ms while an
 * attack runs; its round trips say whether the attack starves everyone else.
 * @module
 */
import type { ClientChannel } from "../../src/channel/client_channel.ts";

/** Round-trip figures, in ms. */
export interface PingFigures {
  /** Pings answered. */
  count: number;
  /** Pings that failed or timed out. */
  failed: number;
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Slowest. */
  max: number;
}

/** The p-th percentile (0–100) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Pings over a client channel until stopped. */
export class PingProbe {
  readonly client: ClientChannel;
  readonly #rtts: number[] = [];
  #failed = 0;
  #running = false;
  #loop: Promise<void> | undefined;

  /** A probe over an established channel. */
  constructor(client: ClientChannel) {
    this.client = client;
  }

  /** Starts pinging every `interval` ms (each ping waits at most `timeout` ms). */
  run(interval = 10, timeout = 10_000): this {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running && this.client.state === "established") {
        const started = performance.now();
        try {
          await this.client.getResource("/ping", { timeout });
          this.#rtts.push(performance.now() - started);
        } catch {
          this.#failed++;
        }
        await new Promise((resolve) => setTimeout(resolve, interval));
      }
    })();
    return this;
  }

  /** Stops and returns the figures. */
  async stop(): Promise<PingFigures> {
    this.#running = false;
    await this.#loop;
    return {
      count: this.#rtts.length,
      failed: this.#failed,
      p50: percentile(this.#rtts, 50),
      p99: percentile(this.#rtts, 99),
      max: this.#rtts.length ? Math.max(...this.#rtts) : NaN,
    };
  }
}
