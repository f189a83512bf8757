/**
 * Secrets on the way into `deno task start` (src/server/main.ts as a subprocess): accounts from
 * `LIME_ACCOUNTS` and `--accounts-file` log in over plain TCP and their passwords are not in
 * /proc/<pid>/cmdline of the server or of any process under it; `--account` puts the password
 * there (development only) and says so on stderr. The abuse of that input path (an oversize
 * file, too many entries, a malformed line, another domain, bad flags) ends with exit code 2, one
 * `error:` line and the usage, no stack trace, and never the password.
 */
import assert from "node:assert/strict";
import { plainCredentials } from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { connect } from "../server_test_helpers.ts";
import { commandLines, notices, runStart, StartProcess } from "../server_start_helpers.ts";
import { USAGE } from "../../src/server/main_args.ts";

const linux = Deno.build.os === "linux";
const SERVER = ["--tcp=127.0.0.1:0", "--ws=off", "--data=:memory:"];

/** Logs `identity` in with `password` over plain TCP; resolves with the established node. */
async function logIn(address: string, identity: string, password: string): Promise<string> {
  const client = await connect(address, "tcp");
  try {
    const session = await within(
      client.establishSession({
        identity,
        instance: "secrets",
        credentials: plainCredentials(password),
      }),
      10_000,
      "logging in",
    );
    return session.to!;
  } finally {
    await client.close();
  }
}

/** Asserts no command line of the server's process tree holds `secret`; returns them. */
async function assertNotInCommandLines(pid: number, secret: string): Promise<string[]> {
  const lines = await commandLines(pid);
  assert.ok(lines.length >= 1 && lines[0].includes("main.ts"), lines.join("\n"));
  for (const line of lines) assert.ok(!line.includes(secret), `password in: ${line}`);
  return lines;
}

Deno.test({
  name:
    "deno task start with LIME_ACCOUNTS serves a plain login and keeps the password out of /proc/<pid>/cmdline",
  ignore: !linux,
  fn: async () => {
    const password = "env-Pa55:word, with a comma";
    await using server = new StartProcess(SERVER, {
      LIME_ACCOUNTS: `# from the environment\nalice@localhost:${password}\nbob@localhost:b0b`,
    });
    const address = await server.tcpAddress();
    assert.equal(await logIn(address, "alice@localhost", password), "alice@localhost/secrets");
    assert.equal(await logIn(address, "bob@localhost", "b0b"), "bob@localhost/secrets");
    await assertNotInCommandLines(server.child.pid, password);
    await assertNotInCommandLines(server.child.pid, "b0b");
    assert.deepEqual(notices(server.stderr.lines), [], "no warning without --account");
    assert.ok(!server.stdout.lines.join("\n").includes(password));
    // The logins are logged, the passwords never.
    assert.ok(server.stderr.lines.some((line) => /Session established: alice@/.test(line)));
    assert.ok(!server.stderr.lines.join("\n").includes(password));
    assert.ok(!server.stderr.lines.join("\n").includes("b0b"));
  },
});

