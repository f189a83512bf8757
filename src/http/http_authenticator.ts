/**
 * Signing in an HTTP request, under the rules a session's sign-in follows (README, Security
 * model): secrets only over TLS or where `plainWithoutTls` allows; identities of the served
 * domain only, never a reserved one; the login throttle before any hashing (per identity and per
 * source address, 429 with `Retry-After`); the hashing slots (503 when full). A header verified
 * recently is let in from the {@link CredentialCache} while the account holds the same hash
 * (checked again after `revalidateAfter`), and concurrent requests with the same header share
 * one verification.
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
import { sessionLog } from "../observability/log.ts";
import { attributeCache, refusalsCounter } from "../observability/metrics.ts";

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

const refusalAttributes = attributeCache((status: number) => ({
  "lime.transport": "http",
  "lime.reason.code": status === 429 || status === 503
    ? ReasonCode.SESSION_ERROR
    : ReasonCode.SESSION_AUTHENTICATION_FAILED,
  "http.response.status_code": status,
}));

function logRefusal(
  status: number,
  facts: RequestFacts,
  refused: { cause?: string; identity?: string },
): void {
  refusalsCounter.add(1, refusalAttributes(status));
  sessionLog.info(
    "HTTP sign-in refused for {identity} from {source}: {cause}; the client got {status}",
    () => ({
      identity: refused.identity ?? "nobody",
      source: facts.source ?? "unknown",
      cause: refused.cause ?? "refused",
      status,
      transport: "http",
    }),
  );
}

/** Signs in HTTP requests for one server. */
export class HttpAuthenticator {
  readonly #host: EdgeHost;
  readonly #cache: CredentialCache;
  readonly #verifying = new Map<string, Promise<boolean>>();
  readonly #rechecking = new Map<string, Promise<boolean>>();

  /** An authenticator for `host`, remembering verified headers in `cache`. */
  constructor(host: EdgeHost, cache: CredentialCache) {
    this.#host = host;
    this.#cache = cache;
  }

  /**
   * Signs in the request whose `Authorization` header is `header`. A refusal is logged with its
   * server-side cause (`wrong password`, `unknown account`, ...) and counted in
   * `lime.server.session.refusals` (`lime.transport` `http`); the client gets only the reason.
   */
  async signIn(header: string | null, facts: RequestFacts): Promise<SignIn> {
    const refused: { cause?: string; identity?: string } = {};
    const result = await this.#signIn(header, facts, refused);
    if ("response" in result) logRefusal(result.response.status, facts, refused);
    return result;
  }

