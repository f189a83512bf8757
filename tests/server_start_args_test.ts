/**
 * The command line of `deno task start` without a process: `parseServerArgs` with an injected
 * environment and file reader, the flag table and its usage, the account entry format and its
 * limits, the bounded file reader and `seedAccounts`.
 */
import assert from "node:assert/strict";
import { DEFAULT_HTTP_PORT } from "../src/http/http_listener.ts";
import { type AccountStore, KvAccountStore, SERVER_DEFAULTS, verifyPassword } from "../mod.ts";
import {
  type ArgsIo,
  parseServerArgs,
  SERVER_FLAGS,
  type ServerConfig,
  USAGE,
  UsageError,
} from "../src/server/main_args.ts";
import {
  ACCOUNT_LIMITS,
  accountLines,
  checkAccounts,
  readTextFileBounded,
  seedAccounts,
} from "../src/server/main_accounts.ts";
import { endpoint, integer } from "../src/server/main_flags.ts";

/** An io with `files` (path → text) and `env`; a missing file fails like Deno's NotFound. */
function io(files: Record<string, string> = {}, env: Record<string, string> = {}): ArgsIo {
  return {
    env: (name) => env[name],
    readFile: (path, maxBytes) => {
      if (!(path in files)) return Promise.reject(new Deno.errors.NotFound(`no ${path}`));
      if (new TextEncoder().encode(files[path]).length > maxBytes) {
        return Promise.reject(new RangeError(`is larger than ${maxBytes} bytes`));
      }
      return Promise.resolve(files[path]);
    },
  };
}

async function config(args: string[], how: ArgsIo = io()): Promise<ServerConfig> {
  const parsed = await parseServerArgs(args, how);
  assert.equal(parsed.action, "run");
  return parsed.config;
}

/** Asserts `args` fail with a one-line UsageError matching `pattern` and not holding `secret`. */
async function refuses(args: string[], pattern: RegExp, how: ArgsIo = io(), secret = "s3cret") {
  const error = await parseServerArgs(args, how).then(
    () => assert.fail(`${args.join(" ")} was accepted`),
    (error) => error,
  );
  assert.ok(error instanceof UsageError, String(error));
  assert.match(error.message, pattern);
  assert.ok(!error.message.includes("\n"), error.message);
  assert.ok(!error.message.includes(secret), error.message);
}

Deno.test("parseServerArgs defaults to the embedded server defaults", async () => {
  assert.deepEqual(await config([]), {
    domain: SERVER_DEFAULTS.domain,
    tcp: { hostname: SERVER_DEFAULTS.tcpHostname, port: SERVER_DEFAULTS.tcpPort },
    ws: { hostname: SERVER_DEFAULTS.websocketHostname, port: SERVER_DEFAULTS.websocketPort },
    http: { hostname: SERVER_DEFAULTS.websocketHostname, port: DEFAULT_HTTP_PORT },
    data: "./data",
    accounts: [],
    guest: true,
    server: {},
  });
});

Deno.test("parseServerArgs takes the server's limits and trust settings", async () => {
  const parsed = await config([
    "--max-sessions=5000",
    "--max-sessions-per-address",
    "50",
    "--max-establishing=200",
    "--max-establishing-per-address=8",
    "--rate-limit=500",
    "--rate-limit-bytes=65536",
    "--identity-rate-limit=800",
    "--trust-proxy",
    "--plain-without-tls=nowhere",
  ]);
  assert.deepEqual(parsed.server, {
    maxSessions: 5000,
    maxSessionsPerAddress: 50,
    maxEstablishing: 200,
    maxEstablishingPerAddress: 8,
    rateLimit: {
      envelopesPerSecond: 500,
      bytesPerSecond: 65536,
      perIdentity: { envelopesPerSecond: 800 },
    },
    trustProxy: true,
    plainWithoutTls: "nowhere",
  });
  for (
    const bad of [
      "--max-sessions=0",
      "--rate-limit=-1",
      "--max-sessions=1e9",
      "--plain-without-tls=sometimes",
    ]
  ) {
    await assert.rejects(config([bad]), /must be/);
  }
});

