/**
 * `/account`: in-band registration and the owner's account. A guest session `set`s it with a
 * `password` (base64, like the `plain` scheme) to create the account of its identity; the owner
 * `get`s it and `set`s/`merge`s it later (a new `password` or `accessKey` needs the current
 * password in `oldPassword`). Secrets are stored only as salted hashes and never returned.
 *
 * Guards: one account operation at a time per session (others 34), hashing inside the server's
 * bounded hashing slots (34 when busy), registrations per source address per minute (34), the
 * account document at most `accountBytes` of JSON (64), reserved identities never registered.
 * Creating an account ends every guest session of the identity (the registrant's after its
 * response) and drops what guests kept under it: the identity has an owner now.
 * @module
 */
import { decodeBase64Text } from "../../channel/authentication/credentials.ts";
import type { Account } from "../../generated/types.generated.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";
import type { AccountStore, StoredAccount } from "../account_store.ts";
import type { KeyedWindowCounter } from "../guard/keyed_counter.ts";
import { type PasswordWork, PasswordWorkBusy } from "../guard/password_work.ts";
import type { IdentityRules } from "../identity_rules.ts";
import { hashPassword, verifyPassword } from "../password_hash.ts";
import type { ServerSession } from "../server_session.ts";
import type { ResourceQuotas } from "./quotas.ts";
import {
  expectSizeAtMost,
  expectType,
  objectResource,
  ResourceFailure,
  type ResourceHandler,
} from "./resource.ts";

/** The account media type. */
export const ACCOUNT_TYPE = "application/vnd.lime.account+json";

const SECRET_FIELDS = ["password", "oldPassword", "accessKey"] as const;
/** Longest secret accepted, in characters (base64 of at most ~768 bytes). */
const MAX_SECRET_LENGTH = 1024;

/** What the account resource needs besides the store. */
export interface AccountResourceOptions {
  /** PBKDF2 iterations of new hashes. */
  iterations: number;
  /** The server's hashing slots. */
  passwordWork: PasswordWork;
  /** Who may be whom (reserved identities). */
  rules: IdentityRules;
  /** Registrations per source address in the current minute. */
  registrations: KeyedWindowCounter;
  /** Quotas. */
  quotas: Pick<ResourceQuotas, "accountBytes" | "registrationsPerAddressPerMinute">;
  /** The identity got an account: the server ends its guest sessions and drops guest data. */
  onCreated(identity: string, registrant: ServerSession): void;
  /** The identity's password or access key changed (cached sign-ins of it must go). */
  onSecretsChanged?(identity: string): void;
}

function invalid(description: string): ResourceFailure {
  return new ResourceFailure(ReasonCode.COMMAND_INVALID_ARGUMENT, description);
}

function secret(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_SECRET_LENGTH) {
    throw invalid(`"${field}" must be a non-empty base64 string of at most ${MAX_SECRET_LENGTH}`);
  }
  try {
    return decodeBase64Text(value);
  } catch {
    throw invalid(`"${field}" must be base64 of UTF-8 text`);
  }
}

function publicDocument(document: Account): Account {
  const copy: Record<string, unknown> = { ...document };
  for (const field of SECRET_FIELDS) delete copy[field];
  delete copy.identity;
  return copy as Account;
}

