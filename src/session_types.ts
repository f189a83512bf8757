/**
 * Shapes of the generated session tables. What each state, move and failure means is the doc
 * comment of its entry in `src/generated/session.generated.ts` (from `spec/session.json`).
 * @module
 */
import type { SessionState } from "./generated/enums.generated.ts";

/** A side of a session. */
export type SessionRole = "client" | "server";

/** One state of the session machine. */
export interface SessionStateInfo {
  /** Which side sends session envelopes with this state. */
  readonly sentBy: readonly SessionRole[];
  /** Whether the session is over in this state. */
  readonly final: boolean;
}

/** One legal move. */
export interface SessionMove {
  /** The state before. */
  readonly from: SessionState;
  /** The state after (the state of the session envelope sent). */
  readonly to: SessionState;
  /** The side that sends it. */
  readonly by: SessionRole;
  /** The option that must be on for this move to be legal, when it is opt-in. */
  readonly optIn?: string;
}

/** States in which an envelope kind may be sent and received. */
export interface EnvelopePermission {
  /** States in which it may be sent. */
  readonly send: readonly SessionState[];
  /** States in which it may be received. */
  readonly receive: readonly SessionState[];
}

/** A way a session fails, with its reason code. */
export interface SessionFailure {
  /** The reason code sent in the failed session. */
  readonly code: number;
}
