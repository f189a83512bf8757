/**
 * `examples/other_server.ts` against the scripted lime-go and lime-csharp servers of
 * `tests/peers/` (TCP with TLS required, and WebSocket with a password).
 */
import assert from "node:assert/strict";
import { limeCsharpProfile } from "./peers/lime_csharp.ts";
import { limeGoProfile } from "./peers/lime_go.ts";
import { ScriptedServer } from "./peers/scripted_server.ts";
import { ROOT, withTempDir } from "./test_utils.ts";
import { tlsFixture } from "./tls_fixture.ts";

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
