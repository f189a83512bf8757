/**
 * A full session handshake between ClientChannel and ServerChannel over a WebSocket on
 * 127.0.0.1: the transport supports only none/none, so the server skips the negotiation.
 */
import assert from "node:assert/strict";
import { plainCredentials, readPlainPassword } from "../src/channel/authentication/plain.ts";
import {
  assertEstablished,
  assertFinish,
  assertTraffic,
  assertWire,
  handshake,
  recordWire,
  SERVER_NODE,
  SESSION_ID,
  webSocketLink,
  webSocketListener,
} from "./channel_handshake_helpers.ts";

const S = `"id":"${SESSION_ID}","from":"${SERVER_NODE}"`;
const C = `"id":"${SESSION_ID}"`;

Deno.test("ClientChannel.establishSession over WebSocket goes from new straight to authenticating", async () => {
  const listener = await webSocketListener();
  try {
    await using link = await webSocketLink(listener);
    assert.deepEqual(link.server.supportedCompression(), ["none"]);
    assert.deepEqual(link.server.supportedEncryption(), ["none"]);
    const wire = recordWire(link);
    const selectorCalls: unknown[] = [];
    await using h = await handshake(link, {
      client: {
        identity: "alice@localhost",
        instance: "browser",
        credentials: plainCredentials("iloveuww"),
        compression: (offered) => (selectorCalls.push(offered), "gzip"),
        encryption: (offered) => (selectorCalls.push(offered), "tls"),
      },
      server: {
        schemeOptions: ["guest", "plain"],
        // Offered to a transport that cannot switch: kept out of the session.
        compressionOptions: ["none", "gzip"],
        encryptionOptions: ["none", "tls"],
        authenticator: (_identity, credentials) => ({
          domainRole: readPlainPassword(credentials.authentication) === "iloveuww"
            ? "member"
            : "unknown",
        }),
      },
    });
    assertEstablished(h, "alice@localhost/browser");
    assert.deepEqual(selectorCalls, [], "no negotiation");
    for (const transport of [link.client, link.server]) {
      assert.equal(transport.compression, "none");
      assert.equal(transport.encryption, "none");
    }
    await assertTraffic(h);
    await assertFinish(h);
    assert.equal(wire.length, 10, "two messages, a command and its response between the ends");
    assertWire([...wire.slice(0, 4), ...wire.slice(-2)], [
      `C→S {"state":"new"}`,
      `S→C {${S},"state":"authenticating","schemeOptions":["guest","plain"]}`,
      `C→S {${C},"from":"alice@localhost/browser","state":"authenticating","scheme":"plain","authentication":{"password":"aWxvdmV1d3c="}}`,
      `S→C {${S},"to":"alice@localhost/browser","state":"established"}`,
      `C→S {${C},"state":"finishing"}`,
      `S→C {${S},"to":"alice@localhost/browser","state":"finished"}`,
    ]);
  } finally {
    await listener.close({ closeTransports: true });
  }
});
