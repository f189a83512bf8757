/**
 * A TCP echo over LIME transports: a listener that sends back every envelope it receives, and a
 * client that sends one message and prints the echo. Run: `deno run -A examples/tcp_echo.ts`.
 * @module
 */
import { Message, TcpTransport, TcpTransportListener } from "../mod.ts";

await using listener = new TcpTransportListener({ port: 0 }); // 127.0.0.1, a free port
await listener.listen();
(async () => {
  for await (const transport of listener) {
    transport.onEnvelope((envelope) => transport.send(envelope).catch(() => {}));
  }
})();

await using client = new TcpTransport();
await client.open(`net.tcp://${listener.address}`);
await client.send(new Message("text/plain", "Hello, LIME!", { id: "1" }));
for await (const echo of client) {
  console.log("echo:", (echo as Message).content); // → echo: Hello, LIME!
  break;
}
