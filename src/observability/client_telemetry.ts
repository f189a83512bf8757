/**
 * Installs the client side of the module's telemetry into client channels (see
 * `channel_telemetry.ts`): `ClientChannel.processCommand` timed (`lime.command.duration`) and
 * traced (`lime.command <method>`), and, when a tracer provider is registered at a channel's
 * creation, the {@link TraceContextModule} on it. Importing this module installs it; `mod.ts`
 * does.
 * @module
 */
import { clientTelemetry } from "../channel/channel_telemetry.ts";
import { traceClientCommand } from "./command_spans.ts";
import { TraceContextModule } from "./trace_module.ts";
import { liveTracer } from "./tracing.ts";

clientTelemetry.current = {
  traceCommand: traceClientCommand,
  channelModule: () => {
    const tracer = liveTracer();
    return tracer ? new TraceContextModule(tracer) : undefined;
  },
};
