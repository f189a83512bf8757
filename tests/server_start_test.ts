/**
 * LimeServer's life cycle on 127.0.0.1: `shutdown()` (established sessions get `finished`, one
 * still establishing gets `failed`), accounts in a KvAccountStore file surviving a restart, and
 * `deno task start` (src/server/main.ts) as a subprocess: it prints the bound addresses for port
 * 0, serves a plain login and stops on SIGTERM with `finished` to its clients and exit code 0;
 * `--help`, `--version`, `--flag value`, and accounts reset on a second start. Secrets and bad
 * flags: tests/security/secrets_test.ts.
 */
import assert from "node:assert/strict";
import {
  type ClientChannel,
  encodeBase64Text,
  KvAccountStore,
  plainCredentials,
  TcpTransport,
} from "../mod.ts";
import { within } from "./tcp_helpers.ts";
import { ACCOUNT, connect, startServer } from "./server_test_helpers.ts";
import { notices, runStart, StartProcess } from "./server_start_helpers.ts";
import { USAGE } from "../src/server/main_args.ts";
import denoJson from "../deno.json" with { type: "json" };

Deno.test("LimeServer.shutdown sends finished to every established session and failed to one still establishing", async () => {
  const store = await KvAccountStore.open(":memory:");
  const server = await startServer(store);
  const clients: ClientChannel[] = [];
  try {
    const alice = await connect(server.tcpAddress!, "tcp");
    const bob = await connect(server.websocketAddress!, "ws");
    const carol = await connect(server.tcpAddress!, "tcp");
    clients.push(alice, bob, carol);
    await within(alice.establishSession({ identity: "alice@localhost", instance: "a" }));
    await within(bob.establishSession({ identity: "bob@localhost", instance: "b" }));
    // Carol stops after the server's negotiation offer (TCP always offers gzip).
    const offer = await within(carol.startNewSession());
    assert.equal(offer.state, "negotiating");
    assert.equal(carol.state, "negotiating");
    assert.equal(server.registry.size, 2);

    await within(server.shutdown());
    assert.deepEqual(await within(alice.closed), { state: "finished" });
    assert.deepEqual(await within(bob.closed), { state: "finished" });
    assert.deepEqual(await within(carol.closed), {
      state: "failed",
      reason: { code: 11, description: "The server is being shut down" },
    });
    assert.equal(server.registry.size, 0);
    // The listeners are gone.
    const late = new TcpTransport();
    await assert.rejects(late.open(`net.tcp://${server.tcpAddress}`));
    await within(server.shutdown()); // twice is fine
  } finally {
    await server.shutdown();
    await Promise.all(clients.map((client) => client.close()));
    store.close();
  }
});

Deno.test("KvAccountStore on a file keeps an account registered in-band across a server restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lime-server-test-" });
  const path = `${dir}/lime.kv`;
  try {
    {
      const store = await KvAccountStore.open(path);
      const server = await startServer(store, { websocket: false });
      const guest = await connect(server.tcpAddress!, "tcp");
      try {
        await within(guest.establishSession({ identity: "dave@localhost", instance: "setup" }));
        await within(
          guest.setResource("/account", ACCOUNT, {
            fullName: "Dave",
            password: encodeBase64Text("persist me"),
          }),
        );
        await within(guest.finish());
      } finally {
        await guest.close();
        await server.shutdown();
        store.close();
      }
    }
    const store = await KvAccountStore.open(path);
    const server = await startServer(store, { tcp: false });
    const dave = await connect(server.websocketAddress!, "ws");
    const wrong = await connect(server.websocketAddress!, "ws");
    try {
      await within(
        dave.establishSession({
          identity: "dave@localhost",
          instance: "phone",
          credentials: plainCredentials("persist me"),
        }),
      );
      assert.deepEqual(await within(dave.getResource("/account")), {
        fullName: "Dave",
        identity: "dave@localhost",
      });
      await assert.rejects(
        within(
          wrong.establishSession({
            identity: "dave@localhost",
            credentials: plainCredentials("forgotten"),
          }),
        ),
        { code: 13 },
      );
      // Neither the database nor its journal files hold the password.
      for await (const entry of Deno.readDir(dir)) {
        const text = new TextDecoder("latin1").decode(await Deno.readFile(`${dir}/${entry.name}`));
        assert.ok(!text.includes("persist me"), entry.name);
        assert.ok(!text.includes(encodeBase64Text("persist me")), entry.name);
      }
    } finally {
      await within(server.shutdown());
      await Promise.all([dave.close(), wrong.close()]);
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start prints the bound addresses for port 0, serves a plain login and exits 0 on SIGTERM after finishing its sessions", async () => {
  await using server = new StartProcess([
    "--tcp=127.0.0.1:0",
    "--ws=127.0.0.1:0",
    "--data=:memory:",
    "--account=alice@localhost:secret",
  ]);
  const { stdout, stderr, status } = server;
  const exited = () => server.exited;
  let client: ClientChannel | undefined;
  try {
    const tcp = await within(
      stdout.find(/TCP\s+net\.tcp:\/\/(127\.0\.0\.1:(\d+))/, exited),
      5000,
      "the TCP address line",
    );
    const ws = await within(
      stdout.find(/WebSocket\s+ws:\/\/(127\.0\.0\.1:(\d+))/, exited),
      5000,
      "the WebSocket address line",
    );
    assert.notEqual(Number(tcp[2]), 0, "the real port is printed");
    assert.notEqual(Number(ws[2]), 0, "the real port is printed");
    assert.match(stdout.lines[0], /^LIME server postmaster@localhost\/server$/);
    await within(stdout.find(/^ {2}accounts {3}:memory: \(1 created, 0 updated\)$/, exited));

    client = await connect(tcp[1], "tcp");
    const established = await within(
      client.establishSession({
        identity: "alice@localhost",
        instance: "cli",
        credentials: plainCredentials("secret"),
      }),
      5000,
      "logging in (600,000 PBKDF2 iterations)",
    );
    assert.equal(established.to, "alice@localhost/cli");
    assert.equal(established.from, "postmaster@localhost/server");
    assert.deepEqual(await within(client.getResource("/ping")), {});

    const websocket = await connect(ws[1], "ws");
    await assert.rejects(
      within(
        websocket.establishSession({
          identity: "alice@localhost",
          credentials: plainCredentials("wrong"),
        }),
      ),
      { code: 13 },
    );

    server.child.kill("SIGTERM");
    assert.deepEqual(await within(client.closed), { state: "finished" });
    const result = await within(status, 5000, "the server process exit");
    assert.equal(result.code, 0, stderr.lines.join("\n"));
    assert.equal(result.success, true);
    await within(Promise.all([stdout.done, stderr.done]));
    assert.ok(stdout.lines.includes("shutting down…"), stdout.lines.join("\n"));
  } finally {
    await client?.close();
  }
});

