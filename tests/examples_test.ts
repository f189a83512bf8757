import assert from "node:assert/strict";
import { ClientChannel, KvAccountStore, LimeServer, Message, TcpTransport } from "../mod.ts";
import { limeCsharpProfile } from "./peers/lime_csharp.ts";
import { limeGoProfile } from "./peers/lime_go.ts";
import { ScriptedServer } from "./peers/scripted_server.ts";
import { ROOT, runDeno, withTempDir } from "./test_utils.ts";
import { tlsFixture } from "./tls_fixture.ts";

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

for (
  const [name, profile, via, env] of [
    ["lime-go over TCP with TLS required, as a guest", limeGoProfile, "tcp", {
      LIME_TLS: "required",
    }],
    [
      "lime-csharp over WebSocket with a password",
      () => limeCsharpProfile({ passwords: { alice: "s3cret" } }),
      "ws",
      { LIME_IDENTITY: "alice@localhost", LIME_PASSWORD: "s3cret" },
    ],
  ] as const
) {
  Deno.test(`examples/other_server.ts runs against ${name}`, async () => {
    const f = await tlsFixture();
    await using server = await ScriptedServer.start(profile(), {
      certificate: { cert: f.server.cert, key: f.server.key },
    });
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, f.ca);
      const uri = via === "tcp" ? server.tcpUri : server.wsUri;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}/examples/other_server.ts`, uri],
        env: { LIME_CA: `${dir}/ca.pem`, ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const [stdout, stderr] = [out.stdout, out.stderr].map((b) => new TextDecoder().decode(b));
      assert.equal(out.code, 0, stderr);
      const lines = stdout.trim().split("\n");
      const node = via === "tcp"
        ? /^established: [0-9a-f-]{36}@localhost\/[0-9a-f-]{36} /
        : /^established: alice@localhost\/example /;
      assert.match(lines[0], node);
      assert.match(lines[0], new RegExp(`encryption ${via === "tcp" ? "tls" : "none"}\\)$`));
      assert.deepEqual(lines.slice(1), ["ping: success", "presence: set", "message: Hello, me!"]);
    });
  });
}
