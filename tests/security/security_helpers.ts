/**
 * Helpers for the attack tests: a healthy authenticated bystander that measures its `/ping`
 * round trips while an attack runs (it must stay under 100 ms at p99 and survive), and the raw
 * peer of the attack tool (`tools/attack/raw_peer.ts`).
 * @module
 */
import assert from "node:assert/strict";
import { type ClientChannel, plainCredentials } from "../../mod.ts";
import type { TestServer } from "../server_test_helpers.ts";
import { percentile, type PingFigures, PingProbe } from "../../tools/attack/ping_probe.ts";

export { percentile, type PingFigures };

/** The bound every fairness test holds the bystander to. */
export const BYSTANDER_P99_LIMIT_MS = 100;

/** A signed-in session that pings the server every few ms until stopped. */
export class Bystander {
  readonly #probe: PingProbe;

  private constructor(client: ClientChannel) {
    this.#probe = new PingProbe(client);
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
    return this.#probe.client;
  }

  /** Starts pinging. */
  run(interval = 10): this {
    this.#probe.run(interval);
    return this;
  }

  /**
   * Stops, asserts the session is still established, no ping failed and the p99 is under the
   * limit, and returns the figures (printed with `label`).
   */
  async stop(label: string, limit = BYSTANDER_P99_LIMIT_MS): Promise<PingFigures> {
    const figures = await this.#probe.stop();
    console.log(
      `${label}: bystander /ping p50 ${figures.p50.toFixed(2)} ms, p99 ${
        figures.p99.toFixed(2)
      } ms, max ${figures.max.toFixed(1)} ms (n=${figures.count})`,
    );
    assert.equal(this.client.state, "established", "the bystander's session survived");
    assert.equal(figures.failed, 0, "no bystander ping failed");
    assert.ok(figures.count >= 5, `the bystander pinged (${figures.count})`);
    assert.ok(figures.p99 < limit, `bystander p99 ${figures.p99.toFixed(1)} ms ≥ ${limit} ms`);
    return figures;
  }
}

export { RawPeer } from "../../tools/attack/raw_peer.ts";