/** The account resource over `store`. */
export function accountResource(
  store: AccountStore,
  options: AccountResourceOptions,
): ResourceHandler {
  const hash = async (value: string) => {
    try {
      return await options.passwordWork.run(
        "change",
        () => hashPassword(value, options.iterations),
      );
    } catch (error) {
      if (!(error instanceof PasswordWorkBusy)) throw error;
      throw new ResourceFailure(ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED, error.message);
    }
  };
  const verify = async (value: string, stored: StoredAccount["passwordHash"]) => {
    if (!stored) return false;
    try {
      return await options.passwordWork.run("change", () => verifyPassword(value, stored));
    } catch (error) {
      if (!(error instanceof PasswordWorkBusy)) throw error;
      throw new ResourceFailure(ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED, error.message);
    }
  };

  const register = async (session: ServerSession, update: Account, document: Account) => {
    const identity = session.identity;
    if (!session.guest) {
      throw new ResourceFailure(
        ReasonCode.COMMAND_NOT_ALLOWED,
        "Only a guest session can register a new account",
      );
    }
    if (options.rules.isReserved(identity)) {
      throw new ResourceFailure(ReasonCode.COMMAND_NOT_ALLOWED, `"${identity}" is reserved`);
    }
    const password = secret(update.password, "password");
    const accessKey = secret(update.accessKey, "accessKey");
    if (!password) throw invalid("A new account needs a password");
    const source = session.source;
    const perMinute = options.quotas.registrationsPerAddressPerMinute;
    if (source !== undefined && perMinute > 0) {
      if (options.registrations.count(source) >= perMinute) {
        const wait = Math.ceil(options.registrations.remaining(source) / 1000);
        throw new ResourceFailure(
          ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
          `Your address registered ${perMinute} accounts this minute; try again in ${wait} s`,
        );
      }
      options.registrations.add(source);
    }
    const account: StoredAccount = {
      identity,
      document,
      passwordHash: await hash(password),
      ...(accessKey ? { keyHash: await hash(accessKey) } : {}),
    };
    if (!(await store.createAccount(account))) {
      throw new ResourceFailure(
        ReasonCode.COMMAND_NOT_ALLOWED,
        `"${identity}" already has an account`,
      );
    }
    // A new account owns nothing yet: whatever an older version kept for the name goes.
    for (const contact of await store.listContacts(identity)) {
      if (contact.identity) await store.deleteContact(identity, contact.identity);
    }
  };

  const change = async (existing: StoredAccount, update: Account, document: Account) => {
    const password = secret(update.password, "password");
    const oldPassword = secret(update.oldPassword, "oldPassword");
    const accessKey = secret(update.accessKey, "accessKey");
    const account: StoredAccount = { ...existing, document };
    if (password || accessKey) {
      if (!oldPassword || !(await verify(oldPassword, existing.passwordHash))) {
        throw invalid(
          "Changing the password or the access key needs the current password in oldPassword",
        );
      }
      if (password) account.passwordHash = await hash(password);
      if (accessKey) account.keyHash = await hash(accessKey);
    }
    await store.updateAccount(account);
    if (password || accessKey) options.onSecretsChanged?.(existing.identity);
  };

  return {
    methods: ["get", "set", "merge"],
    async handle(request, { session, afterSent }) {
      const identity = session.identity;
      if (request.method === "get") {
        const existing = await store.getAccount(identity);
        if (!existing || session.guest) {
          throw new ResourceFailure(
            ReasonCode.COMMAND_RESOURCE_NOT_FOUND,
            `"${identity}" has no account`,
          );
        }
        return { type: ACCOUNT_TYPE, resource: { ...existing.document, identity } };
      }
      expectType(request, ACCOUNT_TYPE);
      if (session.accountBusy) {
        throw new ResourceFailure(
          ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
          "One account operation at a time: wait for the previous response",
        );
      }
      session.accountBusy = true;
      try {
        const update = objectResource(request) as Account;
        const existing = await store.getAccount(identity);
        const document = publicDocument(
          request.method === "merge" && existing ? { ...existing.document, ...update } : update,
        );
        expectSizeAtMost(document, options.quotas.accountBytes, "account document");
        if (!existing) {
          await register(session, update, document);
          afterSent(() => options.onCreated(identity, session));
          return undefined;
        }
        if (session.guest) {
          throw new ResourceFailure(
            ReasonCode.COMMAND_NOT_ALLOWED,
            `"${identity}" already has an account`,
          );
        }
        await change(existing, update, document);
        return undefined;
      } finally {
        session.accountBusy = false;
      }
    },
  };
}
