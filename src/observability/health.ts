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

/** Whether a server in this state with this engine is ready. */
export async function readinessOf(
  engine: ClusterEngine,
  started: boolean,
  stopping: boolean,
): Promise<Readiness> {
  if (stopping) return { ready: false, problem: "the server is stopping" };
  if (!started) return { ready: false, problem: "the listeners are not started" };
  if (engine.reachable && !(await engine.reachable(READINESS_TIMEOUT))) {
    return { ready: false, problem: `the ${engine.kind} engine is not reachable` };
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
