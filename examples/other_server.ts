/**
 * A client for a LIME server this project did not write (lime-go, lime-csharp, BLiP, …):
 * establishes a session, pings the server, sets its presence, sends itself a message through the
 * server and finishes.
 *
 * `deno run -A examples/other_server.ts <uri>` (`net.tcp://host:55321`, `ws://…`, `wss://…`),
 * with the credentials in the environment: `LIME_IDENTITY` (default: a guest named by a random
 * UUID at `LIME_DOMAIN`, default `localhost`, which lime-go requires of guests), `LIME_PASSWORD`
 * (plain) or `LIME_KEY` (key), `LIME_INSTANCE`, `LIME_CA` (a PEM file of the CA that issued the
 * server's certificate, when it is not a public one) and `LIME_TLS` (`required`, `off`, or by
 * default `preferred`: TLS when the server offers it on TCP).
 * @module
 */
import {
  ClientChannel,
  Command,
  guestCredentials,
  guestIdentity,
  keyCredentials,
  Message,
  plainCredentials,
  TcpTransport,
  WebSocketTransport,
} from "../mod.ts";

const uri = Deno.args[0] ?? "net.tcp://127.0.0.1:55321";
const env = (name: string) => Deno.env.get(name) || undefined;
const ca = env("LIME_CA");
const tls = env("LIME_TLS") ?? "preferred";

const transport = uri.startsWith("net.tcp:")
  ? new TcpTransport(ca ? { tls: { caCerts: [await Deno.readTextFile(ca)] } } : {})
  : new WebSocketTransport();
await transport.open(uri);
await using channel = new ClientChannel(transport); // `await using` finishes the session

const password = env("LIME_PASSWORD");
const key = env("LIME_KEY");
const session = await channel.establishSession({
  identity: env("LIME_IDENTITY") ?? guestIdentity(env("LIME_DOMAIN") ?? "localhost"),
  instance: env("LIME_INSTANCE") ?? "example",
  credentials: password
    ? plainCredentials(password)
    : key
    ? keyCredentials(key)
    : guestCredentials(),
  // "tls" by name is a requirement: nothing is sent unencrypted if the server does not negotiate it.
  encryption: tls === "required" ? "tls" : tls === "off" ? "none" : undefined,
});
// The server may assign another node (lime-go: its domain, a random instance): use this one.
console.log(
  `established: ${session.to} (server ${session.from}, encryption ${transport.encryption})`,
);

const ping = await channel.processCommand(new Command("get", "/ping"));
console.log(`ping: ${ping.status}`);
await channel.setResource("/presence", "application/vnd.lime.presence+json", {
  status: "available",
  routingRule: "identity",
});
console.log("presence: set");
await channel.sendMessage(
  new Message("text/plain", "Hello, me!", { id: crypto.randomUUID(), to: channel.localNode }),
);
console.log(`message: ${(await channel.receiveMessage()).content}`);
