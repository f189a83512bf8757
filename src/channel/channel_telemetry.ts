/**
 * Where telemetry plugs into client channels without this room importing it: `mod.ts` installs
 * `src/observability/client_telemetry.ts` (command spans and timing, trace context in metadata);
 * the browser entries do not, so their bundles carry no OpenTelemetry. Empty: channels do
 * nothing extra.
 * @module
 */
import type { Command } from "../envelope.ts";
import type { ChannelModule } from "./channel_module.ts";

/** What a client channel asks of the installed telemetry. */
export interface ClientTelemetry {
  /** Runs a command round trip (`send`), timed and traced. */
  traceCommand(request: Command, send: () => Promise<Command>): Promise<Command>;
  /** A module for a new client channel (trace context in metadata), or none. */
  channelModule(): ChannelModule | undefined;
}

/** The installed telemetry, if any. */
export const clientTelemetry: { current?: ClientTelemetry } = {};
