/**
 * `decideSession` over the session envelopes of one guest login with negotiation, as the server
 * sees them (receive `new`, send `negotiating`, receive the choice, confirm, offer
 * `authenticating`, receive the credentials, send `established`, receive `finishing`, send
 * `finished`): what the state machine costs per decision. Run:
 * `deno bench bench/session_machine_bench.ts` (ns per login's nine decisions).
 * @module
 */
import { decideSession, type SessionDirection } from "../src/session_machine.ts";
import type { SessionState } from "../src/generated/enums.generated.ts";

const LOGIN: [SessionState, SessionDirection, SessionState][] = [
  ["new", "receive", "new"],
  ["new", "send", "negotiating"],
  ["negotiating", "receive", "negotiating"],
  ["negotiating", "send", "negotiating"],
  ["negotiating", "send", "authenticating"],
  ["authenticating", "receive", "authenticating"],
  ["authenticating", "send", "established"],
  ["established", "receive", "finishing"],
  ["finishing", "send", "finished"],
];

Deno.bench("decideSession: the server's nine decisions of a guest login", () => {
  for (const [state, direction, to] of LOGIN) {
    if (!decideSession("server", state, direction, { kind: "session", state: to }).allowed) {
      throw new Error(`refused: ${state} ${direction} ${to}`);
    }
  }
});
