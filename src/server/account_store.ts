/**
 * Where the server keeps accounts and rosters: an interface, and {@link KvAccountStore} on Deno KV
 * (a file under a data folder, or `:memory:`). Accounts hold only salted hashes of passwords and
 * keys, never the secrets.
 * @module
 */
import type { Account, Contact, Webhook } from "../generated/types.generated.ts";
import type { PasswordHash } from "./password_hash.ts";
import { setImmediate } from "node:timers";

/** An account as stored. */
export interface StoredAccount {
  /** `name@domain`. */
  identity: string;
  /** The account document, without `password`, `oldPassword` or `accessKey`. */
  document: Account;
  /** Hash of the password (`plain` scheme). */
  passwordHash?: PasswordHash;
  /** Hash of the access key (`key` scheme). */
  keyHash?: PasswordHash;
  /** Where the identity's webhook deliveries go (`/webhook`, see `src/http/webhooks.ts`). */
  webhook?: Webhook;
}

/** Storage of accounts and contacts. */
export interface AccountStore {
  /** The account of an identity. */
  getAccount(identity: string): Promise<StoredAccount | undefined>;
  /** Creates an account; false when the identity has one already (atomic). */
  createAccount(account: StoredAccount): Promise<boolean>;
  /** Replaces an existing account. */
  updateAccount(account: StoredAccount): Promise<void>;
  /** The roster of `owner`. */
  listContacts(owner: string): Promise<Contact[]>;
  /** One contact of `owner`'s roster. */
  getContact(owner: string, identity: string): Promise<Contact | undefined>;
  /** Adds or replaces a contact (keyed by its `identity`). */
  putContact(owner: string, contact: Contact & { identity: string }): Promise<void>;
  /** Removes a contact; false when there was none. */
  deleteContact(owner: string, identity: string): Promise<boolean>;
  /** Releases the storage. */
  close(): void;
}

const key = (identity: string) => identity.toLowerCase();

/** At most this many keys per `Deno.Kv.getMany` (Deno KV's own limit). */
const MANY = 10;

/** The callers waiting for one account's read. */
interface Lookup {
  resolve: (account: StoredAccount | undefined) => void;
  reject: (error: unknown) => void;
}

/** The account store on Deno KV (needs `--unstable-kv`). */
export class KvAccountStore implements AccountStore {
  readonly #kv: Deno.Kv;
  /** Reads asked for since the last batch went out, by key (see {@link getAccount}). */
  #lookups = new Map<string, Lookup[]>();

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Opens a store at `path` (a file; `:memory:` for a throwaway one); without a path, Deno's
   * default database (on Deno Deploy, the project's KV).
   */
  static async open(path?: string): Promise<KvAccountStore> {
    if (typeof Deno.openKv !== "function") {
      throw new TypeError(
        "KvAccountStore needs Deno KV, which this runtime does not offer: run with " +
          '--unstable-kv (or "unstable": ["kv"] in deno.json), or on Deno Deploy attach a KV ' +
          "database to the project; or give the server an AccountStore of your own",
      );
    }
    return new KvAccountStore(await Deno.openKv(path));
  }

  /**
   * The Deno KV database under the store: the server keeps its webhook deliveries there too
   * (`webhooks`), and listens to its queue (`listenQueue`), which a database allows once.
   */
  get database(): Deno.Kv {
    return this.#kv;
  }

  /**
   * The account of an identity. Reads asked for in the same turn of the event loop go out
   * together, once it ends, ten per `getMany` (a strongly consistent read like `get`, at a
   * fraction of the CPU of ten: every guest login reads its identity's account).
   */
  getAccount(identity: string): Promise<StoredAccount | undefined> {
    return new Promise((resolve, reject) => {
      const k = key(identity);
      if (this.#lookups.size === 0) setImmediate(this.#readLookups);
      const waiting = this.#lookups.get(k);
      if (waiting) waiting.push({ resolve, reject });
      else this.#lookups.set(k, [{ resolve, reject }]);
    });
  }

  #readLookups = (): void => {
    const lookups = [...this.#lookups];
    this.#lookups.clear();
    for (let i = 0; i < lookups.length; i += MANY) void this.#read(lookups.slice(i, i + MANY));
  };

  /**
   * Reads a batch and settles its callers (each its own copy of the account). A `getMany` fails
   * as a whole for one key the database refuses: then each key is read alone, so that only its
   * own callers fail.
   */
  async #read(batch: [string, Lookup[]][]): Promise<void> {
    try {
      const entries = await this.#kv.getMany<StoredAccount[]>(batch.map(([k]) => ["account", k]));
      batch.forEach(([, waiters], j) => {
        const account = entries[j]?.value ?? undefined;
        waiters.forEach((waiter, n) =>
          waiter.resolve(n === 0 || !account ? account : structuredClone(account))
        );
      });
    } catch (error) {
      if (batch.length > 1) {
        for (const one of batch) void this.#read([one]);
        return;
      }
      for (const waiter of batch[0][1]) waiter.reject(error);
    }
  }

  /** Creates an account atomically. */
  async createAccount(account: StoredAccount): Promise<boolean> {
    const k = ["account", key(account.identity)];
    const result = await this.#kv.atomic().check({ key: k, versionstamp: null }).set(k, account)
      .commit();
    return result.ok;
  }

  /** Replaces an account. */
  async updateAccount(account: StoredAccount): Promise<void> {
    await this.#kv.set(["account", key(account.identity)], account);
  }

  /** The roster of `owner`. */
  async listContacts(owner: string): Promise<Contact[]> {
    const contacts: Contact[] = [];
    for await (const entry of this.#kv.list<Contact>({ prefix: ["contact", key(owner)] })) {
      contacts.push(entry.value);
    }
    return contacts;
  }

  /** One contact. */
  async getContact(owner: string, identity: string): Promise<Contact | undefined> {
    return (await this.#kv.get<Contact>(["contact", key(owner), key(identity)])).value ??
      undefined;
  }

  /** Adds or replaces a contact. */
  async putContact(owner: string, contact: Contact & { identity: string }): Promise<void> {
    await this.#kv.set(["contact", key(owner), key(contact.identity)], contact);
  }

  /** Removes a contact. */
  async deleteContact(owner: string, identity: string): Promise<boolean> {
    const k = ["contact", key(owner), key(identity)];
    const existing = await this.#kv.get(k);
    if (existing.versionstamp === null) return false;
    await this.#kv.delete(k);
    return true;
  }

  /** Closes the database. */
  close(): void {
    this.#kv.close();
  }
}
