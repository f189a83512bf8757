/**
 * `lime` run as a user would (`deno run` with the `lime` task's permissions) against a real
 * LimeServer on 127.0.0.1: every command, `--json`, the exit codes, `--help`, the password from
 * LIME_PASSWORD, and errors that name their fix.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../../src/cli/args.ts";
import { TestServer } from "../server_test_helpers.ts";
import { ROOT } from "../test_utils.ts";
import { lime, LIME_ARGS, LimeProcess } from "./cli_helpers.ts";

const PASSWORD = "s3cret, with spaces";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A server with the account alice@localhost (PASSWORD); its TCP and WebSocket URIs. */
async function server() {
  const test = await TestServer.start();
  await test.addAccount("alice@localhost", PASSWORD);
  return Object.assign(test, {
    tcp: `net.tcp://${test.server.tcpAddress}`,
    ws: `ws://${test.server.websocketAddress}`,
  });
}

const alice = { env: { LIME_PASSWORD: PASSWORD } };

Deno.test("lime --help lists the commands, the connection options and the exit codes", async () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const run = await lime(args);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^lime: a LIME protocol client/);
    for (const command of COMMANDS) assert.match(run.stdout, new RegExp(`^  ${command}\\b`, "m"));
    assert.match(run.stdout, /LIME_PASSWORD/);
    assert.match(run.stdout, /^ {2}3 {2}cannot connect/m);
  }
});

