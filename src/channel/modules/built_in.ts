/**
 * The built-in modules a channel's options switch on, in the order they run.
 * @module
 */
import { systemClock } from "../../clock.ts";
import type { SessionRole } from "../../session_types.ts";
import type { ChannelModule } from "../channel_module.ts";
import type { ChannelOptions } from "../channel_options.ts";
import { FillRecipientsModule } from "./fill_recipients.ts";
import { NotifyReceiptModule } from "./notify_receipt.ts";
import { RemotePingModule } from "./remote_ping.ts";
import { ReplyPingModule } from "./reply_ping.ts";
import { clientTelemetry } from "../channel_telemetry.ts";

/** The modules `options` asks for (defaults: ping replies on clients only). */
export function builtInModules(role: SessionRole, options: ChannelOptions): ChannelModule[] {
  const modules: ChannelModule[] = [];
  // Trace context in metadata, on clients, when telemetry is installed (mod.ts) and a tracer
  // provider is registered (OTEL_DENO=true).
  const traced = role === "client" ? clientTelemetry.current?.channelModule() : undefined;
  if (traced) modules.push(traced);
  if (options.fillEnvelopeRecipients) modules.push(new FillRecipientsModule(role === "client"));
  if (options.autoReplyPings ?? role === "client") modules.push(new ReplyPingModule());
  if (options.autoNotifyReceipt) modules.push(new NotifyReceiptModule());
  if (options.remotePingInterval) {
    const interval = options.remotePingInterval;
    modules.push(
      new RemotePingModule(
        options.clock ?? systemClock,
        interval,
        options.remoteIdleTimeout ?? interval * 3,
      ),
    );
  }
  return modules;
}
