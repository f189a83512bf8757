/**
 * Which establishment failures the resilient client stops at instead of retrying: those that
 * would fail the same way on every attempt (refused credentials, refused presence or receipts,
 * options the channel rejects).
 * @module
 */
import type { ChannelModule } from "../channel/channel_module.ts";
import { CommandFailedError } from "../channel/resource_commands.ts";
import { LimeError } from "../errors.ts";
import type { SessionState } from "../generated/enums.generated.ts";
import {
  GENERAL_ERROR,
  SESSION_AUTHENTICATION_FAILED,
} from "../generated/reason_codes.generated.ts";

/**
 * Whether an establishment failure will fail the same way on every attempt. `failedWhile` is the
 * session state the server's `failed` came in.
 */
export function isPermanent(error: unknown, failedWhile: SessionState | undefined): boolean {
  // The server refused the presence or receipts of the options: they will be refused again.
  if (error instanceof CommandFailedError) return true;
  // Refused credentials: 13, or 1 in answer to them (lime-go's code for every session failure;
  // a guest whose name is not a UUID gets a bare `{"code":1}` there).
  if (error instanceof LimeError) {
    return error.code === SESSION_AUTHENTICATION_FAILED ||
      (error.code === GENERAL_ERROR && failedWhile === "authenticating");
  }
  return error instanceof TypeError || error instanceof RangeError;
}

/** A channel module remembering the last state the channel was in before `failed`. */
export function stateBeforeFailure(): ChannelModule & { state?: SessionState } {
  return {
    onStateChanged(state) {
      if (state !== "failed") this.state = state;
    },
  };
}
