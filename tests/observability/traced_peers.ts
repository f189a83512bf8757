/**
 * The peers of the OTLP test, run as a process with `OTEL_DENO=true` (so Deno's tracer provider
 * is registered): a bot (`bot@localhost/b`, guest) and a client (`alice@localhost/home`, with the
 * password in `LIME_PASSWORD`) on the server at `Deno.args[0]` (`host:port`); a wrong password
 * tried once (refused, 13); then the client sends `Deno.args[1]` messages to the bot (the first
 * with id `m1`), and gets `/status` from the bot (command `c1`), answered by its `onCommand`.
 * Prints `done` and ends.
 * @module
 */
import {
  ClientChannel,
  Command,
  LimeError,
  Message,
  plainCredentials,
  TcpTransport,
} from "../../mod.ts";

const [address, count = "1"] = Deno.args;

async function open(
  identity: string,
  instance: string,
  password?: string,
): Promise<ClientChannel> {
  const transport = new TcpTransport();
  await transport.open(`net.tcp://${address}`);
  const channel = new ClientChannel(transport);
  await channel.establishSession({
    identity,
    instance,
    ...(password ? { credentials: plainCredentials(password) } : {}),
  });
  return channel;
}

const bot = await open("bot@localhost", "b");
const alice = await open("alice@localhost", "home", Deno.env.get("LIME_PASSWORD"));
try {
  await open("alice@localhost", "other", "hunter2-WRONG");
  throw new Error("the wrong password was accepted");
} catch (error) {
  if (!(error instanceof LimeError) || error.reason.code !== 13) throw error;
}

bot.onCommand((request) => {
  bot.sendCommand(
    new Command(request.method, undefined, {
      id: request.id,
      to: request.from,
      status: "success",
      type: "text/plain",
      resource: "up",
    }),
  ).catch(() => {});
});

for (let i = 0; i < Number(count); i++) {
  await alice.sendMessage(
    new Message("text/plain", `hello ${i}`, {
      id: i === 0 ? "m1" : `m${i + 1}`,
      to: "bot@localhost/b",
    }),
  );
  await bot.receiveMessage();
}
const response = await alice.processCommand(
  new Command("get", "/status", { id: "c1", to: "bot@localhost/b" }),
);
if (response.status !== "success") throw new Error(`c1 failed: ${JSON.stringify(response)}`);

await alice.finish();
await bot.finish();
console.log("done");
