/**
 * A LIME echo server on channels: accepts TCP sessions (guest, or plain with password
 * "secret"), echoes every message to its sender and answers every command with the sender's
 * account. Run: `deno run -A examples/echo_server.ts [port]` (default 55321; 0 picks a free port).
 * @module
 */
import {
  Command,
  Message,
  readPlainPassword,
  ServerChannel,
  TcpTransportListener,
  type Transport,
} from "../mod.ts";

async function serve(transport: Transport): Promise<void> {
  const channel = new ServerChannel(transport, { serverNode: "postmaster@example.org/echo" });
  const result = await channel.establishSession({
    schemeOptions: ["guest", "plain"],
    authenticator: (_identity, { scheme, authentication }) => ({
      domainRole: scheme === "guest" || readPlainPassword(authentication) === "secret"
        ? "member"
        : "unknown",
    }),
  });
  if (!result.established) return;
  channel.onMessage((message) =>
    channel.sendMessage(new Message(message.type, message.content, { to: result.node }))
  );
  channel.onCommand((command) =>
    channel.sendCommand(
      new Command(command.method, undefined, {
        id: command.id,
        to: result.node,
        status: "success",
        type: "application/vnd.lime.account+json",
        resource: { fullName: result.node.split("@")[0] },
      }),
    )
  );
}

const listener = new TcpTransportListener({ port: Number(Deno.args[0] ?? 55321) });
await listener.listen();
console.log(`listening on net.tcp://${listener.address}`);
for await (const transport of listener) serve(transport).catch(console.error);
