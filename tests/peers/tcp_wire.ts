/**
 * A scripted server's TCP connection (`node:net`), with the in-session TLS switch through
 * `node:tls` (lime-protocol §13): the raw socket stops being read as soon as the switch is asked
 * for, so nothing of the client's TLS hello is taken for JSON.
 * @module
 */
import type net from "node:net";
import tls from "node:tls";
import { JsonSplitter } from "./json_splitter.ts";
import type { WireFormat } from "./profile.ts";
import { Inbox, type Wire } from "./wire.ts";

/** The certificate a scripted server presents when a client switches to TLS. */
export interface ServerCertificate {
  /** PEM certificate (chain). */
  cert: string;
  /** PEM private key. */
  key: string;
  /** CA certificates to check client certificates against. */
  ca?: string[];
}

/** Wraps an accepted socket that writes envelopes in `format`. */
export function tcpWire(
  socket: net.Socket,
  format: WireFormat,
  certificate: ServerCertificate | undefined,
): Wire {
  const inbox = new Inbox();
  const splitter = new JsonSplitter();
  const closed = Promise.withResolvers<void>();
  let stream: net.Socket | tls.TLSSocket = socket;
  let late = "";
  let secure = false;
  let peerCommonName: string | undefined;
  const onData = (chunk: Uint8Array) => {
    for (const envelope of splitter.push(chunk)) inbox.put(envelope);
  };
  socket.setNoDelay(true);
  socket.on("data", onData);
  socket.on("error", () => {});
  socket.on("close", () => {
    inbox.end();
    closed.resolve();
  });
  return {
    kind: "tcp",
    get secure() {
      return secure;
    },
    tlsAvailable: certificate !== undefined,
    get peerCommonName() {
      return peerCommonName;
    },
    receive: () => inbox.take(),
    send(envelope, options = {}) {
      if (stream.destroyed) return;
      const text = format.encode(envelope);
      if (options.lateSeparator) {
        stream.write(text);
        late = format.separator;
      } else stream.write(text + format.separator);
    },
    async startTls({ requestCert }) {
      if (!certificate) throw new Error("This scripted server has no certificate");
      socket.off("data", onData);
      socket.pause();
      if (late) {
        // The separator of the confirmation in a segment of its own, before the handshake.
        await new Promise((resolve) => setTimeout(resolve, 20));
        socket.write(late);
        late = "";
      }
      const secured = new tls.TLSSocket(socket, {
        isServer: true,
        cert: certificate.cert,
        key: certificate.key,
        ca: certificate.ca,
        requestCert,
        rejectUnauthorized: false,
      });
      secured.on("error", () => socket.destroy());
      await new Promise<void>((resolve, reject) => {
        secured.once("secure", resolve);
        socket.once("close", () => reject(new Error("closed during the TLS handshake")));
      });
      stream = secured;
      secure = true;
      const subject = secured.getPeerCertificate()?.subject as { CN?: string } | undefined;
      peerCommonName = subject?.CN;
      secured.on("data", onData);
    },
    close() {
      stream.end(() => socket.destroy());
    },
    closed: closed.promise,
  };
}
