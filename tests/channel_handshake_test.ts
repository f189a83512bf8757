/**
 * Full session handshakes between ClientChannel.establishSession and ServerChannel.establishSession
 * over memory pairs: the exact wire of lime-protocol §4.1 with and without negotiation, every
 * authentication scheme, a round trip, failures and the graceful end. TCP (TLS, gzip) and
 * WebSocket handshakes are in channel_handshake_tcp_test.ts and channel_handshake_ws_test.ts.
 */
import assert from "node:assert/strict";
import { LimeError } from "../src/errors.ts";
import type { SessionCompression, SessionEncryption } from "../src/generated/enums.generated.ts";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { ServerChannel } from "../src/channel/server_channel.ts";
import type { Credentials } from "../src/channel/authentication/credentials.ts";
import { externalCredentials, readExternal } from "../src/channel/authentication/external.ts";
import { guestCredentials } from "../src/channel/authentication/guest.ts";
import { keyCredentials, readKey } from "../src/channel/authentication/key.ts";
import { plainCredentials, readPlainPassword } from "../src/channel/authentication/plain.ts";
import { transportCredentials } from "../src/channel/authentication/transport.ts";
import type { AuthenticationContext } from "../src/channel/server_establishment.ts";
import {
  assertBothFinished,
  assertEstablished,
  assertFinish,
  assertTraffic,
  assertWire,
  handshake,
  memoryLink,
  recordWire,
  SERVER_NODE,
  SESSION_ID,
} from "./channel_handshake_helpers.ts";
import { within } from "./tcp_helpers.ts";

const BOTH = { compression: ["none", "gzip"], encryption: ["none", "tls"] } as const;
const S = `"id":"${SESSION_ID}","from":"${SERVER_NODE}"`;
const C = `"id":"${SESSION_ID}"`;

Deno.test("ClientChannel.establishSession negotiates, authenticates and finishes with the wire of lime-protocol §4.1", async () => {
  await using link = memoryLink(BOTH);
  const wire = recordWire(link);
  await using h = await handshake(link, {
    client: {
      identity: "gale@breakingbad.com",
      instance: "lab",
      credentials: plainCredentials("iloveuww"),
    },
    server: {
      schemeOptions: ["guest", "plain"],
      authenticator: (_identity, credentials) => ({
        domainRole: readPlainPassword(credentials.authentication) === "iloveuww"
          ? "member"
          : "unknown",
      }),
    },
  });
  assertEstablished(h, "gale@breakingbad.com/lab");
  assert.equal(link.client.encryption, "tls");
  assert.equal(link.server.encryption, "tls");
  assert.equal(link.client.compression, "none");
  assert.equal(link.server.compression, "none");
  await assertFinish(h);
  assertWire(wire, [
    `C→S {"state":"new"}`,
    `S→C {${S},"state":"negotiating","encryptionOptions":["none","tls"],"compressionOptions":["none","gzip"]}`,
    `C→S {${C},"state":"negotiating","encryption":"tls","compression":"none"}`,
    `S→C {${S},"state":"negotiating","encryption":"tls","compression":"none"}`,
    `S→C {${S},"state":"authenticating","schemeOptions":["guest","plain"]}`,
    `C→S {${C},"from":"gale@breakingbad.com/lab","state":"authenticating","scheme":"plain","authentication":{"password":"aWxvdmV1d3c="}}`,
    `S→C {${S},"to":"gale@breakingbad.com/lab","state":"established"}`,
    `C→S {${C},"state":"finishing"}`,
    `S→C {${S},"to":"gale@breakingbad.com/lab","state":"finished"}`,
  ]);
});

Deno.test("ServerChannel.establishSession with a single option for both skips straight to authenticating", async () => {
  await using link = memoryLink(BOTH);
  const wire = recordWire(link);
  await using h = await handshake(link, {
    client: { identity: "alice@localhost", instance: "home" },
    server: { compressionOptions: ["none"], encryptionOptions: ["none"] },
  });
  assertEstablished(h, "alice@localhost/home");
  assert.equal(link.client.encryption, "none");
  assert.equal(link.client.compression, "none");
  await assertTraffic(h);
  await assertFinish(h);
  assert.equal(wire.length, 10, "two messages, a command and its response between the ends");
  assertWire([...wire.slice(0, 4), ...wire.slice(-2)], [
    `C→S {"state":"new"}`,
    `S→C {${S},"state":"authenticating","schemeOptions":["guest"]}`,
    `C→S {${C},"from":"alice@localhost/home","state":"authenticating","scheme":"guest","authentication":{}}`,
    `S→C {${S},"to":"alice@localhost/home","state":"established"}`,
    `C→S {${C},"state":"finishing"}`,
    `S→C {${S},"to":"alice@localhost/home","state":"finished"}`,
  ]);
});