Deno.test("parseServerArgs takes --flag value and --flag=value alike", async () => {
  const spaced = await config([
    "--domain",
    "example.com",
    "--tcp",
    "[::1]:0",
    "--ws",
    "off",
    "--data",
    ":memory:",
    "--no-guest",
  ]);
  const joined = await config([
    "--domain=example.com",
    "--tcp=[::1]:0",
    "--ws=off",
    "--data=:memory:",
    "--no-guest",
  ]);
  assert.deepEqual(spaced, joined);
  assert.deepEqual(spaced.tcp, { hostname: "::1", port: 0 });
  assert.equal(spaced.ws, false);
  assert.equal(spaced.guest, false);
});

Deno.test("parseServerArgs answers --help, -h and --version before reading anything", async () => {
  const nothing: ArgsIo = {
    env: () => assert.fail("read the environment"),
    readFile: () => assert.fail("read a file"),
  };
  assert.deepEqual(await parseServerArgs(["--help"], nothing), { action: "help" });
  assert.deepEqual(await parseServerArgs(["-h", "--config=x.json"], nothing), { action: "help" });
  assert.deepEqual(await parseServerArgs(["--version"], nothing), { action: "version" });
});

Deno.test("USAGE has one line per entry of SERVER_FLAGS, with its default", () => {
  for (const flag of SERVER_FLAGS) {
    const line = USAGE.split("\n").find((line) =>
      new RegExp(`^  (-\\w, )?--${flag.name}[= ]`).test(line)
    );
    assert.ok(line?.includes(flag.help), flag.name);
    if (flag.default) assert.ok(line?.includes(`(default ${flag.default})`), flag.name);
  }
  assert.match(USAGE, /--account=ID:PASSWORD +.*for development: visible in ps/);
  assert.match(USAGE, /LIME_ACCOUNTS/);
});

