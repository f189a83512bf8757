/**
 * Signing in an HTTP request, under the rules a session's sign-in follows (README, Security
 * model): secrets only over TLS or where `plainWithoutTls` allows; identities of the served
 * domain only, never a reserved one; the login throttle before any hashing (per identity and per
 * source address, 429 with `Retry-After`); the hashing slots (503 when full). A header verified
 * recently is let in from the {@link CredentialCache} while the account holds the same hash.
 * @module
 */
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { Identity } from "../identity.ts";
import { PasswordWorkBusy } from "../server/guard/password_work.ts";
import { identityTooLong } from "../server/identity_rules.ts";
import { verifyPassword } from "../server/password_hash.ts";
import { type CredentialCache, headerDigest } from "./credential_cache.ts";
import type { EdgeHost } from "./edge_host.ts";
import { readAuthorization } from "./http_credentials.ts";
import { refusal, tooMany, waitOf } from "./http_reply.ts";

/** What the server knows about where a request came from. */
export interface RequestFacts {
  /** The per-address key of the client (see `source_address.ts`). */
  source: string | undefined;
  /** Whether the client is on the loopback interface. */
  loopback: boolean;
  /** Whether the request came over TLS (or a trusted proxy says so, `trustProxyTls`). */
  tls: boolean;
}

/** A signed-in request, or the refusal to answer with. */
export type SignIn =
  | { identity: string; identityKey: string; scheme: "key" | "plain" }
  | { response: Response };

const CHALLENGE = { "www-authenticate": 'Key realm="lime", Basic realm="lime", charset="UTF-8"' };

const failed = (description: string): Reason => ({
  code: ReasonCode.SESSION_AUTHENTICATION_FAILED,
  description,
});

function unauthorized(description: string): { response: Response } {
  return { response: refusal(401, failed(description), CHALLENGE) };
}

/** Signs in HTTP requests for one server. */
export class HttpAuthenticator {
  readonly #host: EdgeHost;
  readonly #cache: CredentialCache;

  /** An authenticator for `host`, remembering verified headers in `cache`. */
  constructor(host: EdgeHost, cache: CredentialCache) {
    this.#host = host;
    this.#cache = cache;
  }

  /** Signs in the request whose `Authorization` header is `header`. */
  async signIn(header: string | null, facts: RequestFacts): Promise<SignIn> {
    const credentials = readAuthorization(header);
    if (typeof credentials === "string") return unauthorized(credentials);
    const host = this.#host;
    const rule = host.plainWithoutTls;
    if (!facts.tls && rule !== "anywhere" && !(rule === "loopback" && facts.loopback)) {
      return {
        response: refusal(
          403,
          failed("Passwords and keys are accepted only over TLS (https) on this server"),
        ),
      };
    }
    const parsed = Identity.tryParse(credentials.identity);
    if (
      !parsed?.name || !parsed.domain || credentials.identity.includes("/") ||
      identityTooLong(credentials.identity)
    ) {
      return unauthorized("The identity must be name@domain");
    }
    const identity = parsed.toString();
    const identityKey = identity.toLowerCase();
    if (parsed.domain.toLowerCase() !== host.domain) {
      return unauthorized(`This server serves only ${host.domain}`);
    }
    if (host.rules.isReserved(identity)) {
      return unauthorized(`The identity "${identity}" is reserved`);
    }
    const scheme = credentials.scheme;
    const signedIn = { identity, identityKey, scheme };
    const cache = this.#cache;
    const digest = cache.enabled ? await headerDigest(header!) : undefined;
    const remembered = digest === undefined ? undefined : cache.get(digest);
    if (remembered && remembered.identityKey === identityKey) {
      const account = await host.store.getAccount(identity);
      const hash = scheme === "plain" ? account?.passwordHash : account?.keyHash;
      if (hash?.hash === remembered.hash) return signedIn;
      cache.delete(digest!);
    }
    const wait = await host.throttle.check(identity, facts.source);
    if (wait) return { response: tooMany(wait, waitOf(wait)) };
    let verdict: boolean | undefined;
    try {
      const account = await host.store.getAccount(identity);
      const hash = scheme === "plain" ? account?.passwordHash : account?.keyHash;
      verdict = false;
      if (hash) {
        verdict = undefined;
        verdict = await host.passwordWork.run(
          "login",
          () => verifyPassword(credentials.secret, hash),
        );
        if (verdict && digest !== undefined) cache.set(digest, { identityKey, hash: hash.hash });
      }
    } catch (error) {
      if (!(error instanceof PasswordWorkBusy)) throw error;
      return { response: tooMany(failed(error.message), 1000, 503) };
    } finally {
      if (verdict === undefined) host.throttle.abandoned(identity, facts.source);
      else if (verdict) host.throttle.succeeded(identity, facts.source);
      else host.throttle.failed(identity, facts.source);
    }
    if (!verdict) return unauthorized("The identity or its credentials are wrong");
    return signedIn;
  }
}
