/**
 * Requests to the server's own resources, as the router hands them over: each traced, run a few
 * at a time per source address (their answers can be large; past a short line they are refused
 * at once with 34), and tracked in `handling` so that shutdown waits for them and the store
 * outlives their writes.
 * @module
 */
import type { Command } from "../envelope.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { traceServerCommand } from "../observability/command_spans.ts";
import { guardLog } from "../observability/log.ts";
import { guardActionsCounter } from "../observability/metrics.ts";
import { KeyedSlots, KeyedSlotsBusy } from "./guard/keyed_slots.ts";
import { failureResponse } from "./resources/resource.ts";
import type { ServerResources } from "./resources/server_resources.ts";
import type { ServerReply } from "./router.ts";
import type { ServerSession } from "./server_session.ts";

/** Requests in progress per source address, and how many may wait behind them. */
const SLOTS_PER_ADDRESS = 2;
const QUEUE_PER_ADDRESS = 64;

/** The router's endpoint for requests to `resources`. */
export function resourceEndpoint(
  resources: ServerResources,
  handling: Set<Promise<ServerReply>>,
): { processCommand(session: ServerSession, request: Command): Promise<ServerReply> } {
  const slots = new KeyedSlots(SLOTS_PER_ADDRESS, QUEUE_PER_ADDRESS);
  return {
    processCommand: (session, request) => {
      const reply = traceServerCommand(
        request,
        () => slots.run(session.source, () => resources.processCommand(session, request)),
      ).catch((error): ServerReply => {
        if (!(error instanceof KeyedSlotsBusy)) throw error;
        guardActionsCounter.add(1, { "lime.action": "busy" });
        guardLog.info("Refused a request to the server from {node}: {problem}", () => ({
          node: session.node,
          problem: error.message,
        }));
        return {
          response: failureResponse(request, session, {
            code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
            description: error.message,
          }),
        };
      });
      handling.add(reply);
      reply.finally(() => handling.delete(reply)).catch(() => {});
      return reply;
    },
  };
}
