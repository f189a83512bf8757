/**
 * `/healthz` and `/readyz`: the process answers (health), and the server takes sessions now
 * (readiness: started, not stopping, its engine reachable). Both answer JSON, `no-store`.
 * @module
 */
import type { ClusterEngine } from "../cluster/engine.ts";

/** The answer of `/readyz`. */
export interface Readiness {
  /** Whether the server takes sessions. */
  ready: boolean;
  /** Why not, when not. */
  problem?: string;
}

/** How long `/readyz` waits for the engine. */
export const READINESS_TIMEOUT = 1_000;

/** How long a probe of the engine serves `/readyz` requests, in ms. */
export const READINESS_MAX_AGE = 500;

/**
 * Probes of the engine for `/readyz`, shared: requests arriving while one runs wait for it, and
 * its answer serves for {@link READINESS_MAX_AGE}; so a flood of `/readyz` (anyone may ask) costs
 * the engine at most two probes a second, not one per request.
 */
export class EngineProbe {
  readonly #engine: ClusterEngine;
  #probe: Promise<boolean> | undefined;
  #at = 0;

  /** Probes of `engine`. */
  constructor(engine: ClusterEngine) {
    this.#engine = engine;
  }

  /** The engine's kind, for the problem text. */
  get kind(): string {
    return this.#engine.kind;
  }

  /** Whether the engine answered its latest probe (one runs when it is older than the max age). */
  reachable(): Promise<boolean> {
    const engine = this.#engine;
    if (!engine.reachable) return Promise.resolve(true);
    if (!this.#probe || Date.now() - this.#at > READINESS_MAX_AGE) {
      this.#at = Date.now();
      this.#probe = engine.reachable(READINESS_TIMEOUT).then((up) => {
        this.#at = Date.now();
        return up;
      });
    }
    return this.#probe;
  }
}

/** Whether a server in this state with this engine is ready. */
export async function readinessOf(
  probe: EngineProbe,
  started: boolean,
  stopping: boolean,
): Promise<Readiness> {
  if (stopping) return { ready: false, problem: "the server is stopping" };
  if (!started) return { ready: false, problem: "the listeners are not started" };
  if (!(await probe.reachable())) {
    return { ready: false, problem: `the ${probe.kind} engine is not reachable` };
  }
  return { ready: true };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

/** The response of `/healthz`: 200 while the process serves. */
export function healthResponse(): Response {
  return json(200, { status: "ok" });
}

/** The response of `/readyz`: 200 when ready, else 503 with the problem. */
export async function readyResponse(ready: () => Promise<Readiness>): Promise<Response> {
  const readiness = await ready();
  return readiness.ready
    ? json(200, { status: "ready" })
    : json(503, { status: "not ready", problem: readiness.problem });
}
