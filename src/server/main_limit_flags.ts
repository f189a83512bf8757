/**
 * The flags of `deno task start` that set the server's limits: the caps on sessions and
 * establishments (global and per address) and the rate limits (per session and per identity;
 * `--rate-limit=0` turns every rate limit off). Part of `SERVER_FLAGS` (`main_flags.ts`).
 * @module
 */
import { DEFAULT_RATE_LIMITS, type RateLimitOptions } from "./guard/traffic_shaper.ts";
import type { ServerFlag } from "./main_flags.ts";
import { integer, text } from "./main_values.ts";
import { SERVER_DEFAULTS } from "./server_options.ts";

/** A flag that sets one numeric limit of the server (its default from `SERVER_DEFAULTS`). */
function limitFlag(
  name: string,
  option:
    | "maxSessions"
    | "maxSessionsPerAddress"
    | "maxEstablishing"
    | "maxEstablishingPerAddress",
  help: string,
): ServerFlag {
  return {
    name,
    type: "string",
    value: "N",
    // Shown, not applied: the server derives the defaults (a per-address cap follows its global).
    help: `${help} (default ${SERVER_DEFAULTS[option]})`,
    apply: (draft, value, from) => {
      draft.config.server[option] = integer(
        text(value),
        from,
        option.startsWith("max") && !option.endsWith("Address") ? 1 : 0,
        10_000_000,
      );
    },
  };
}

/**
 * A flag that sets one of the rate limits (`rateLimit` as a `RateLimitOptions`); `--rate-limit=0`
 * turns every rate limit off.
 */
function rateFlag(
  name: string,
  set: (limits: RateLimitOptions, n: number) => void,
  help: string,
): ServerFlag {
  return {
    name,
    type: "string",
    value: "N",
    help,
    apply: (draft, value, from) => {
      const n = integer(text(value), from, 0, 1e12);
      const server = draft.config.server;
      if (name === "rate-limit" && n === 0) {
        server.rateLimit = false;
        return;
      }
      if (server.rateLimit === false) return;
      const limits = typeof server.rateLimit === "object" ? server.rateLimit : {};
      set(limits, n);
      server.rateLimit = limits;
    },
  };
}

/** The limit flags, in usage order. */
export const LIMIT_FLAGS: readonly ServerFlag[] = [
  limitFlag("max-sessions", "maxSessions", "sessions at once"),
  limitFlag(
    "max-sessions-per-address",
    "maxSessionsPerAddress",
    "sessions at once from one address (IPv4, or IPv6 /64); 0 = no cap",
  ),
  limitFlag("max-establishing", "maxEstablishing", "connections establishing at once"),
  limitFlag(
    "max-establishing-per-address",
    "maxEstablishingPerAddress",
    "connections establishing at once from one address; 0 = no cap",
  ),
  rateFlag(
    "rate-limit",
    (limits, n) => limits.envelopesPerSecond = n,
    `envelopes per second per session, slowed beyond (default ${DEFAULT_RATE_LIMITS.envelopesPerSecond}); 0 = no rate limits at all`,
  ),
  rateFlag(
    "rate-limit-bytes",
    (limits, n) => limits.bytesPerSecond = n,
    `bytes per second per session (default ${DEFAULT_RATE_LIMITS.bytesPerSecond})`,
  ),
  rateFlag(
    "identity-rate-limit",
    (limits, n) => (limits.perIdentity ??= {}).envelopesPerSecond = n,
    `envelopes per second of all of an identity's sessions (default ${DEFAULT_RATE_LIMITS.perIdentity.envelopesPerSecond})`,
  ),
  rateFlag(
    "identity-rate-limit-bytes",
    (limits, n) => (limits.perIdentity ??= {}).bytesPerSecond = n,
    `bytes per second of all of an identity's sessions (default ${DEFAULT_RATE_LIMITS.perIdentity.bytesPerSecond})`,
  ),
];