/** Every combination a server offering both options can agree on, chosen by the client. */
const NEGOTIATIONS: { compression: SessionCompression; encryption: SessionEncryption }[] = [
  { compression: "none", encryption: "none" },
  { compression: "gzip", encryption: "none" },
  { compression: "none", encryption: "tls" },
  { compression: "gzip", encryption: "tls" },
];

for (const { compression, encryption } of NEGOTIATIONS) {
  Deno.test(`ClientChannel.establishSession negotiates ${compression}/${encryption} over memory and switches both transports`, async () => {
    await using link = memoryLink(BOTH);
    const wire = recordWire(link);
    const offered: string[][] = [];
    await using h = await handshake(link, {
      client: {
        identity: "alice@localhost",
        compression: (options) => (offered.push([...options]), compression),
        encryption: (options) => (offered.push([...options]), encryption),
      },
    });
    assertEstablished(h, "alice@localhost/default");
    assert.deepEqual(offered, [["none", "gzip"], ["none", "tls"]]);
    for (const transport of [link.client, link.server]) {
      assert.equal(transport.compression, compression);
      assert.equal(transport.encryption, encryption);
    }
    assertWire(wire.slice(2, 4), [
      `C→S {${C},"state":"negotiating","encryption":"${encryption}","compression":"${compression}"}`,
      `S→C {${S},"state":"negotiating","encryption":"${encryption}","compression":"${compression}"}`,
    ]);
    await assertTraffic(h);
    await assertFinish(h);
  });
}

Deno.test("ServerChannel.establishSession fails a choice it did not offer with 17", async () => {
  await using link = memoryLink(BOTH);
  await using h = await handshake(link, {
    client: { identity: "alice@localhost", compression: "gzip" },
    server: { compressionOptions: ["none"], encryptionOptions: ["none", "tls"] },
  });
  const reason = { code: 17, description: "An invalid negotiation option was selected" };
  assert.ok(h.clientError instanceof LimeError);
  assert.deepEqual(h.clientError.reason, reason);
  assert.deepEqual(h.result, {
    established: false,
    reason,
    cause: "an option that was not offered was chosen",
  });
  assert.deepEqual(await within(h.client.closed), { state: "failed", reason });
  assert.deepEqual(await within(h.server.closed), { state: "failed", reason });
  assert.equal(link.client.compression, "none", "nothing switched");
});

interface SchemeCase {
  name: string;
  credentials: Credentials;
  /** The `authentication` object on the wire. */
  wire: string;
  /** What the server's authenticator reads from the credentials. */
  read: (authentication: unknown) => unknown;
  expected: unknown;
  /** The role granted, or the failure code. */
  outcome: "member" | 13;
}

const SCHEMES: SchemeCase[] = [
  {
    name: "guest",
    credentials: guestCredentials(),
    wire: `{}`,
    read: (authentication) => authentication,
    expected: {},
    outcome: "member",
  },
  {
    name: "plain",
    credentials: plainCredentials("iloveuww"),
    wire: `{"password":"aWxvdmV1d3c="}`,
    read: readPlainPassword,
    expected: "iloveuww",
    outcome: "member",
  },
  {
    name: "plain (non-ASCII)",
    credentials: plainCredentials("pässwörd ✓ 🔑"),
    wire: `{"password":"cMOkc3N3w7ZyZCDinJMg8J+UkQ=="}`,
    read: readPlainPassword,
    expected: "pässwörd ✓ 🔑",
    outcome: "member",
  },
  {
    name: "key",
    credentials: keyCredentials("k3y-ßecret/😀"),
    wire: `{"key":"azN5LcOfZWNyZXQv8J+YgA=="}`,
    read: readKey,
    expected: "k3y-ßecret/😀",
    outcome: "member",
  },
  {
    name: "external",
    credentials: externalCredentials("eyJhbGciOiJIUzI1NiJ9.e30.sig", "auth.example.org"),
    wire: `{"token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","issuer":"auth.example.org"}`,
    read: readExternal,
    expected: { token: "eyJhbGciOiJIUzI1NiJ9.e30.sig", issuer: "auth.example.org" },
    outcome: "member",
  },
  {
    name: "transport (no TLS, so no certificate)",
    credentials: transportCredentials(),
    wire: `{}`,
    read: (authentication) => authentication,
    expected: {},
    outcome: 13,
  },
];

