/**
 * Full session handshakes between ClientChannel and ServerChannel over real TCP on 127.0.0.1:
 * every compression/encryption combination a TLS listener offers (TLS and gzip switched right
 * after the confirmation), and the `transport` scheme with TLS client certificates.
 */
import assert from "node:assert/strict";
import { LimeError } from "../src/errors.ts";
import type { SessionCompression, SessionEncryption } from "../src/generated/enums.generated.ts";
import {
  certificateDomainRole,
  transportCredentials,
} from "../src/channel/authentication/transport.ts";
import type { DomainRole } from "../src/channel/authentication/credentials.ts";
import type { CertAndKey } from "./tls_fixture.ts";
import { tlsFixture } from "./tls_fixture.ts";
import {
  assertEstablished,
  assertFinish,
  assertTraffic,
  assertWire,
  handshake,
  recordWire,
  SERVER_NODE,
  SESSION_ID,
  tcpLink,
  tcpListener,
} from "./channel_handshake_helpers.ts";
import { within } from "./tcp_helpers.ts";

const S = `"id":"${SESSION_ID}","from":"${SERVER_NODE}"`;
const C = `"id":"${SESSION_ID}"`;

const MODES: { compression: SessionCompression; encryption: SessionEncryption }[] = [
  { compression: "none", encryption: "none" },
  { compression: "none", encryption: "tls" },
  { compression: "gzip", encryption: "none" },
  { compression: "gzip", encryption: "tls" },
];

for (const { compression, encryption } of MODES) {
  Deno.test(`ClientChannel.establishSession over TCP negotiates ${compression}/${encryption} and then carries traffic`, async () => {
    const f = await tlsFixture();
    const listener = await tcpListener({ tls: { cert: f.server.cert, key: f.server.key } });
    try {
      await using link = await tcpLink(listener, { tls: { caCerts: [f.ca] } }, true);
      const wire = recordWire(link);
      await using h = await handshake(link, {
        client: { identity: "alice@localhost", instance: "tcp", compression, encryption },
      });
      assertEstablished(h, "alice@localhost/tcp");
      for (const transport of [link.client, link.server]) {
        assert.equal(transport.compression, compression);
        assert.equal(transport.encryption, encryption);
      }
      if (encryption === "tls") {
        assert.deepEqual(link.client.peerCertificate?.commonNames, ["localhost"]);
        assert.equal(link.client.peerCertificate?.verified, true);
      }
      assertWire(wire, [
        `C→S {"state":"new"}`,
        `S→C {${S},"state":"negotiating","encryptionOptions":["none","tls"],"compressionOptions":["none","gzip"]}`,
        `C→S {${C},"state":"negotiating","encryption":"${encryption}","compression":"${compression}"}`,
        `S→C {${S},"state":"negotiating","encryption":"${encryption}","compression":"${compression}"}`,
        `S→C {${S},"state":"authenticating","schemeOptions":["guest"]}`,
        `C→S {${C},"from":"alice@localhost/tcp","state":"authenticating","scheme":"guest","authentication":{}}`,
        `S→C {${S},"to":"alice@localhost/tcp","state":"established"}`,
      ]);
      await assertTraffic(h);
      await assertFinish(h);
      // What crossed the socket: the confirmation in clear text, the rest switched.
      const decoder = new TextDecoder();
      const fromServer = decoder.decode(link.proxy!.serverBytes());
      const fromClient = decoder.decode(link.proxy!.clientBytes());
      const clear = compression === "none" && encryption === "none";
      assert.ok(fromServer.includes(`"compression":"${compression}"`), "the confirmation is clear");
      assert.equal(fromServer.includes(`"schemeOptions":["guest"]`), clear);
      assert.equal(fromServer.includes("hello ünïcödé client"), clear);
      assert.equal(fromClient.includes(`"/account"`), clear);
    } finally {
      await listener.close({ closeTransports: true });
    }
  });
}

interface CertificateCase {
  /** Which client certificate the fixture gives, if any. */
  certificate?: "client" | "chainClient" | "otherClient";
  identity: string;
  role: DomainRole;
  why: string;
}

/**
 * The fixture's client leaf has CN alice@localhost and SAN DNS alice.localhost: with a SAN, only
 * the SAN counts, so it makes anyone @alice.localhost an authority and nobody a member. The chain
 * leaf (CN bob@localhost, no SAN, through an intermediate) makes bob@localhost a member; the leaf
 * of the other authority is not verified.
 */
const CERTIFICATES: CertificateCase[] = [
  {
    certificate: "client",
    identity: "alice@alice.localhost",
    role: "authority",
    why: "SAN alice.localhost is the domain",
  },
  {
    certificate: "client",
    identity: "alice@localhost",
    role: "unknown",
    why: "the CN is ignored when a SAN exists",
  },
  {
    certificate: "chainClient",
    identity: "bob@localhost",
    role: "member",
    why: "the CN is the identity",
  },
  {
    certificate: "otherClient",
    identity: "mallory@localhost",
    role: "unknown",
    why: "an unknown issuer",
  },
  { identity: "alice@localhost", role: "unknown", why: "no client certificate" },
];

for (const c of CERTIFICATES) {
  Deno.test(`ServerChannel.establishSession gives the transport scheme the certificate role: ${c.identity} is ${c.role} (${c.why})`, async () => {
    const f = await tlsFixture();
    const listener = await tcpListener({
      tls: { cert: f.server.cert, key: f.server.key, caCerts: [f.ca] },
    });
    try {
      const certificate: CertAndKey | undefined = c.certificate ? f[c.certificate] : undefined;
      await using link = await tcpLink(listener, { tls: { caCerts: [f.ca], ...certificate } });
      const seen: unknown[] = [];
      await using h = await handshake(link, {
        client: { identity: c.identity, credentials: transportCredentials() },
        server: {
          schemeOptions: ["transport"],
          authenticator: (identity, credentials, context) => {
            seen.push([identity, credentials, context.certificateRole]);
            return { domainRole: context.certificateRole };
          },
        },
      });
      assert.deepEqual(seen, [[c.identity, transportCredentials(), c.role]]);
      assert.equal(link.server.encryption, "tls");
      assert.equal(certificateDomainRole(link.server.peerCertificate, c.identity), c.role);
      assert.equal(link.server.peerCertificate === undefined, certificate === undefined);
      if (c.role === "unknown") {
        assert.ok(h.clientError instanceof LimeError, String(h.clientError));
        assert.equal(h.clientError.code, 13);
        assert.equal(h.result.established, false);
        const reason = { code: 13, description: "The session authentication failed" };
        assert.deepEqual(await within(h.client.closed), { state: "failed", reason });
        assert.deepEqual(await within(h.server.closed), { state: "failed", reason });
        assert.equal(link.client.isConnected, false);
      } else {
        assertEstablished(h, `${c.identity}/default`, c.role);
        await assertFinish(h);
      }
    } finally {
      await listener.close({ closeTransports: true });
    }
  });
}
