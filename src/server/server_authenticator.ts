/**
 * How the server authenticates (lime-protocol §3.6): guest (never for an identity that has an
 * account), plain and key against the salted hashes in the store (only over TLS, or from
 * loopback by default), transport by the TLS client certificate, external through a pluggable
 * verifier. Identities must be in the server's domain.
 * @module
 */
import { readExternal } from "../channel/authentication/external.ts";
import { readKey } from "../channel/authentication/key.ts";
import { readPlainPassword } from "../channel/authentication/plain.ts";
import type { AuthenticationResult, ServerAuthenticator } from "../channel/server_establishment.ts";
import type { AuthenticationScheme } from "../generated/enums.generated.ts";
import type { Transport } from "../transport/transport.ts";
import type { AccountStore } from "./account_store.ts";
import { verifyPassword } from "./password_hash.ts";
import type { ExternalTokenVerifier } from "./server_options.ts";

const REFUSED: AuthenticationResult = { domainRole: "unknown" };

/** Whether a `host:port` endpoint is on the loopback interface. */
export function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  const host = endpoint.startsWith("[")
    ? endpoint.slice(1, endpoint.indexOf("]"))
    : endpoint.slice(0, endpoint.lastIndexOf(":"));
  return host === "::1" || host.startsWith("127.") || host === "::ffff:127.0.0.1";
}

/** What the authenticator needs. */
export interface ServerAuthenticatorOptions {
  /** The served domain (lower case). */
  domain: string;
  /** Accounts. */
  store: AccountStore;
  /** Whether guests are accepted. */
  guest: boolean;
  /** Where plain and key may travel unencrypted. */
  plainWithoutTls: "loopback" | "anywhere" | "nowhere";
  /** The external token verifier. */
  externalVerifier?: ExternalTokenVerifier;
  /** Called with the scheme that succeeded (the server records guest sessions). */
  onAuthenticated?: (scheme: AuthenticationScheme) => void;
}

function secretAllowed(transport: Transport, rule: ServerAuthenticatorOptions["plainWithoutTls"]) {
  if (transport.encryption !== "none") return true;
  if (rule === "anywhere") return true;
  return rule === "loopback" && isLoopback(transport.remoteEndpoint);
}

/** The server's authenticator. */
export function serverAuthenticator(options: ServerAuthenticatorOptions): ServerAuthenticator {
  return async (identity, credentials, context) => {
    const domain = identity.slice(identity.indexOf("@") + 1).toLowerCase();
    if (domain !== options.domain) return REFUSED;
    const transport = context.channel.transport;
    let result: AuthenticationResult = REFUSED;
    switch (credentials.scheme) {
      case "guest":
        if (options.guest && !(await options.store.getAccount(identity))) {
          result = { domainRole: "member" };
        }
        break;
      case "plain":
      case "key": {
        if (!secretAllowed(transport, options.plainWithoutTls)) break;
        const secret = credentials.scheme === "plain"
          ? readPlainPassword(credentials.authentication)
          : readKey(credentials.authentication);
        const account = await options.store.getAccount(identity);
        const hash = credentials.scheme === "plain" ? account?.passwordHash : account?.keyHash;
        if (secret !== undefined && hash && await verifyPassword(secret, hash)) {
          result = { domainRole: "member" };
        }
        break;
      }
      case "transport":
        result = { domainRole: context.certificateRole };
        break;
      case "external": {
        const external = readExternal(credentials.authentication);
        if (external && options.externalVerifier) {
          result = {
            domainRole: await options.externalVerifier(external.token, external.issuer, identity),
          };
        }
        break;
      }
    }
    if (result.domainRole !== "unknown") options.onAuthenticated?.(credentials.scheme);
    return result;
  };
}
