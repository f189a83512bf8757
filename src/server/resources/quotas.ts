/**
 * What one identity may make the server keep, with the defaults `LimeServer` uses: every limit
 * is refused with reason 64 (invalid argument) for a document that is too large, or 34 (quota)
 * for one too many.
 * @module
 */

/** Storage quotas per identity and per source address. */
export interface ResourceQuotas {
  /** Contacts in one identity's roster. Default 1,000. */
  contactsPerIdentity: number;
  /** Bytes of one contact's JSON. Default 4 KiB. */
  contactBytes: number;
  /** Bytes of one identity's whole roster (JSON of its contacts). Default 1 MiB. */
  rosterBytes: number;
  /**
   * A guest identity's roster (kept in memory, and anyone can be a guest): contacts and bytes.
   * Default 100 contacts, 64 KiB.
   */
  guestContacts: number;
  /** See {@link guestContacts}. */
  guestRosterBytes: number;
  /** Bytes of all guest rosters together, in memory. Default 64 MiB. */
  guestRostersTotalBytes: number;
  /** Bytes of a presence document. Default 4 KiB. */
  presenceBytes: number;
  /** Bytes of an account document (without its secrets). Default 16 KiB. */
  accountBytes: number;
  /** Accounts a source address may register per minute (in-band registration). Default 10. */
  registrationsPerAddressPerMinute: number;
}

/** The defaults. */
export const DEFAULT_QUOTAS: Readonly<ResourceQuotas> = Object.freeze({
  contactsPerIdentity: 1_000,
  contactBytes: 4 * 1024,
  rosterBytes: 1024 * 1024,
  guestContacts: 100,
  guestRosterBytes: 64 * 1024,
  guestRostersTotalBytes: 64 * 1024 * 1024,
  presenceBytes: 4 * 1024,
  accountBytes: 16 * 1024,
  registrationsPerAddressPerMinute: 10,
});