Deno.test("parseServerArgs refuses bad flags in one line without quoting a misplaced argument", async () => {
  await refuses(["--bogus"], /^unknown flag --bogus$/);
  await refuses(["--acount=alice@localhost:s3cret"], /^unknown flag --acount$/);
  await refuses(["-x"], /^unknown flag -x$/);
  await refuses(["--tcp"], /^--tcp needs a value$/);
  await refuses(["--tcp", "--no-guest"], /^--tcp needs a value \(write --tcp=VALUE/);
  await refuses(["--no-guest=yes"], /^--no-guest takes no value$/);
  await refuses(["--no-guest", "alice@localhost:s3cret"], /^unexpected argument without a flag/);
  await refuses(["--", "s3cret"], /^unexpected argument without a flag/);
});

Deno.test("parseServerArgs checks flag values: endpoints, domain, data folder, TLS pair", async () => {
  for (const bad of ["nonsense", "host:", ":80", "host:65536", "host:0x10", "host:1e3", "a b:1"]) {
    await refuses([`--tcp=${bad}`], /^--tcp must be HOST:PORT or off, got /);
  }
  await refuses(["--ws=127.0.0.1:-1"], /^--ws must be HOST:PORT or off/);
  await refuses(["--domain=a@b"], /^--domain must be a domain name/);
  await refuses(["--domain="], /^--domain must be a domain name/);
  await refuses(["--data="], /^--data must not be empty$/);
  await refuses(["--tls-cert=c.pem"], /^--tls-cert and --tls-key go together$/);
  await refuses(["--tls-cert=c.pem", "--tls-key=k.pem"], /^--tls-cert file "c.pem" cannot be read/);
  const tls = await config(
    ["--tls-cert=c.pem", "--tls-key=k.pem"],
    io({ "c.pem": "CERT", "k.pem": "KEY s3cret" }),
  );
  assert.deepEqual(tls.tls, { cert: "CERT", key: "KEY s3cret" });
  assert.deepEqual(endpoint("localhost:65535", "--x"), { hostname: "localhost", port: 65535 });
  assert.equal(integer("42", "--n", 1, 100), 42);
  for (const bad of ["0", "101", "-1", "1.5", "1e2", " 4", "", "0x10"]) {
    assert.throws(() => integer(bad, "--n", 1, 100), /^UsageError: --n must be an integer/);
  }
});

Deno.test("parseServerArgs reads the --config file first and lets flags win", async () => {
  const files = {
    "c.json": JSON.stringify({
      domain: "example.com",
      tcp: "127.0.0.1:1",
      "no-guest": true,
      accounts: ["alice@example.com:from file"],
    }),
  };
  const parsed = await config(["--config=c.json", "--tcp=127.0.0.1:2"], io(files));
  assert.equal(parsed.domain, "example.com");
  assert.deepEqual(parsed.tcp, { hostname: "127.0.0.1", port: 2 });
  assert.equal(parsed.guest, false);
  assert.deepEqual(parsed.accounts, [{ identity: "alice@example.com", password: "from file" }]);
  // The config file's accounts print no warning: they are not on the command line.
  assert.deepEqual(
    (await parseServerArgs(["--config=c.json"], io(files)) as { warnings: string[] }).warnings,
    [],
  );
});

Deno.test("parseServerArgs refuses a bad --config file without quoting its text", async () => {
  const files = {
    "bad.json": '{"accounts": ["alice@localhost:s3cret"',
    "array.json": "[]",
    "unknown.json": '{"bogus": 1}',
    "help.json": '{"help": true}',
    "type.json": '{"no-guest": "s3cret"}',
    "big.json": `{"domain": "${"a".repeat(1024 * 1024)}"}`,
  };
  await refuses(["--config=bad.json"], /^--config file "bad.json" is not valid JSON$/, io(files));
  await refuses(["--config=array.json"], /must hold a JSON object$/, io(files));
  await refuses(["--config=unknown.json"], /^unknown key "bogus" in the --config file$/, io(files));
  await refuses(["--config=help.json"], /^unknown key "help"/, io(files));
  await refuses(
    ["--config=type.json"],
    /^"no-guest" in the --config file must be true or false$/,
    io(files),
  );
  await refuses(
    ["--config=big.json"],
    /^--config file "big.json" is larger than 1048576 bytes$/,
    io(files),
  );
  await refuses(["--config=none.json"], /^--config file "none.json" cannot be read \(NotFound\)$/);
});

Deno.test("parseServerArgs reads accounts from --accounts-file, LIME_ACCOUNTS and --account, and warns about --account only", async () => {
  const file = [
    "# accounts of the test",
    "",
    "  alice@localhost:pa:ss,word with spaces  ",
    "bob@LOCALHOST:#not a comment\r",
    "   # an indented comment",
  ].join("\n");
  const parsed = await parseServerArgs(
    ["--accounts-file=accounts.txt", "--account=dave@localhost:d", "--account", "erin@localhost:e"],
    io({ "accounts.txt": file }, {
      LIME_ACCOUNTS: "carol@localhost:c,1\n\ncarol2@localhost:c:2\n",
    }),
  );
  assert.equal(parsed.action, "run");
  assert.deepEqual(parsed.config.accounts, [
    { identity: "dave@localhost", password: "d" },
    { identity: "erin@localhost", password: "e" },
    { identity: "alice@localhost", password: "pa:ss,word with spaces  " },
    { identity: "bob@LOCALHOST", password: "#not a comment" },
    { identity: "carol@localhost", password: "c,1" },
    { identity: "carol2@localhost", password: "c:2" },
  ]);
  assert.equal(parsed.warnings.length, 1);
  assert.match(parsed.warnings[0], /^warning: --account .*ps.*--accounts-file or LIME_ACCOUNTS/);
  const quiet = await parseServerArgs([], io({}, { LIME_ACCOUNTS: "alice@localhost:a" }));
  assert.deepEqual(quiet.action === "run" && quiet.warnings, []);
});

Deno.test("parseServerArgs refuses a bad account entry by where it is, never by its password", async () => {
  const env = (text: string) => io({}, { LIME_ACCOUNTS: text });
  await refuses(["--account=alice@localhost"], /^--account #1: expected name@domain:password/);
  await refuses(
    [],
    /^LIME_ACCOUNTS line 2: expected name@domain:password/,
    env("a@localhost:x\ns3cret"),
  );
  await refuses(
    ["--account=a@localhost:x", "--account=al ice@localhost:s3cret"],
    /^--account #2: the part before the first colon is not a name@domain identity$/,
  );
  await refuses(["--account=alice:s3cret"], /is not a name@domain identity$/);
  await refuses(["--account=alice@localhost/phone:s3cret"], /is not a name@domain identity$/);
  await refuses(["--account=@localhost:s3cret"], /is not a name@domain identity$/);
  await refuses(
    [],
    /^LIME_ACCOUNTS line 1: bob@example.com is not in the served domain localhost$/,
    env("bob@example.com:s3cret"),
  );
  await refuses(
    ["--account=alice@localhost:"],
    /^--account #1: alice@localhost has an empty password$/,
  );
  await refuses(
    [`--account=alice@localhost:s3cret${"x".repeat(ACCOUNT_LIMITS.passwordChars)}`],
    /^--account #1: the password of alice@localhost is longer than 1024 characters$/,
  );
  await refuses(
    ["--account=alice@localhost:s3cret", "--accounts-file=f"],
    /^--accounts-file line 1: Alice@LocalHost is listed twice \(first at --account #1\)$/,
    io({ f: "Alice@LocalHost:s3cret" }),
  );
  await refuses(
    ["--accounts-file=f"],
    /^--accounts-file "f" is larger than 1048576 bytes$/,
    io({ f: `alice@localhost:${"s3cret".repeat(200_000)}` }),
  );
  await refuses(
    [],
    /^LIME_ACCOUNTS is larger than 1048576 bytes$/,
    env(`alice@localhost:${"s3cret".repeat(200_000)}`),
  );
  const many = Array.from({ length: ACCOUNT_LIMITS.count + 1 }, (_, i) => `u${i}@localhost:s3cret`);
  await refuses(
    ["--accounts-file=f"],
    /^too many accounts: 10001 given, at most 10000$/,
    io({ f: many.join("\n") }),
  );
  assert.equal(
    (await config(["--accounts-file=f"], io({ f: many.slice(1).join("\n") }))).accounts.length,
    10_000,
  );
});

Deno.test("accountLines and checkAccounts: comments, blank lines and CRLF are skipped", () => {
  const entries = accountLines("#x\r\n\r\n a@d:p \r\n", "F");
  assert.deepEqual(entries, [{ text: "a@d:p ", where: "F line 3" }]);
  assert.deepEqual(checkAccounts(entries, "D"), [{ identity: "a@d", password: "p " }]);
});

Deno.test("readTextFileBounded reads a file of the limit and refuses one byte more, /dev/zero and non-UTF-8", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lime-args-test-" });
  try {
    await Deno.writeTextFile(`${dir}/ok`, "a".repeat(1000));
    assert.equal((await readTextFileBounded(`${dir}/ok`, 1000)).length, 1000);
    await assert.rejects(readTextFileBounded(`${dir}/ok`, 999), {
      name: "RangeError",
      message: "is larger than 999 bytes",
    });
    if (Deno.build.os === "linux") {
      await assert.rejects(readTextFileBounded("/dev/zero", 4096), RangeError);
    }
    await Deno.writeFile(`${dir}/latin1`, new Uint8Array([0x61, 0xe9, 0x62]));
    await assert.rejects(readTextFileBounded(`${dir}/latin1`, 100), {
      message: "is not UTF-8 text",
    });
    await assert.rejects(readTextFileBounded(`${dir}/missing`, 100), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("seedAccounts creates new accounts, resets existing ones (document kept) and hashes at most `concurrency` at a time", async () => {
  const kv = await KvAccountStore.open(":memory:");
  try {
    await kv.createAccount({ identity: "alice@localhost", document: { fullName: "Alice" } });
    let inFlight = 0;
    let most = 0;
    const counting: AccountStore = {
      getAccount: async (identity) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        return await kv.getAccount(identity);
      },
      createAccount: (account) => kv.createAccount(account),
      updateAccount: (account) => kv.updateAccount(account),
      listContacts: () => assert.fail("not used"),
      getContact: () => assert.fail("not used"),
      putContact: () => assert.fail("not used"),
      deleteContact: () => assert.fail("not used"),
      close: () => kv.close(),
    };
    const accounts = Array.from({ length: 9 }, (_, i) => ({
      identity: i === 0 ? "alice@localhost" : `user${i}@localhost`,
      password: `password ${i}`,
    }));
    const counts = await seedAccounts(counting, accounts, { concurrency: 3, iterations: 1000 });
    assert.deepEqual(counts, { created: 8, updated: 1 });
    assert.equal(most, 3);
    const alice = await kv.getAccount("alice@localhost");
    assert.deepEqual(alice?.document, { fullName: "Alice" });
    assert.ok(await verifyPassword("password 0", alice!.passwordHash!));
    assert.ok(
      await verifyPassword("password 8", (await kv.getAccount("user8@localhost"))!.passwordHash!),
    );
  } finally {
    kv.close();
  }
});
