/**
 * The session state machine as a pure function over the generated tables
 * (`src/generated/session.generated.ts`): given a side, its current state and an envelope it is
 * about to send or has received, it says whether that is legal and what the state becomes, or
 * which reason the session fails with. Channels run the effects; this module only decides.
 * @module
 */
import type { SessionState } from "./generated/enums.generated.ts";
import {
  ENVELOPE_PERMISSIONS,
  SESSION_FAILURES,
  SESSION_MOVES,
  SESSION_STATES,
} from "./generated/session.generated.ts";
import type { Reason } from "./errors.ts";
import type { SessionMove, SessionRole } from "./session_types.ts";

/** What a side does with an envelope. */
export type SessionDirection = "send" | "receive";

/** An envelope as the machine sees it: its kind, and its state for a session envelope. */
export type SessionInput =
  | { readonly kind: "message" | "notification" | "command" }
  | { readonly kind: "session"; readonly state: SessionState };

/** Options that make opt-in moves legal. */
export interface SessionMachineOptions {
  /** Allow the server to go from `new` or `negotiating` straight to `established`. */
  establishWithoutAuthentication?: boolean;
}

/** The machine's answer. */
export type SessionDecision =
  | { readonly allowed: true; readonly state: SessionState }
  | { readonly allowed: false; readonly state: SessionState; readonly reason: Reason };

const other = (role: SessionRole): SessionRole => role === "client" ? "server" : "client";

type Index<T> = Record<string, T>;

/**
 * The legal moves by state before, state after and sender, made on first use (a scan of the table
 * per decision cost five times as much). Objects without a prototype: a state named like an
 * `Object.prototype` member finds nothing.
 */
let movesIndex: Index<Index<Index<SessionMove[]>>> | undefined;

function indexMoves(): Index<Index<Index<SessionMove[]>>> {
  const index: Index<Index<Index<SessionMove[]>>> = Object.create(null);
  for (const move of SESSION_MOVES) {
    ((index[move.from] ??= Object.create(null))[move.to] ??= Object.create(null))[move.by] ??= [];
    index[move.from][move.to][move.by].push(move);
  }
  return index;
}

/**
 * Decides whether `role`, in `state`, may `direction` the `input` envelope; when allowed, the
 * returned state is the side's state afterwards (unchanged for non-session envelopes).
 */
export function decideSession(
  role: SessionRole,
  state: SessionState,
  direction: SessionDirection,
  input: SessionInput,
  options: SessionMachineOptions = {},
): SessionDecision {
  if (input.kind !== "session") {
    const allowedStates = ENVELOPE_PERMISSIONS[input.kind][direction];
    if (allowedStates.includes(state)) return { allowed: true, state };
    const f = SESSION_FAILURES.envelopeOutOfState;
    return {
      allowed: false,
      state,
      reason: {
        code: f.code,
        description: `Cannot ${direction} a ${input.kind}: session state is "${state}"`,
      },
    };
  }
  const sender = direction === "send" ? role : other(role);
  // Strings only: a key lookup would take `new String("new")` for "new", which `===` did not.
  const moves = typeof state === "string" && typeof input.state === "string" &&
      typeof sender === "string"
    ? (movesIndex ??= indexMoves())[state]?.[input.state]?.[sender]
    : undefined;
  for (const move of moves ?? []) {
    if (move.optIn === undefined || (options as Record<string, unknown>)[move.optIn] === true) {
      return { allowed: true, state: move.to };
    }
  }
  const f = SESSION_FAILURES.forbiddenMove;
  const verb = direction === "send" ? "send" : "receive";
  return {
    allowed: false,
    state,
    reason: {
      code: f.code,
      description:
        `Cannot ${verb} a "${input.state}" session envelope (sent by the ${sender}): session state is "${state}"`,
    },
  };
}

/** Whether the session is over in `state`. */
export function isFinalSessionState(state: SessionState): boolean {
  return SESSION_STATES[state].final;
}
