import { connectPair, negotiate } from "./tcp_helpers.ts";
import { type PairFactory, transportConformance } from "./transport_conformance.ts";
import { tlsFixture } from "./tls_fixture.ts";

function factory(modes: { tls?: boolean; gzip?: boolean }): PairFactory {
  return async ({ maxEnvelopeSize }) => {
    const f = await tlsFixture();
    const pair = await connectPair(
      { maxEnvelopeSize, tls: modes.tls ? { cert: f.server.cert, key: f.server.key } : undefined },
      { maxEnvelopeSize, tls: { caCerts: [f.ca] } },
    );
    if (modes.tls || modes.gzip) {
      await negotiate(pair, {
        encryption: modes.tls ? "tls" : "none",
        compression: modes.gzip ? "gzip" : "none",
      });
    }
    return {
      client: pair.client,
      server: pair.server,
      dispose: async () => await pair[Symbol.asyncDispose](),
    };
  };
}

transportConformance("TcpTransport", factory({}));
transportConformance("TcpTransport+TLS", factory({ tls: true }));
transportConformance("TcpTransport+gzip", factory({ gzip: true }));
transportConformance("TcpTransport+TLS+gzip", factory({ tls: true, gzip: true }));
