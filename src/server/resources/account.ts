/**
 * `/account`: in-band registration and the owner's account. A guest session `set`s it with a
 * `password` (base64, like the `plain` scheme) to create the account of its identity; the owner
 * `get`s it and `set`s/`merge`s it later (a new `password` needs the current one in
 * `oldPassword`; `accessKey` sets the key of the `key` scheme). Secrets are stored only as salted
 * hashes and never returned.
 * @module
 */
import { decodeBase64Text } from "../../channel/authentication/credentials.ts";
import type { Account } from "../../generated/types.generated.ts";
import type { AccountStore, StoredAccount } from "../account_store.ts";
import { hashPassword, verifyPassword } from "../password_hash.ts";
import { expectType, objectResource, ResourceFailure, type ResourceHandler } from "./resource.ts";

/** The account media type. */
export const ACCOUNT_TYPE = "application/vnd.lime.account+json";

const SECRET_FIELDS = ["password", "oldPassword", "accessKey"] as const;

function secret(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new ResourceFailure(64, `"${field}" must be a non-empty base64 string`);
  }
  try {
    return decodeBase64Text(value);
  } catch {
    throw new ResourceFailure(64, `"${field}" must be base64 of UTF-8 text`);
  }
}

function publicDocument(document: Account): Account {
  const copy: Record<string, unknown> = { ...document };
  for (const field of SECRET_FIELDS) delete copy[field];
  return copy as Account;
}

/** The account resource over `store`, hashing with `iterations` PBKDF2 rounds. */
export function accountResource(store: AccountStore, iterations: number): ResourceHandler {
  return {
    methods: ["get", "set", "merge"],
    async handle(request, { session }) {
      const identity = session.identity;
      const existing = await store.getAccount(identity);
      if (request.method === "get") {
        if (!existing) throw new ResourceFailure(67, `"${identity}" has no account`);
        return { type: ACCOUNT_TYPE, resource: { ...existing.document, identity } };
      }
      expectType(request, ACCOUNT_TYPE);
      const update = objectResource(request) as Account;
      const password = secret(update.password, "password");
      const oldPassword = secret(update.oldPassword, "oldPassword");
      const accessKey = secret(update.accessKey, "accessKey");
      const document = publicDocument(
        request.method === "merge" && existing ? { ...existing.document, ...update } : update,
      );
      delete (document as Record<string, unknown>).identity;
      if (!existing) {
        if (!session.guest) {
          throw new ResourceFailure(66, "Only a guest session can register a new account");
        }
        if (!password) throw new ResourceFailure(64, "A new account needs a password");
        const account: StoredAccount = {
          identity,
          document,
          passwordHash: await hashPassword(password, iterations),
          ...(accessKey ? { keyHash: await hashPassword(accessKey, iterations) } : {}),
        };
        if (!(await store.createAccount(account))) {
          throw new ResourceFailure(66, `"${identity}" already has an account`);
        }
        return undefined;
      }
      if (session.guest) {
        throw new ResourceFailure(66, `"${identity}" already has an account`);
      }
      const account: StoredAccount = { ...existing, document };
      if (password) {
        if (
          !oldPassword || !existing.passwordHash ||
          !(await verifyPassword(oldPassword, existing.passwordHash))
        ) {
          throw new ResourceFailure(
            64,
            "Changing the password needs the current one in oldPassword",
          );
        }
        account.passwordHash = await hashPassword(password, iterations);
      }
      if (accessKey) account.keyHash = await hashPassword(accessKey, iterations);
      await store.updateAccount(account);
      return undefined;
    },
  };
}
