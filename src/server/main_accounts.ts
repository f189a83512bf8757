/**
 * The accounts `deno task start` creates or resets: the `name@domain:password` entry format shared
 * by `--account`, `--accounts-file` and `LIME_ACCOUNTS`, its limits, a bounded file reader, and
 * seeding a store with PBKDF2 hashes a few at a time.
 *
 * No message built here holds a password: a bad entry is named by where it came from (`--account
 * #2`, `LIME_ACCOUNTS line 3`) and, once it parses, by its identity.
 * @module
 */
import { IdentityRules } from "./identity_rules.ts";
import { Identity } from "../identity.ts";
import type { AccountStore } from "./account_store.ts";
import { hashPassword } from "./password_hash.ts";

/** Budgets of the accounts given at start. */
export const ACCOUNT_LIMITS: Readonly<{
  /** Largest accounts file (and `LIME_ACCOUNTS` value), in bytes. */
  textBytes: number;
  /** Most accounts, all sources together. */
  count: number;
  /** Longest identity, in characters. */
  identityChars: number;
  /** Longest password, in characters (the shortest is 1). */
  passwordChars: number;
}> = Object.freeze({
  textBytes: 1024 * 1024,
  count: 10_000,
  identityChars: 1024,
  passwordChars: 1024,
});

/** The environment variable holding accounts, one entry per line. */
export const ACCOUNTS_ENV = "LIME_ACCOUNTS";

/** An account to create or reset. */
export interface StartAccount {
  /** `name@domain`, in the served domain. */
  identity: string;
  /** The password, 1 to {@link ACCOUNT_LIMITS}.passwordChars characters. */
  password: string;
}

/** An unchecked `name@domain:password` entry and where it came from, for error messages. */
export interface AccountEntry {
  /** The entry text (holds the password: never put it in a message). */
  text: string;
  /** Where it came from, e.g. `--account #2` or `LIME_ACCOUNTS line 3`. */
  where: string;
}

/**
 * Splits the text of an accounts file or of `LIME_ACCOUNTS` into entries: one per line (LF or
 * CRLF); blank lines and lines starting with `#` are skipped; leading spaces are dropped, trailing
 * ones belong to the password.
 */
export function accountLines(text: string, source: string): AccountEntry[] {
  const entries: AccountEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    const entry = line.trimStart();
    if (entry === "" || entry.startsWith("#")) continue;
    entries.push({ text: entry, where: `${source} line ${i + 1}` });
  }
  return entries;
}

/**
 * Checks entries against the format and the limits: at most {@link ACCOUNT_LIMITS}.count; each
 * `name@domain:password` where the first colon ends the identity, the identity parses
 * (`Identity.tryParse`), has a name and is in `domain`, the password is 1 to 1,024 characters,
 * and no identity is listed twice.
 *
 * @throws {RangeError} naming the first bad entry by where it came from (and its identity when
 * that parses), never by its password.
 */
export function checkAccounts(entries: readonly AccountEntry[], domain: string): StartAccount[] {
  if (entries.length > ACCOUNT_LIMITS.count) {
    throw new RangeError(
      `too many accounts: ${entries.length} given, at most ${ACCOUNT_LIMITS.count}`,
    );
  }
  const seen = new Map<string, string>();
  return entries.map(({ text, where }) => {
    const colon = text.indexOf(":");
    if (colon < 0) throw new RangeError(`${where}: expected name@domain:password (no colon)`);
    const id = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const identity = id.length <= ACCOUNT_LIMITS.identityChars && !id.includes("/")
      ? Identity.tryParse(id)
      : undefined;
    if (identity?.name === undefined || identity.domain === undefined) {
      throw new RangeError(
        `${where}: the part before the first colon is not a name@domain identity`,
      );
    }
    if (identity.domain.toLowerCase() !== domain.toLowerCase()) {
      throw new RangeError(`${where}: ${identity} is not in the served domain ${domain}`);
    }
    if (new IdentityRules(domain).isReserved(identity.toString())) {
      throw new RangeError(`${where}: ${identity} is reserved for the server itself`);
    }
    if (password.length === 0) throw new RangeError(`${where}: ${identity} has an empty password`);
    if (password.length > ACCOUNT_LIMITS.passwordChars) {
      const most = ACCOUNT_LIMITS.passwordChars;
      throw new RangeError(
        `${where}: the password of ${identity} is longer than ${most} characters`,
      );
    }
    const key = identity.toString().toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      throw new RangeError(`${where}: ${identity} is listed twice (first at ${first})`);
    }
    seen.set(key, where);
    return { identity: identity.toString(), password };
  });
}

/**
 * Reads a UTF-8 text file of at most `maxBytes` bytes, reading no more than `maxBytes + 1`
 * whatever the file is (a pipe, `/dev/zero`, a file growing meanwhile).
 *
 * @throws {RangeError} when the file is larger or is not UTF-8; the `Deno.errors` of opening and
 * reading otherwise.
 */
export async function readTextFileBounded(path: string, maxBytes: number): Promise<string> {
  using file = await Deno.open(path);
  const bytes = new Uint8Array(maxBytes + 1);
  let size = 0;
  for (;;) {
    const read = await file.read(bytes.subarray(size));
    if (read === null) break;
    size += read;
    if (size > maxBytes) throw new RangeError(`is larger than ${maxBytes} bytes`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, size));
  } catch {
    throw new RangeError("is not UTF-8 text");
  }
}

/** Options of {@link seedAccounts}. */
export interface SeedOptions {
  /** Passwords hashed at the same time. Default: the number of cores, at most 4. */
  concurrency?: number;
  /** PBKDF2 iterations. Default: `hashPassword`'s (600,000). */
  iterations?: number;
}

/**
 * Creates each account, or resets the password of an existing one (its document and access key
 * stay), hashing `concurrency` passwords at a time. Stops at the first failure.
 *
 * @returns how many accounts were created and how many updated.
 */
export async function seedAccounts(
  store: AccountStore,
  accounts: readonly StartAccount[],
  options: SeedOptions = {},
): Promise<{ created: number; updated: number }> {
  const concurrency = Math.max(
    1,
    Math.floor(options.concurrency ?? Math.min(4, navigator.hardwareConcurrency || 1)),
  );
  const counts = { created: 0, updated: 0 };
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < accounts.length) {
      const { identity, password } = accounts[next++];
      try {
        const passwordHash = await hashPassword(password, options.iterations);
        const existing = await store.getAccount(identity);
        const account = {
          identity,
          document: existing?.document ?? {},
          passwordHash,
          ...(existing?.keyHash ? { keyHash: existing.keyHash } : {}),
        };
        if (!existing && await store.createAccount(account)) {
          counts.created++;
        } else {
          await store.updateAccount(account);
          counts.updated++;
        }
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, accounts.length) }, worker));
  return counts;
}
