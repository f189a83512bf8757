/**
 * The `transport` scheme: the transport authenticates the client (on TCP, the TLS client
 * certificate presented after negotiating `tls`), and the server maps the certificate to a
 * domain role for the claimed identity (lime-protocol §3.6).
 * @module
 */
import type { PeerCertificate } from "../../transport/transport.ts";
import type { Credentials, DomainRole } from "./credentials.ts";

/** Transport credentials: `{"scheme":"transport","authentication":{}}`. */
export function transportCredentials(): Credentials {
  return { scheme: "transport", authentication: {} };
}

/**
 * The role a verified certificate gives `identity` (`name@domain`), as lime-csharp maps it: the
 * certificate's names are its DNS subject alternative names when it has any, else its subject
 * common names; a name equal to `*.{domain}` makes the identity a root authority; a name equal to
 * `{domain}` or to `*.{domain without its first label}` makes it an authority; a name equal to
 * the identity itself makes it a member; anything else (or an unverified certificate) is unknown.
 */
export function certificateDomainRole(
  certificate: PeerCertificate | undefined,
  identity: string,
): DomainRole {
  if (!certificate || !certificate.verified) return "unknown";
  const at = identity.indexOf("@");
  if (at < 0) return "unknown";
  const domain = identity.slice(at + 1).toLowerCase();
  const names = (certificate.dnsNames.length > 0 ? certificate.dnsNames : certificate.commonNames)
    .map((name) => name.toLowerCase());
  if (names.includes(`*.${domain}`)) return "rootAuthority";
  const dot = domain.indexOf(".");
  const parent = dot >= 0 ? domain.slice(dot + 1) : undefined;
  if (names.includes(domain) || (parent && names.includes(`*.${parent}`))) return "authority";
  if (names.includes(identity.toLowerCase())) return "member";
  return "unknown";
}
