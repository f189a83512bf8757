/**
 * How the server authenticates (lime-protocol §3.6), always about the identity of the node the
 * session will get (assigned before authentication): reserved identities are refused for every
 * scheme; guest only for an identity with no account (read after registration:
 * {@link guestRefusal}; the registry rules add: and no live session authenticated by something
 * stronger); plain and key against the salted hashes in the store,
 * only where a secret may travel (over TLS, or from loopback by default), inside the hashing
 * bound and the login throttle; transport by the TLS client certificate; external through a
 * pluggable verifier (throttled like secrets). Identities must be in the server's domain.
 * @module
 */
import { readExternal } from "../channel/authentication/external.ts";
import { readKey } from "../channel/authentication/key.ts";
import { readPlainPassword } from "../channel/authentication/plain.ts";
import type { Credentials } from "../channel/authentication/credentials.ts";
import type { Reason } from "../errors.ts";
import type {
  AuthenticationContext,
  AuthenticationResult,
  ServerAuthenticator,
} from "../channel/server_establishment.ts";
import type { ServerChannel } from "../channel/server_channel.ts";
import type { AuthenticationScheme } from "../generated/enums.generated.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import type { Transport } from "../transport/transport.ts";
import type { AccountStore } from "./account_store.ts";
import type { SignInThrottle } from "./guard/login_throttle.ts";
import { type PasswordWork, PasswordWorkBusy } from "./guard/password_work.ts";
import { IDENTITY_REASONS, type IdentityRules } from "./identity_rules.ts";
import { verifyPassword } from "./password_hash.ts";
import type { ExternalTokenVerifier, LimeServerOptions } from "./server_options.ts";
import { endpointHost, isLoopbackHost } from "./source_address.ts";

/** A refusal with reason 13 and the server-side `cause` (logged, never sent). */
function refused(cause: string): AuthenticationResult {
  return { domainRole: "unknown", cause };
}

/** Whether a `host:port` endpoint is on the loopback interface. */
export function isLoopback(endpoint: string | undefined): boolean {
  return isLoopbackHost(endpointHost(endpoint));
}

/** Where `plain` and `key` may travel without TLS. */
export type SecretsWithoutTls = "loopback" | "anywhere" | "nowhere";

/** What the authenticator needs. */
export interface ServerAuthenticatorOptions {
  /** The served domain (lower case). */
  domain: string;
  /** Accounts. */
  store: AccountStore;
  /** Who may be whom. */
  rules: IdentityRules;
  /** Whether guests are accepted. */
  guest: boolean;
  /** Where plain and key may travel unencrypted. */
  plainWithoutTls: SecretsWithoutTls;
  /** The external token verifier. */
  externalVerifier?: ExternalTokenVerifier;
  /** Failed sign-ins and their delays. */
  throttle: SignInThrottle;
  /** The bound on password hashing. */
  passwordWork: PasswordWork;
  /** The source address (per-address key) of a channel. */
  sourceOf: (channel: ServerChannel) => string | undefined;
}

/** Whether a secret (a password, a key) may be sent and accepted over this transport. */
export function secretsAllowed(transport: Transport, rule: SecretsWithoutTls): boolean {
  if (transport.encryption !== "none") return true;
  if (rule === "anywhere") return true;
  return rule === "loopback" && isLoopback(transport.remoteEndpoint);
}

/** The schemes offered on a channel, when its authentication starts (after any TLS switch). */
export function offeredSchemes(
  options: Pick<
    LimeServerOptions,
    "guest" | "plainWithoutTls" | "tcp" | "externalVerifier"
  >,
  transport: Transport,
): AuthenticationScheme[] {
  const schemes: AuthenticationScheme[] = [];
  if (options.guest ?? true) schemes.push("guest");
  // Secrets only where they would be accepted: none crosses the wire to be refused afterwards.
  if (secretsAllowed(transport, options.plainWithoutTls ?? "loopback")) {
    schemes.push("plain", "key");
  }
  // A client certificate exists only over TLS, and means something only with CAs to check it.
  const authorities = options.tcp ? options.tcp.tls?.caCerts ?? [] : [];
  if (authorities.length > 0 && transport.peerCertificate !== undefined) {
    schemes.push("transport");
  }
  if (options.externalVerifier) schemes.push("external");
  return schemes;
}

