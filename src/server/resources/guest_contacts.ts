/**
 * Rosters of guest identities, in memory only: a guest owns nothing that outlives its sessions,
 * so the server drops a guest identity's roster when its last guest session ends (or when the
 * identity gets an owner), and nothing of it reaches the account store.
 * @module
 */
import type { Contact } from "../../generated/types.generated.ts";
import type { ContactStore } from "./contacts.ts";

/** Guest rosters by lower-cased identity. */
export class GuestContacts implements ContactStore {
  readonly #rosters = new Map<string, Map<string, Contact>>();
  #bytes = 0;

  /** Identities with a roster. */
  get size(): number {
    return this.#rosters.size;
  }

  /** Bytes (JSON) of all guest rosters together. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The roster of `owner`. */
  listContacts(owner: string): Promise<Contact[]> {
    return Promise.resolve([...(this.#rosters.get(owner.toLowerCase())?.values() ?? [])]);
  }

  /** One contact of `owner`'s roster. */
  getContact(owner: string, identity: string): Promise<Contact | undefined> {
    return Promise.resolve(this.#rosters.get(owner.toLowerCase())?.get(identity.toLowerCase()));
  }

  /** Adds or replaces a contact. */
  putContact(owner: string, contact: Contact & { identity: string }): Promise<void> {
    const key = owner.toLowerCase();
    let roster = this.#rosters.get(key);
    if (!roster) this.#rosters.set(key, roster = new Map());
    const contactKey = contact.identity.toLowerCase();
    const previous = roster.get(contactKey);
    if (previous) this.#bytes -= size(previous);
    roster.set(contactKey, contact);
    this.#bytes += size(contact);
    return Promise.resolve();
  }

  /** Removes a contact; false when there was none. */
  deleteContact(owner: string, identity: string): Promise<boolean> {
    const roster = this.#rosters.get(owner.toLowerCase());
    const previous = roster?.get(identity.toLowerCase());
    if (previous) this.#bytes -= size(previous);
    const deleted = roster?.delete(identity.toLowerCase()) ?? false;
    if (roster?.size === 0) this.#rosters.delete(owner.toLowerCase());
    return Promise.resolve(deleted);
  }

  /** Drops everything of `owner`. */
  discard(owner: string): void {
    const roster = this.#rosters.get(owner.toLowerCase());
    for (const contact of roster?.values() ?? []) this.#bytes -= size(contact);
    this.#rosters.delete(owner.toLowerCase());
  }
}

function size(contact: Contact): number {
  return JSON.stringify(contact).length;
}