Deno.test("deno task start --help prints the usage and --version the version of deno.json, both with exit code 0", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const task = (flag: string) =>
    new Deno.Command(Deno.execPath(), { args: ["task", "start", flag], cwd: root, stdin: "null" })
      .output();
  const [help, version] = await Promise.all([task("--help"), task("--version")]);
  assert.equal(help.code, 0);
  assert.equal(new TextDecoder().decode(help.stdout), `${USAGE}\n`);
  assert.equal(version.code, 0);
  assert.equal(new TextDecoder().decode(version.stdout), `${denoJson.version}\n`);
  const short = await runStart(["-h"]);
  assert.deepEqual(short, { code: 0, stdout: `${USAGE}\n`, stderr: "" });
});

Deno.test("deno task start takes --flag value as well as --flag=value", async () => {
  await using server = new StartProcess([
    "--tcp",
    "127.0.0.1:0",
    "--ws",
    "off",
    "--data",
    ":memory:",
  ]);
  const address = await server.tcpAddress();
  assert.match(address, /^127\.0\.0\.1:[1-9]\d*$/);
  await within(server.stdout.find(/^\s+accounts\s+:memory:$/, () => server.exited));
  assert.ok(!server.stdout.lines.some((line) => line.includes("WebSocket")), "--ws off");
  assert.deepEqual(notices(server.stderr.lines), []);
});

Deno.test("deno task start on an existing data folder resets the password of an account it lists and reports it updated", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lime-start-test-" });
  const start = (password: string) =>
    new StartProcess(["--tcp=127.0.0.1:0", "--ws=off", `--data=${dir}`], {
      LIME_ACCOUNTS: `alice@localhost:${password}`,
    });
  try {
    {
      await using first = start("first password");
      await first.tcpAddress();
      await within(first.stdout.find(/\(1 created, 0 updated\)$/, () => first.exited));
    }
    await using second = start("second password");
    const address = await second.tcpAddress();
    await within(second.stdout.find(/\(0 created, 1 updated\)$/, () => second.exited));
    const old = await connect(address, "tcp");
    const alice = await connect(address, "tcp");
    try {
      await assert.rejects(
        within(old.establishSession({
          identity: "alice@localhost",
          credentials: plainCredentials("first password"),
        })),
        { code: 13 },
      );
      await within(alice.establishSession({
        identity: "alice@localhost",
        instance: "cli",
        credentials: plainCredentials("second password"),
      }));
    } finally {
      await Promise.all([old.close(), alice.close()]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start on an address in use prints one line naming the flag to change and exits 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const address = `127.0.0.1:${taken.addr.port}`;
    for (const [flag, other] of [["tcp", "ws"], ["ws", "tcp"]]) {
      const run = await runStart([
        "--data=:memory:",
        `--${flag}=${address}`,
        `--${other}=127.0.0.1:0`,
      ]);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(
        run.stderr,
        `error: Cannot listen on ${address}: the address is in use (another LIME server?). Stop ` +
          `that process, or give this one another address with --${flag}=HOST:PORT (port 0 ` +
          `picks a free one; --${flag}=off turns that listener off)\n`,
      );
    }
  } finally {
    taken.close();
  }
});