for (const c of SCHEMES) {
  Deno.test(`ClientChannel.establishSession authenticates with the ${c.name} scheme`, async () => {
    await using link = memoryLink();
    const wire = recordWire(link);
    const seen: [string, unknown, AuthenticationContext["certificateRole"]][] = [];
    const channels: unknown[] = [];
    await using h = await handshake(link, {
      client: { identity: "alice@localhost", credentials: c.credentials },
      server: {
        schemeOptions: ["guest", "plain", "key", "external", "transport"],
        authenticator: (identity, credentials, context) => {
          seen.push([identity, c.read(credentials.authentication), context.certificateRole]);
          channels.push(context.channel);
          return {
            domainRole: credentials.scheme === "transport" ? context.certificateRole : "member",
          };
        },
      },
    });
    assert.deepEqual(seen, [["alice@localhost", c.expected, "unknown"]]);
    assert.deepEqual(channels, [h.server]);
    assertWire(wire.slice(2, 3), [
      `C→S {${C},"from":"alice@localhost/default","state":"authenticating","scheme":"${c.credentials.scheme}","authentication":${c.wire}}`,
    ]);
    if (c.outcome === "member") {
      assertEstablished(h, "alice@localhost/default");
      await assertFinish(h);
    } else {
      assert.ok(h.clientError instanceof LimeError);
      assert.equal(h.clientError.code, c.outcome);
      assert.equal(h.result.established, false);
    }
  });
}

Deno.test("ClientChannel.establishSession answers an authentication round trip through its authenticator", async () => {
  await using link = memoryLink();
  const wire = recordWire(link);
  const clientCalls: unknown[] = [];
  const serverCalls: unknown[] = [];
  // The round trip's data must have the scheme's shape (the codec checks it): a plain challenge.
  const challenge = plainCredentials("challenge n-1").authentication;
  await using h = await handshake(link, {
    client: {
      identity: "alice@localhost",
      authenticator: (schemeOptions, roundTrip) => {
        clientCalls.push([schemeOptions, roundTrip]);
        return plainCredentials(roundTrip ? `answer to ${readPlainPassword(roundTrip)}` : "first");
      },
    },
    server: {
      schemeOptions: ["plain"],
      authenticator: (_identity, credentials) => {
        const password = readPlainPassword(credentials.authentication);
        serverCalls.push(password);
        return password === "first"
          ? { domainRole: "unknown", roundTrip: challenge }
          : { domainRole: password === "answer to challenge n-1" ? "member" : "unknown" };
      },
    },
  });
  assertEstablished(h, "alice@localhost/default");
  assert.deepEqual(clientCalls, [[["plain"], undefined], [["plain"], challenge]]);
  assert.deepEqual(serverCalls, ["first", "answer to challenge n-1"]);
  assertWire(wire, [
    `C→S {"state":"new"}`,
    `S→C {${S},"state":"authenticating","schemeOptions":["plain"]}`,
    `C→S {${C},"from":"alice@localhost/default","state":"authenticating","scheme":"plain","authentication":{"password":"${
      btoa("first")
    }"}}`,
    `S→C {${S},"state":"authenticating","scheme":"plain","authentication":{"password":"${
      btoa("challenge n-1")
    }"}}`,
    `C→S {${C},"from":"alice@localhost/default","state":"authenticating","scheme":"plain","authentication":{"password":"${
      btoa("answer to challenge n-1")
    }"}}`,
    `S→C {${S},"to":"alice@localhost/default","state":"established"}`,
  ]);
  await assertFinish(h);
});

Deno.test("ClientChannel.establishSession rejects with the server's reason and closes the transport", async () => {
  await using link = memoryLink();
  const wire = recordWire(link);
  const client = new ClientChannel(link.client);
  const server = new ServerChannel(link.server, { serverNode: SERVER_NODE, sessionId: SESSION_ID });
  try {
    const serverSide = server.establishSession({ schemeOptions: ["plain"] });
    await assert.rejects(
      within(
        client.establishSession({
          identity: "alice@localhost",
          credentials: plainCredentials("wrong"),
        }),
      ),
      (error: unknown) =>
        error instanceof LimeError &&
        error.code === 13 &&
        error.message === "The session authentication failed (Code 13)",
    );
    const reason = { code: 13, description: "The session authentication failed" };
    assert.deepEqual(await within(serverSide), { established: false, reason });
    assert.equal(link.client.isConnected, false);
    assert.equal((await within(link.client.closed)).error, undefined);
    assert.deepEqual(await within(client.closed), { state: "failed", reason });
    assert.deepEqual(await within(server.closed), { state: "failed", reason });
    assertWire(wire.slice(3), [`S→C {${S},"state":"failed","reason":${JSON.stringify(reason)}}`]);
  } finally {
    await Promise.allSettled([client.close(), server.close()]);
  }
});

Deno.test("ClientChannel await using finishes the established session", async () => {
  await using link = memoryLink();
  const wire = recordWire(link);
  const server = new ServerChannel(link.server, { serverNode: SERVER_NODE, sessionId: SESSION_ID });
  try {
    let client: ClientChannel;
    {
      await using c = new ClientChannel(link.client);
      client = c;
      await within(
        Promise.all([
          c.establishSession({ identity: "alice@localhost" }),
          server.establishSession(),
        ]),
      );
      assert.equal(c.state, "established");
    }
    await assertBothFinished(client, server);
    assertWire(wire.slice(-2), [
      `C→S {${C},"state":"finishing"}`,
      `S→C {${S},"to":"alice@localhost/default","state":"finished"}`,
    ]);
  } finally {
    await server.close();
  }
});
