import assert from "node:assert/strict";
import { ClientChannel, KvAccountStore, LimeServer, Message, TcpTransport } from "../mod.ts";
import { ROOT, runDeno } from "./test_utils.ts";

Deno.test("examples/tcp_echo.ts runs and prints the echo", async () => {
  const { code, stdout, stderr } = await runDeno(["run", "-A", `${ROOT}/examples/tcp_echo.ts`]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "echo: Hello, LIME!");
});

Deno.test("examples/client_session.ts establishes a session with examples/echo_server.ts", async () => {
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/examples/echo_server.ts`, "0"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const { value } = await lines.read();
    const uri = /listening on (\S+)/.exec(value ?? "")?.[1];
    assert.ok(uri, `the server printed ${value}`);
    const { code, stdout, stderr } = await runDeno([
      "run",
      "-A",
      `${ROOT}/examples/client_session.ts`,
      uri,
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), "echo: Hello, LIME!\naccount: alice");
  } finally {
    server.kill();
    await lines.cancel();
    await server.status;
  }
});

Deno.test("examples/resilient_bot.ts answers before and after a server restart", async () => {
  const store = await KvAccountStore.open(":memory:");
  let server = new LimeServer({ store, tcp: { port: 0 }, websocket: false });
  await server.start();
  const address = server.tcpAddress!;
  const port = Number(address.split(":")[1]);
  const bot = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/examples/resilient_bot.ts`, `net.tcp://${address}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = bot.stdout.pipeThrough(new TextDecoderStream());
  let printed = "";
  const reading = (async () => {
    for await (const chunk of output) printed += chunk;
  })();
  const established = async (count: number) => {
    const start = Date.now();
    while ((printed.match(/status: established/g) ?? []).length < count) {
      if (Date.now() - start > 10_000) throw new Error(`the bot did not establish:\n${printed}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const ask = async (text: string) => {
    const transport = new TcpTransport();
    await transport.open(`net.tcp://${address}`);
    await using user = new ClientChannel(transport);
    await user.establishSession({ identity: "user@localhost", instance: "u", encryption: "none" });
    await user.sendMessage(new Message("text/plain", text, { to: "echo-bot@localhost" }));
    return (await user.receiveMessage()).content;
  };
  try {
    await established(1);
    assert.equal(await ask("before"), "before");
    await server.shutdown();
    server = new LimeServer({ store, tcp: { port }, websocket: false });
    await server.start();
    await established(2);
    assert.equal(await ask("after"), "after");
  } finally {
    bot.kill("SIGINT");
    await bot.status;
    await reading;
    await bot.stderr.cancel();
    await server.shutdown();
    store.close();
  }
});