Deno.test("lime COMMAND --help prints the command's usage for every command", async () => {
  for (const command of COMMANDS) {
    for (const args of [[command, "--help"], ["help", command]]) {
      const run = await lime(args);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^Usage: lime ${command}`), args.join(" "));
      assert.match(run.stdout, /Exit codes:/);
    }
  }
});

Deno.test("lime --version prints the version of deno.json", async () => {
  const run = await lime(["--version"]);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /^lime \d+\.\d+\.\d+\n$/);
});

Deno.test("lime exits 2 with one error line and the usage line on a bad command line", async () => {
  const cases: [string[], RegExp][] = [
    [[], /^error: a command is needed/],
    [["pong"], /^error: unknown command "pong"/],
    [["ping", "--bogus"], /^error: unknown option --bogus/],
    [
      ["ping", "--password=x"],
      /^error: there is no --password: give the password in LIME_PASSWORD/,
    ],
    [["send", "bob@localhost"], /^error: "lime send" needs TEXT/],
    [["send", "bob@localhost", "hi", "there"], /^error: "lime send" takes 2 arguments/],
    [["get", "/ping", "--wait=received"], /^error: --wait is not an option of "lime get"/],
    [["ping", "--timeout=soon"], /^error: --timeout must be a positive number/],
    [["ping", "-s", "localhost:55321"], /needs a scheme: write "net\.tcp:\/\/localhost:55321"/],
    [["get", "/account", "-i", "alice"], /^error: --identity must be name@domain/],
    [["register"], /^error: "lime register" needs --identity/],
    [["send", "bob", "hi"], /^error: TO must be name@domain/],
  ];
  for (const [args, message] of cases) {
    const run = await lime(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, message, args.join(" "));
    assert.match(run.stderr, /Usage: lime|Run "lime/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  }
});

Deno.test("lime ping answers over TCP and WebSocket, as a guest and with LIME_PASSWORD", async () => {
  await using test = await server();
  for (const uri of [test.tcp, test.ws]) {
    const run = await lime(["ping", "-s", uri]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^pong from postmaster@localhost\/server in \d+\.\d ms\n$/);
  }
  const signedIn = await lime(["ping", "--server", test.tcp, "--identity=alice@localhost"], alice);
  assert.equal(signedIn.code, 0, signedIn.stderr);
  const json = await lime(["ping", "-s", test.ws, "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const [line, ...rest] = json.stdout.trim().split("\n");
  assert.deepEqual(rest, []);
  const response = JSON.parse(line);
  assert.equal(response.method, "get");
  assert.equal(response.status, "success");
  assert.equal(response.type, "application/vnd.lime.ping+json");
  assert.match(response.to.split("@")[0], UUID, "a guest without an identity gets a UUID name");
});

Deno.test("lime get, set and delete manage a resource; a failure exits 1 with its reason", async () => {
  await using test = await server();
  const as = ["-s", test.tcp, "-i", "alice@localhost"];
  const account = await lime(["get", "/account", ...as], alice);
  assert.equal(account.code, 0, account.stderr);
  assert.deepEqual(JSON.parse(account.stdout), { identity: "alice@localhost" });

  const set = await lime(
    ["set", "/contacts", '{"identity":"bob@localhost","name":"Bob"}', ...as],
    alice,
  );
  assert.equal(set.code, 0, set.stderr);
  assert.equal(set.stdout, "");
  const fromStdin = await lime(["set", "/contacts", ...as], {
    ...alice,
    stdin: '{"identity":"carol@localhost","name":"Carol"}',
  });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  const roster = await lime(["get", "/contacts", ...as, "--json"], alice);
  assert.equal(roster.code, 0, roster.stderr);
  const response = JSON.parse(roster.stdout);
  assert.equal(response.status, "success");
  assert.deepEqual(
    response.resource.items.map((c: { identity: string }) => c.identity).sort(),
    ["bob@localhost", "carol@localhost"],
  );
  const removed = await lime(["delete", "/contacts/bob@localhost", ...as], alice);
  assert.equal(removed.code, 0, removed.stderr);
  const after = await lime(["get", "/contacts", ...as], alice);
  assert.deepEqual(
    JSON.parse(after.stdout).items.map((c: { identity: string }) => c.identity),
    ["carol@localhost"],
  );

  const missing = await lime(["get", "/nothing", ...as], alice);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: get \/nothing failed: .* \(reason 62\)\n$/);
  const badJson = await lime(["set", "/presence", "{oops", ...as], alice);
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /^error: the resource is not valid JSON/);
  const noType = await lime(["set", "/mine", "{}", ...as], alice);
  assert.equal(noType.code, 2);
  assert.match(noType.stderr, /^error: give the media type of \/mine with --type/);
});

Deno.test("lime send is dispatched to lime watch, which prints it; --json prints JSON lines", async () => {
  await using test = await server();
  await using watcher = new LimeProcess(
    ["watch", "-s", test.tcp, "-i", "alice@localhost", "--instance=desk", "--count=2", "--json"],
    alice.env,
  );
  assert.equal(await watcher.watching(), "alice@localhost/desk");

  const sent = await lime(["send", "alice@localhost", "Hello Alice", "-s", test.ws]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^dispatched: alice@localhost \(message [0-9a-f-]{36}\)\n$/);

  // Waits for the watcher's received notification (lime watch acknowledges messages).
  const json = await lime([
    "send",
    "alice@localhost/desk",
    '{"n":1}',
    "--type=application/json",
    "--wait=received",
    "--json",
    "-s",
    test.tcp,
  ]);
  assert.equal(json.code, 0, json.stderr);
  const lines = json.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines[0].content, { n: 1 });
  assert.equal(lines[0].to, "alice@localhost/desk");
  assert.equal(lines.at(-1).event, "received");
  assert.equal(lines.at(-1).id, lines[0].id);

  assert.equal(await watcher.exit(), 0);
  const printed = watcher.stdout.lines.map((line) => JSON.parse(line));
  assert.deepEqual(printed.map((m) => m.content), ["Hello Alice", { n: 1 }]);
  assert.equal(printed[0].to, "alice@localhost");
  assert.equal(printed[1].type, "application/json");
});

Deno.test("lime watch prints lines for people, colored only when asked off a terminal", async () => {
  await using test = await server();
  for (const color of ["auto", "always"]) {
    await using watcher = new LimeProcess([
      "watch",
      "-s",
      test.tcp,
      "-i",
      "bob@localhost",
      "--guest",
      "-n",
      "1",
      `--color=${color}`,
    ]);
    await watcher.watching();
    const sent = await lime(["send", "bob@localhost", "Hi Bob", "-s", test.tcp, "--wait=none"]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /^sent to bob@localhost \(message /);
    assert.equal(await watcher.exit(), 0);
    const [line] = watcher.stdout.lines;
    // deno-lint-ignore no-control-regex
    const plain = line.replace(/\x1b\[\d+m/g, "");
    assert.match(
      plain,
      /^\d\d:\d\d:\d\d message +\S+@localhost\/lime-[0-9a-f]{8} → bob@localhost {2}text\/plain {2}Hi Bob id [0-9a-f-]{36}$/,
    );
    assert.equal(line !== plain, color === "always", `colors with --color=${color}`);
  }
});

Deno.test("lime watch ends with 0 on Ctrl-C (SIGINT), finishing its session", async () => {
  await using test = await server();
  await using watcher = new LimeProcess(["watch", "-s", test.tcp, "--guest"]);
  const node = await watcher.watching();
  assert.ok(test.server.registry.byNodeKey(node.toLowerCase()), "the session is registered");
  watcher.child.kill("SIGINT");
  assert.equal(await watcher.exit(), 0);
  assert.equal(test.server.registry.byNodeKey(node.toLowerCase()), undefined);
});

Deno.test("lime send exits 1 with the reason of a failed notification", async () => {
  await using test = await server();
  const run = await lime(["send", "nobody@localhost", "hello?", "-s", test.tcp]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^error: message [0-9a-f-]{36} to nobody@localhost failed: The destination "nobody@localhost" was not found \(reason 42\)\n$/,
  );
});

Deno.test("lime register creates the account; the ended guest session counts as success", async () => {
  await using test = await server();
  const env = { LIME_PASSWORD: "dave's password" };
  const run = await lime(["register", "-s", test.tcp, "-i", "dave@localhost"], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "registered dave@localhost: sign in with its password\n");
  assert.equal(run.stderr, "");
  assert.ok(await test.store.getAccount("dave@localhost"));
  const signedIn = await lime(["ping", "-s", test.tcp, "-i", "dave@localhost"], { env });
  assert.equal(signedIn.code, 0, signedIn.stderr);

  const again = await lime(["register", "-s", test.tcp, "-i", "dave@localhost"], { env });
  assert.equal(again.code, 4);
  assert.match(
    again.stderr,
    /^error: cannot register dave@localhost: the server refused a guest session for it: A guest cannot use "dave@localhost": the identity is owned \(reason 13\)\n$/,
  );
});

Deno.test("lime exits 4 on a wrong password and 2 with no password off a terminal", async () => {
  await using test = await server();
  const wrong = await lime(["get", "/account", "-s", test.tcp, "-i", "alice@localhost"], {
    env: { LIME_PASSWORD: "wrong" },
  });
  assert.equal(wrong.code, 4);
  assert.match(wrong.stderr, /^error: the server refused the session: .*\(reason 13\)\n$/);
  assert.doesNotMatch(wrong.stderr, /wrong/);
  const none = await lime(["get", "/account", "-s", test.tcp, "-i", "alice@localhost"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: no password for alice@localhost: set LIME_PASSWORD, or run/);
});

Deno.test("lime exits 3 when it cannot connect, naming the fix for an HTTP port", async () => {
  await using test = await server();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  const refused = await lime(["ping", "-s", `net.tcp://127.0.0.1:${closedPort}`]);
  assert.equal(refused.code, 3);
  assert.match(
    refused.stderr,
    /^error: cannot connect to net\.tcp:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\(no server listens there\)/,
  );

  const http = await lime(["ping", "-s", `net.tcp://${test.server.websocketAddress}`]);
  assert.equal(http.code, 3);
  assert.match(http.stderr, /this looks like an HTTP server .*Connect to it with ws:\/\//);

  const domain = await lime(["ping", "-s", "lime.invalid", "-t", "5"]);
  assert.equal(domain.code, 3, domain.stderr);
  assert.match(domain.stderr, /^error: cannot connect to net\.tcp:\/\/lime\.invalid:55321: /);
});

Deno.test("lime exits 5 when the server does not answer within --timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // accepted, never answered
  })();
  try {
    const started = Date.now();
    const run = await lime([
      "ping",
      "-s",
      `net.tcp://127.0.0.1:${listener.addr.port}`,
      "-t",
      "0.5",
    ]);
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, /^error: timed out: net\.tcp:\/\/127\.0\.0\.1:\d+ did not establish/);
    assert.ok(Date.now() - started < 10_000);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("lime installs with deno install -g and the task's permissions, and runs installed", async () => {
  await using test = await server();
  const root = await Deno.makeTempDir({ prefix: "lime_install_" });
  try {
    const flags = LIME_ARGS.filter((arg) => arg.startsWith("--allow"));
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["install", "-g", "-n", "lime", "--root", root, ...flags, `${ROOT}/src/cli/main.ts`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
    const run = await new Deno.Command(`${root}/bin/lime`, {
      args: ["ping", "-s", test.tcp],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.match(new TextDecoder().decode(run.stdout), /^pong from postmaster@localhost\/server/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