  async #signIn(
    header: string | null,
    facts: RequestFacts,
    refused: { cause?: string; identity?: string },
  ): Promise<SignIn> {
    const credentials = readAuthorization(header);
    if (typeof credentials === "string") {
      refused.cause = "malformed Authorization header";
      return unauthorized(credentials);
    }
    refused.identity = credentials.identity.slice(0, 256);
    const host = this.#host;
    const rule = host.plainWithoutTls;
    if (!facts.tls && rule !== "anywhere" && !(rule === "loopback" && facts.loopback)) {
      refused.cause = `${credentials.scheme} is not accepted over cleartext`;
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
      refused.cause = "not an identity";
      return unauthorized("The identity must be name@domain");
    }
    const identity = parsed.toString();
    const identityKey = identity.toLowerCase();
    if (parsed.domain.toLowerCase() !== host.domain) {
      refused.cause = "an identity of another domain";
      return unauthorized(`This server serves only ${host.domain}`);
    }
    if (host.rules.isReserved(identity)) {
      refused.cause = "a reserved identity";
      return unauthorized(`The identity "${identity}" is reserved`);
    }
    const scheme = credentials.scheme;
    const signedIn = { identity, identityKey, scheme };
    const cache = this.#cache;
    const digest = cache.enabled ? headerDigest(header!) : undefined;
    const remembered = digest === undefined ? undefined : cache.get(digest);
    if (remembered && remembered.identityKey === identityKey) {
      if (cache.checked(digest!)) return signedIn;
      if (await this.#recheck(digest!, identity, scheme, remembered.hash)) return signedIn;
    }
    // The same header being verified already (a bot's first burst): its verdict serves this
    // request too when it is a success and what it proved is in the cache, fresh (it read the
    // account within revalidateAfter, no secret changed since); otherwise this request is an
    // attempt of its own.
    const inFlight = digest === undefined ? undefined : this.#verifying.get(digest);
    if (inFlight && await inFlight === true) {
      const proved = cache.get(digest!);
      if (proved && proved.identityKey === identityKey) {
        if (cache.checked(digest!)) return signedIn;
        if (await this.#recheck(digest!, identity, scheme, proved.hash)) return signedIn;
      }
    }
    const verifying = this.#verify(identity, credentials.secret, scheme, facts, digest, refused);
    if (digest !== undefined && !this.#verifying.has(digest)) {
      const settled = verifying.then((verdict) => verdict === true, () => false);
      this.#verifying.set(digest, settled);
      settled.then(() => this.#verifying.delete(digest));
    }
    const verdict = await verifying;
    if (typeof verdict === "object") return verdict;
    if (!verdict) return unauthorized("The identity or its credentials are wrong");
    return signedIn;
  }

  /**
   * Whether the account still holds `hash` (one store read for the concurrent requests with the
   * same header); the cache entry is confirmed, or dropped.
   */
  #recheck(digest: string, identity: string, scheme: "key" | "plain", hash: string) {
    let reading = this.#rechecking.get(digest);
    if (!reading) {
      const readAt = this.#host.clock.now();
      const epoch = this.#cache.epoch;
      reading = this.#host.store.getAccount(identity).then((account) => {
        const stored = scheme === "plain" ? account?.passwordHash : account?.keyHash;
        const holds = stored?.hash === hash && this.#cache.epoch === epoch;
        if (holds) this.#cache.confirm(digest, readAt);
        else this.#cache.delete(digest);
        return holds;
      }).finally(() => this.#rechecking.delete(digest));
      this.#rechecking.set(digest, reading);
    }
    return reading;
  }

  /**
   * Checks `secret` against the account's hash under the throttle and the hashing slots: true,
   * false, or the refusal to answer with (throttled, slots full).
   */
  async #verify(
    identity: string,
    secret: string,
    scheme: "key" | "plain",
    facts: RequestFacts,
    digest: string | undefined,
    refused: { cause?: string },
  ): Promise<boolean | { response: Response }> {
    const host = this.#host;
    const wait = await host.throttle.check(identity, facts.source);
    if (wait) {
      refused.cause = "throttled";
      return { response: tooMany(wait, waitOf(wait)) };
    }
    let verdict: boolean | undefined;
    try {
      const readAt = host.clock.now();
      const epoch = this.#cache.epoch;
      const account = await host.store.getAccount(identity);
      const hash = scheme === "plain" ? account?.passwordHash : account?.keyHash;
      verdict = false;
      refused.cause = !account
        ? "unknown account"
        : `the account has no ${scheme === "plain" ? "password" : "key"}`;
      if (hash) {
        refused.cause = scheme === "plain" ? "wrong password" : "wrong key";
        verdict = undefined;
        verdict = await host.passwordWork.run("login", () => verifyPassword(secret, hash));
        if (verdict && digest !== undefined) {
          this.#cache.set(
            digest,
            { identityKey: identity.toLowerCase(), hash: hash.hash },
            readAt,
            epoch,
          );
        }
      }
    } catch (error) {
      if (!(error instanceof PasswordWorkBusy)) throw error;
      refused.cause = "password hashing at its limit";
      return { response: tooMany(failed(error.message), 1000, 503) };
    } finally {
      if (verdict === undefined) host.throttle.abandoned(identity, facts.source);
      else if (verdict) host.throttle.succeeded(identity, facts.source);
      else host.throttle.failed(identity, facts.source);
    }
    return verdict;
  }
}