const BUSY: AuthenticationResult = {
  domainRole: "unknown",
  reason: { code: ReasonCode.SESSION_ERROR, description: new PasswordWorkBusy().message },
  cause: "password hashing at its limit",
};

/** The server's authenticator. */
export function serverAuthenticator(options: ServerAuthenticatorOptions): ServerAuthenticator {
  const throttled = new Set<AuthenticationScheme>(["plain", "key", "external"]);
  return async (identity, credentials, context) => {
    const domain = identity.slice(identity.indexOf("@") + 1).toLowerCase();
    if (domain !== options.domain) return refused("an identity of another domain");
    if (options.rules.isReserved(identity)) {
      return {
        domainRole: "unknown",
        reason: IDENTITY_REASONS.reserved(identity),
        cause: "a reserved identity",
      };
    }
    const channel = context.channel;
    const source = options.sourceOf(channel);
    const scheme = credentials.scheme;
    if (throttled.has(scheme)) {
      let wait = options.throttle.check(identity, source);
      if (wait instanceof Promise) wait = await wait;
      if (wait) return { domainRole: "unknown", reason: wait, cause: "throttled" };
    }
    // A checked attempt is settled on every path: failed, succeeded, or abandoned (busy, error).
    let verdict: boolean | undefined;
    try {
      const result = await judge(identity, credentials, context, scheme);
      if (result !== BUSY) verdict = result.domainRole !== "unknown";
      return result;
    } finally {
      if (throttled.has(scheme)) {
        if (verdict === undefined) options.throttle.abandoned(identity, source);
        else if (verdict) options.throttle.succeeded(identity, source);
        else options.throttle.failed(identity, source);
      }
    }
  };

  async function judge(
    identity: string,
    credentials: Credentials,
    context: AuthenticationContext,
    scheme: AuthenticationScheme,
  ): Promise<AuthenticationResult> {
    const channel = context.channel;
    let result: AuthenticationResult = refused(`${scheme} is not accepted`);
    switch (scheme) {
      case "guest":
        if (!options.guest) return refused("guests are refused");
        // Whether the identity has an account is read once the guest is registered (see
        // `guestRefusal`), before `established`.
        result = { domainRole: "member" };
        break;
      case "plain":
      case "key": {
        if (!secretsAllowed(channel.transport, options.plainWithoutTls)) {
          return refused(`${scheme} is not offered over cleartext`);
        }
        const secret = scheme === "plain"
          ? readPlainPassword(credentials.authentication)
          : readKey(credentials.authentication);
        if (secret === undefined) return refused(`malformed ${scheme} credentials`);
        const account = await options.store.getAccount(identity);
        if (!account) return refused("unknown account");
        const hash = scheme === "plain" ? account.passwordHash : account.keyHash;
        if (!hash) return refused(`the account has no ${scheme === "plain" ? "password" : "key"}`);
        try {
          const valid = await options.passwordWork.run("login", () => verifyPassword(secret, hash));
          result = valid
            ? { domainRole: "member" }
            : refused(scheme === "plain" ? "wrong password" : "wrong key");
        } catch (error) {
          if (error instanceof PasswordWorkBusy) return BUSY;
          throw error;
        }
        break;
      }
      case "transport":
        result = context.certificateRole === "unknown"
          ? refused("the client certificate does not prove the identity")
          : { domainRole: context.certificateRole };
        break;
      case "external": {
        const external = readExternal(credentials.authentication);
        if (external && options.externalVerifier) {
          const domainRole = await options.externalVerifier(
            external.token,
            external.issuer,
            identity,
          );
          result = domainRole === "unknown"
            ? refused("the external token was not accepted")
            : { domainRole };
        }
        break;
      }
    }
    return result;
  }
}

/**
 * Why a registered guest may not keep `identity`: it has an account (13, "owned"); undefined when
 * it may. The serving reads it once the guest is registered and before it is told `established`
 * (`connection_serving.ts`), so one read covers both rules: a guest is refused for an owned
 * identity, and an account created while the guest was let in is seen (one created later ends its
 * guests itself: `ownerArrived`, the cluster's evictions). A store failure rejects (the
 * establishment then fails with its unexpected-error reason).
 */
export async function guestRefusal(
  store: AccountStore,
  identity: string,
): Promise<{ reason: Reason; cause: string } | undefined> {
  if (!(await store.getAccount(identity))) return undefined;
  return { reason: IDENTITY_REASONS.owned(identity), cause: "guest refused for an owned identity" };
}
