/**
 * The resources a `LimeServer` answers for itself (`/ping`, `/presence`, `/receipt`, `/account`,
 * `/contacts`, and `/webhook` when webhooks are on), wired to the rest of the server.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { ClusterEngine } from "../cluster/engine.ts";
import type { Webhooks } from "../http/webhooks.ts";
import { KeyedWindowCounter } from "./guard/keyed_counter.ts";
import type { PasswordWork } from "./guard/password_work.ts";
import type { IdentityRules } from "./identity_rules.ts";
import { DEFAULT_PBKDF2_ITERATIONS } from "./password_hash.ts";
import { accountResource } from "./resources/account.ts";
import { contactsResource } from "./resources/contacts.ts";
import type { GuestContacts } from "./resources/guest_contacts.ts";
import { pingResource } from "./resources/ping.ts";
import { presenceResource } from "./resources/presence.ts";
import type { ResourceQuotas } from "./resources/quotas.ts";
import { receiptResource } from "./resources/receipt.ts";
import { ServerResources } from "./resources/server_resources.ts";
import type { LimeServerOptions } from "./server_options.ts";
import type { SessionRegistration } from "./session_registration.ts";

/** What of the server its resources use. */
export interface ResourceSetParts {
  options: LimeServerOptions;
  domain: string;
  engine: ClusterEngine;
  rules: IdentityRules;
  registration: SessionRegistration;
  guestContacts: GuestContacts;
  passwordWork: PasswordWork;
  clock: Clock;
  quotas: ResourceQuotas;
  /** The webhooks, when on (their `/webhook` resource). */
  webhooks: Webhooks | undefined;
  /** An account's password or keys changed (sign-ins cached with the old ones are dropped). */
  secretsChanged(identity: string): void;
}

/** The server's own resources. */
export function serverResourceSet(parts: ResourceSetParts): ServerResources {
  const { options, engine, quotas } = parts;
  return new ServerResources({
    ping: pingResource,
    presence: presenceResource(quotas, (session) => engine.presenceChanged(session)),
    receipt: receiptResource,
    account: accountResource(options.store, {
      iterations: options.passwordIterations ?? DEFAULT_PBKDF2_ITERATIONS,
      passwordWork: parts.passwordWork,
      rules: parts.rules,
      registrations: new KeyedWindowCounter(parts.clock, 60_000),
      quotas,
      onCreated: (identity) => {
        parts.registration.ownerArrived(identity.toLowerCase());
        engine.ownerArrived(identity.toLowerCase());
      },
      onSecretsChanged: (identity) => parts.secretsChanged(identity),
    }),
    contacts: contactsResource(options.store, parts.guestContacts, quotas),
    ...(parts.webhooks ? { webhook: parts.webhooks.resource } : {}),
  }, parts.domain);
}
