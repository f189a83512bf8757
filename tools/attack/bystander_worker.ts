/**
 * The attack tool's bystander, in a Worker of its own so that the attackers' work in the tool's
 * main thread does not show up as the server's latency: it signs in over TCP, pings every 10 ms
 * until told to stop, and posts its figures.
 *
 * Messages in: `{ tcp, identity, password }` to start, `"stop"` to stop. Out: `"ready"` once
 * established, then `{ figures, survived }`, or `{ error }`.
 * @module
 */
/// <reference lib="deno.worker" />
import { ClientChannel } from "../../src/channel/client_channel.ts";
import { plainCredentials } from "../../src/channel/authentication/plain.ts";
import { TcpTransport } from "../../src/transport/tcp.ts";
import { PingProbe } from "./ping_probe.ts";

let probe: PingProbe | undefined;

self.onmessage = async (event: MessageEvent) => {
  try {
    if (event.data === "stop") {
      const figures = await probe!.stop();
      const survived = probe!.client.state === "established";
      await probe!.client.close();
      self.postMessage({ figures, survived });
      return;
    }
    const { tcp, identity, password } = event.data as Record<string, string>;
    const transport = new TcpTransport();
    await transport.open(`net.tcp://${tcp}`);
    const client = new ClientChannel(transport);
    await client.establishSession({
      identity,
      instance: `probe-${crypto.randomUUID().slice(0, 8)}`,
      credentials: plainCredentials(password),
      encryption: "none",
    });
    probe = new PingProbe(client).run(10);
    self.postMessage("ready");
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