Deno.test({
  name:
    "deno task start with --accounts-file serves a plain login and keeps the password out of /proc/<pid>/cmdline",
  ignore: !linux,
  fn: async () => {
    const password = "file-Pa55word: trailing space ";
    const file = await Deno.makeTempFile({ prefix: "lime-accounts-" });
    try {
      await Deno.writeTextFile(file, `# accounts\r\n\r\ncarol@localhost:${password}\r\n`);
      await using server = new StartProcess([...SERVER, "--accounts-file", file]);
      const address = await server.tcpAddress();
      assert.equal(await logIn(address, "carol@localhost", password), "carol@localhost/secrets");
      const lines = await assertNotInCommandLines(server.child.pid, password);
      assert.ok(
        lines[0].includes(file),
        "the file's path, not its content, is on the command line",
      );
      assert.deepEqual(notices(server.stderr.lines), []);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name:
    "deno task start with --account shows the password in /proc/<pid>/cmdline (development only) and warns on stderr",
  ignore: !linux,
  fn: async () => {
    const password = "flag-Pa55word";
    await using server = new StartProcess([...SERVER, `--account=dave@localhost:${password}`]);
    const address = await server.tcpAddress();
    assert.equal(await logIn(address, "dave@localhost", password), "dave@localhost/secrets");
    const lines = await commandLines(server.child.pid);
    assert.ok(lines[0].includes(password), "ps shows a password given with --account");
    const warning = await within(
      server.stderr.find(/^warning: --account .*ps/, () => server.exited),
    );
    assert.ok(!warning[0].includes(password));
    assert.equal(notices(server.stderr.lines).length, 1, server.stderr.lines.join("\n"));
  },
});

/** Asserts a refused start: exit 2, nothing on stdout, `error: <problem>` + usage, no secret. */
function assertRefused(run: { code: number; stdout: string; stderr: string }, problem: RegExp) {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "");
  const [first, blank, ...usage] = run.stderr.trimEnd().split("\n");
  assert.match(first, /^error: /);
  assert.match(first.slice("error: ".length), problem);
  assert.equal(blank, "");
  assert.equal(usage.join("\n"), USAGE);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
  assert.ok(!run.stderr.includes("S3cret"), "the password is never echoed");
}

Deno.test("deno task start refuses abusive account input with exit code 2, one error line and the usage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lime-secrets-test-" });
  try {
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      return `--accounts-file=${dir}/${name}`;
    };
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        [await write("big", `alice@localhost:${"S3cret".repeat(180_000)}\n`)],
        {},
        /^--accounts-file ".*" is larger than 1048576 bytes$/,
      ],
      [
        [
          await write(
            "many",
            Array.from({ length: 10_001 }, (_, i) => `u${i}@localhost:S3cret`).join("\n"),
          ),
        ],
        {},
        /^too many accounts: 10001 given, at most 10000$/,
      ],
      [
        [await write("malformed", "alice@localhost:ok\nbob@localhost S3cret\n")],
        {},
        /^--accounts-file line 2: expected name@domain:password \(no colon\)$/,
      ],
      [
        [await write("spaced", "al ice@localhost:S3cret\n")],
        {},
        /^--accounts-file line 1: the part before the first colon is not a name@domain identity$/,
      ],
      [
        [],
        { LIME_ACCOUNTS: "mallory@example.com:S3cret" },
        /^LIME_ACCOUNTS line 1: mallory@example.com is not in the served domain localhost$/,
      ],
      [
        [],
        { LIME_ACCOUNTS: "eve@localhost:" },
        /^LIME_ACCOUNTS line 1: eve@localhost has an empty/,
      ],
      [
        [`--accounts-file=${dir}/missing`],
        {},
        /^--accounts-file ".*" cannot be read \(NotFound\)$/,
      ],
    ];
    for (const [args, env, problem] of cases) {
      assertRefused(await runStart([...SERVER, ...args], env), problem);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start refuses bad flags with exit code 2, one error line naming the flag and the usage", async () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /^unknown flag --bogus$/],
    [["--tcp=nonsense"], /^--tcp must be HOST:PORT or off, got "nonsense"$/],
    [["--tcp"], /^--tcp needs a value$/],
    [["--tcp", "--ws=off"], /^--tcp needs a value \(write --tcp=VALUE for one starting with -\)$/],
    [["--no-guest=yes"], /^--no-guest takes no value$/],
    [["--acount=alice@localhost:S3cret"], /^unknown flag --acount$/],
    [["--no-guest", "alice@localhost:S3cret"], /^unexpected argument without a flag/],
    [["--account=alice@localhost:S3cret", "--domain=a@b"], /^--domain must be a domain name/],
  ];
  const runs = await Promise.all(cases.map(([args]) => runStart(args)));
  runs.forEach((run, i) => assertRefused(run, cases[i][1]));
});
