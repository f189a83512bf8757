/**
 * The TLS peer's certificate as a {@link PeerCertificate}, with the chain of a client
 * certificate checked explicitly against the configured certificate authorities (the `authorized`
 * flag of `node:tls` is not reliable in Deno, lime-protocol §13).
 * @module
 */
import { X509Certificate } from "node:crypto";
import type tls from "node:tls";
import type { PeerCertificate } from "./transport.ts";

/** Longest chain (leaf, intermediates) accepted. */
const MAX_CHAIN = 8;

function oneLine(name: string): string {
  return name.split("\n").filter((part) => part !== "").join(", ");
}

function fieldValues(name: string, field: string): string[] {
  return name.split("\n").filter((part) => part.startsWith(`${field}=`)).map((part) =>
    part.slice(field.length + 1)
  );
}

function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName.split(", ").filter((entry) => entry.startsWith("DNS:")).map((entry) =>
    entry.slice(4)
  );
}

function validAt(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * Whether `leaf` chains up to one of `authorities`, through the intermediates the peer sent:
 * every link's signature and validity period is checked, intermediates must be CAs, and so must
 * the anchor unless it is the leaf itself (a pinned self-signed certificate).
 */
export function verifyChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  authorities: readonly X509Certificate[],
  now: number = Date.now(),
): boolean {
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (!validAt(current, now)) return false;
    for (const authority of authorities) {
      const pinned = authority.fingerprint256 === leaf.fingerprint256;
      if ((authority.ca || pinned) && validAt(authority, now) && issuedBy(current, authority)) {
        return true;
      }
    }
    const next = intermediates.find((candidate) =>
      candidate.ca && candidate.fingerprint256 !== current.fingerprint256 &&
      issuedBy(current, candidate)
    );
    if (!next) return false;
    current = next;
  }
  return false;
}

/** Parses PEM certificate authorities (a string may hold several certificates). */
export function parseAuthorities(pems: readonly string[] | undefined): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const pem of pems ?? []) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    for (const block of blocks ?? []) out.push(new X509Certificate(block));
  }
  return out;
}

/**
 * The certificate the peer of `socket` presented, or undefined when it sent none. `verified` is
 * `handshakeVerified` when given (the client side, where the handshake already validated the
 * server certificate), else the result of {@link verifyChain} against `authorities`.
 */
export function peerCertificateOf(
  socket: tls.TLSSocket,
  authorities: readonly X509Certificate[],
  handshakeVerified?: boolean,
): PeerCertificate | undefined {
  const detailed = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  if (!detailed?.raw?.length) return undefined;
  const leaf = new X509Certificate(detailed.raw);
  const intermediates: X509Certificate[] = [];
  let link = detailed.issuerCertificate;
  while (link?.raw?.length && intermediates.length < MAX_CHAIN) {
    const cert = new X509Certificate(link.raw);
    if (cert.fingerprint256 === (intermediates.at(-1) ?? leaf).fingerprint256) break;
    intermediates.push(cert);
    link = link.issuerCertificate;
  }
  return Object.freeze({
    commonNames: Object.freeze(fieldValues(leaf.subject, "CN")),
    dnsNames: Object.freeze(dnsNames(leaf.subjectAltName)),
    subject: oneLine(leaf.subject),
    issuer: oneLine(leaf.issuer),
    fingerprint256: leaf.fingerprint256,
    verified: handshakeVerified ?? verifyChain(leaf, intermediates, authorities),
  });
}
