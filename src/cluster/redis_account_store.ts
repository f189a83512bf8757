/**
 * Accounts and rosters in Redis, shared by the servers of a cluster: the same `AccountStore` as
 * `KvAccountStore` (salted hashes only, never secrets), one JSON string per account
 * (`account:<identity>`, created with `SET NX`: atomic) and one hash per roster
 * (`contacts:<owner>`, a field per contact, listed in the identity order Deno KV lists them).
 * Redis's persistence is the operator's business: with `--save ""` and no AOF, a Redis restart
 * loses every account.
 * @module
 */
import type { Contact } from "../generated/types.generated.ts";
import type { AccountStore, StoredAccount } from "../server/account_store.ts";
import { RedisLink } from "./redis_link.ts";

const key = (identity: string) => identity.toLowerCase();

/** The account store on Redis. */
export class RedisAccountStore implements AccountStore {
  readonly #link: RedisLink;
  readonly #prefix: string;
  readonly #owned: boolean;

  /**
   * A store on `link` (or a connection of its own to a `redis://` URL, closed with the store),
   * with keys under `prefix` (default `lime:`; servers of one domain share it).
   */
  constructor(link: RedisLink | string, prefix = "lime:") {
    this.#owned = typeof link === "string";
    this.#link = typeof link === "string" ? new RedisLink(link, {}, { blocking: false }) : link;
    this.#prefix = prefix;
  }

  /** Opens a store with its own connection to `url`. */
  static async open(url: string, prefix?: string): Promise<RedisAccountStore> {
    const store = new RedisAccountStore(url, prefix);
    await store.#link.connect();
    return store;
  }

  /** The account of an identity. */
  async getAccount(identity: string): Promise<StoredAccount | undefined> {
    const text = await this.#link.call<string | null>([
      "GET",
      `${this.#prefix}account:${key(identity)}`,
    ]);
    return text === null ? undefined : JSON.parse(text) as StoredAccount;
  }

  /** Creates an account atomically (false when the identity has one). */
  async createAccount(account: StoredAccount): Promise<boolean> {
    const reply = await this.#link.call<string | null>([
      "SET",
      `${this.#prefix}account:${key(account.identity)}`,
      JSON.stringify(account),
      "NX",
    ]);
    return reply !== null;
  }

  /** Replaces an account. */
  async updateAccount(account: StoredAccount): Promise<void> {
    await this.#link.call([
      "SET",
      `${this.#prefix}account:${key(account.identity)}`,
      JSON.stringify(account),
    ]);
  }

  /** The roster of `owner`, by contact identity. */
  async listContacts(owner: string): Promise<Contact[]> {
    const flat = await this.#link.call<string[]>([
      "HGETALL",
      `${this.#prefix}contacts:${key(owner)}`,
    ]);
    const entries: [string, Contact][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push([flat[i], JSON.parse(flat[i + 1]) as Contact]);
    }
    entries.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return entries.map(([, contact]) => contact);
  }

  /** One contact. */
  async getContact(owner: string, identity: string): Promise<Contact | undefined> {
    const text = await this.#link.call<string | null>([
      "HGET",
      `${this.#prefix}contacts:${key(owner)}`,
      key(identity),
    ]);
    return text === null ? undefined : JSON.parse(text) as Contact;
  }

  /** Adds or replaces a contact. */
  async putContact(owner: string, contact: Contact & { identity: string }): Promise<void> {
    await this.#link.call([
      "HSET",
      `${this.#prefix}contacts:${key(owner)}`,
      key(contact.identity),
      JSON.stringify(contact),
    ]);
  }

  /** Removes a contact; false when there was none. */
  async deleteContact(owner: string, identity: string): Promise<boolean> {
    const removed = await this.#link.call<number>([
      "HDEL",
      `${this.#prefix}contacts:${key(owner)}`,
      key(identity),
    ]);
    return removed === 1;
  }

  /** Closes the connection when the store opened it. */
  close(): void {
    if (this.#owned) this.#link.close();
  }
}
