/**
 * What a peer writes comes back to it bounded: reasons quote at most a short prefix of a value
 * the peer sent, so an answer is never larger than what it answers (and never too large to be
 * sent at all), and values too long for the store are refused as such instead of failing in it.
 */
import assert from "node:assert/strict";
import { plainCredentials } from "../../mod.ts";
import { commandFailure, CONTACT, TestServer } from "../server_test_helpers.ts";
import { rawGuest } from "../../tools/attack/wire.ts";
import { RawPeer } from "./security_helpers.ts";

Deno.test("echo: a message to a 5 MB destination is answered with failed (42), not dropped", async () => {
  // Review finding: the `failed` notification quoted the destination in its reason besides
  // carrying it as `from`: twice the bytes, and past the envelope limit it was never sent.
  await using t = await TestServer.start();
  const peer = await rawGuest(t.server.tcpAddress!, "127.0.0.2", "big@localhost/b");
  try {
    const to = `${"a".repeat(5_000_000)}@localhost/x`;
    peer.write(JSON.stringify({ id: "m1", to, type: "text/plain", content: "x" }));
    const failed = await peer.next(10_000) as Record<string, unknown>;
    assert.equal(failed.event, "failed");
    assert.equal(failed.id, "m1");
    const reason = failed.reason as { code: number; description: string };
    assert.equal(reason.code, 42);
    assert.ok(reason.description.length < 200, `a reason of ${reason.description.length} chars`);
    // A command to a 5 MB resource path: a short failure.
    peer.write(JSON.stringify({ id: "c1", method: "get", uri: `/${"p".repeat(5_000_000)}` }));
    const response = await peer.next(10_000) as Record<string, unknown>;
    assert.equal((response.reason as { code: number }).code, 62);
    assert.ok(JSON.stringify(response).length < 500);
  } finally {
    await peer.close();
  }
});

Deno.test("echo: an identity too long for the store is refused as such, never an unexpected error", async () => {
  // Review finding: a 3,000-character name reached the store (Deno KV keys are 2 KiB at most):
  // an unauthenticated peer got "An unexpected server error occurred" (11) and the server
  // logged an error with its stack, for every such connection.
  await using t = await TestServer.start();
  const peer = await RawPeer.connect(t.server.tcpAddress!, "127.0.0.2");
  try {
    peer.write('{"state":"new"}');
    const offer = await peer.next() as Record<string, unknown>;
    peer.write(
      JSON.stringify({
        state: "negotiating",
        id: offer.id,
        compression: "none",
        encryption: "none",
      }),
    );
    await peer.next(); // confirmation
    await peer.next(); // scheme offer
    peer.write(JSON.stringify({
      state: "authenticating",
      id: offer.id,
      from: `${"n".repeat(3000)}@localhost/x`,
      scheme: "guest",
      authentication: {},
    }));
    const failed = await peer.next() as { state: string; reason: { code: number } };
    assert.equal(failed.state, "failed");
    assert.equal(failed.reason.code, 13);
  } finally {
    await peer.close();
  }
  // An owner's roster: a contact whose identity is too long is refused (64), not failed (61).
  await t.addAccount("alice@localhost", "pw");
  const alice = await t.login("alice@localhost/a", { credentials: plainCredentials("pw") });
  const long = `${"c".repeat(3000)}@localhost`;
  const reason = await commandFailure(
    alice.setResource("/contacts", CONTACT, { identity: long }),
  ) as { code: number };
  assert.equal(reason.code, 64);
  const missing = await commandFailure(alice.getResource(`/contacts/${long}`)) as { code: number };
  assert.equal(missing.code, 64);
});
