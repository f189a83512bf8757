/**
 * A LIME client: establishes a session, sends a message, reads the echo, processes a command.
 * Run against examples/echo_server.ts: `deno run -A examples/client_session.ts [uri]`.
 * @module
 */
import { ClientChannel, Message, plainCredentials, TcpTransport } from "../mod.ts";

const transport = new TcpTransport();
await transport.open(Deno.args[0] ?? "net.tcp://127.0.0.1:55321");
await using channel = new ClientChannel(transport); // `await using` finishes the session
await channel.establishSession({
  identity: "alice@example.org",
  instance: "home",
  credentials: plainCredentials("secret"), // base64-encoded by the library
});
await channel.sendMessage(new Message("text/plain", "Hello, LIME!"));
console.log("echo:", (await channel.receiveMessage()).content);
const account = await channel.getResource<{ fullName: string }>("/account");
console.log("account:", account.fullName);
