/**
 * What a {@link LimeServer} lends its HTTP edge (the HTTP API and the webhooks of this folder):
 * the pieces that make an HTTP request count exactly like an envelope from a session of its
 * identity (the same registry, router, identity rules, rate limits, login throttle and hashing
 * slots), and the one way to register and unregister such a session. The server builds it in one
 * place; nothing here reaches into the server otherwise.
 * @module
 */
import type { ServerChannel } from "../channel/server_channel.ts";
import type { Clock } from "../clock.ts";
import type { Reason } from "../errors.ts";
import type { AuthenticationScheme } from "../generated/enums.generated.ts";
import type { AccountStore } from "../server/account_store.ts";
import type { SignInThrottle } from "../server/guard/login_throttle.ts";
import type { PasswordWork } from "../server/guard/password_work.ts";
import type { TrafficShaping } from "../server/guard/traffic_shaper.ts";
import type { IdentityRules } from "../server/identity_rules.ts";
import type { Router } from "../server/router.ts";
import type { SecretsWithoutTls } from "../server/server_authenticator.ts";
import type { ServerSession } from "../server/server_session.ts";
import type { SessionRegistry } from "../server/session_registry.ts";

/** The server as its HTTP edge sees it. */
export interface EdgeHost {
  /** The served domain (lower case). */
  readonly domain: string;
  /** `postmaster@<domain>/<instance>`. */
  readonly serverNode: string;
  /** Accounts (and, on a `KvAccountStore`, the webhook settings stored with them). */
  readonly store: AccountStore;
  /** The established sessions. */
  readonly registry: SessionRegistry;
  /** The router every session's envelopes go through. */
  readonly router: Router;
  /** Who may be whom. */
  readonly rules: IdentityRules;
  /** The rate limits (per session, identity and source address). */
  readonly shaping: TrafficShaping;
  /** Failed sign-ins and their delays. */
  readonly throttle: SignInThrottle;
  /** The bound on password hashing. */
  readonly passwordWork: PasswordWork;
  /** The server's clock. */
  readonly clock: Clock;
  /** Where plain and key may travel without TLS. */
  readonly plainWithoutTls: SecretsWithoutTls;
  /** Whether the client address comes from `X-Forwarded-For` (see `trustProxy`). */
  readonly trustProxy: boolean;
  /** Whether `X-Forwarded-Proto: https` makes a request count as TLS (see `trustProxyTls`). */
  readonly trustProxyTls: boolean;
  /** Largest envelope, in bytes. */
  readonly maxEnvelopeSize: number;
  /** Most object members in one envelope. */
  readonly maxMembers: number;
  /** Most sessions of one identity (0: no cap). */
  readonly maxSessionsPerIdentity: number;
  /** Whether the server is shutting down. */
  readonly stopping: boolean;
  /**
   * Registers a session of `node` on `channel` under the identity rules (it replaces a session
   * of the same node as a session would, and displaces the identity's guests), or says why not;
   * asynchronous when a cluster engine is asked.
   */
  register(
    channel: ServerChannel,
    node: string,
    scheme: AuthenticationScheme,
    source?: string,
  ): ServerSession | Reason | Promise<ServerSession | Reason>;
  /** Unregisters a session registered with {@link register}. */
  unregister(session: ServerSession): void;
}
