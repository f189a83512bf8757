/**
 * `/contacts` (the roster of the session's identity): `get` lists it as a collection, `set` adds
 * or replaces a contact; `/contacts/{identity}` supports `get` and `delete` (67 when there is no
 * such contact). Owners' rosters live in the account store; guests' in memory
 * ({@link GuestContacts}), dropped with their last session. Quotas: contacts per roster and
 * bytes per contact and per roster, smaller for guests, whose rosters are in memory, with a cap on
 * all guest rosters together (see `quotas.ts`).
 * @module
 */
import type { Contact } from "../../generated/types.generated.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";
import { Identity } from "../../identity.ts";
import { quoteForError } from "../../formats.ts";
import type { AccountStore } from "../account_store.ts";
import { identityTooLong, MAX_IDENTITY_BYTES } from "../identity_rules.ts";
import { KeyedLock, KeyedLockBusy } from "../guard/keyed_lock.ts";
import type { ServerSession } from "../server_session.ts";
import type { GuestContacts } from "./guest_contacts.ts";
import type { ResourceQuotas } from "./quotas.ts";
import {
  expectSizeAtMost,
  expectType,
  jsonSize,
  objectResource,
  type ResourceContext,
  ResourceFailure,
  type ResourceHandler,
  type ResourceResult,
} from "./resource.ts";
import type { Command } from "../../envelope.ts";

/** The contact media type. */
export const CONTACT_TYPE = "application/vnd.lime.contact+json";
const COLLECTION_TYPE = "application/vnd.lime.collection+json";

/** Where rosters are kept. */
export type ContactStore = Pick<
  AccountStore,
  "listContacts" | "getContact" | "putContact" | "deleteContact"
>;

/**
 * The contacts resource: owners' rosters in `store`, guests' in `guests`. Changes to one roster
 * run one at a time (the quota check and the write stay together under pipelined requests).
 */
export function contactsResource(
  store: AccountStore,
  guests: GuestContacts,
  quotas: Pick<
    ResourceQuotas,
    | "contactsPerIdentity"
    | "contactBytes"
    | "rosterBytes"
    | "guestContacts"
    | "guestRosterBytes"
    | "guestRostersTotalBytes"
  >,
): ResourceHandler {
  const rosterOf = (session: ServerSession): ContactStore => session.guest ? guests : store;
  const writes = new KeyedLock();
  const handler = async (
    request: Command,
    { session, subpath }: ResourceContext,
  ): Promise<ResourceResult> => {
    const owner = session.identity;
    const roster = rosterOf(session);
    if (subpath) {
      const identity = Identity.tryParse(decodeURIComponent(subpath));
      if (!identity || identityTooLong(identity.toString())) {
        throw new ResourceFailure(
          ReasonCode.COMMAND_INVALID_ARGUMENT,
          `${quoteForError(subpath)} is not an identity`,
        );
      }
      if (request.method === "get") {
        const contact = await roster.getContact(owner, identity.toString());
        if (!contact) {
          throw new ResourceFailure(
            ReasonCode.COMMAND_RESOURCE_NOT_FOUND,
            `"${identity}" is not a contact`,
          );
        }
        return { type: CONTACT_TYPE, resource: contact };
      }
      if (request.method === "delete") {
        if (!(await roster.deleteContact(owner, identity.toString()))) {
          throw new ResourceFailure(
            ReasonCode.COMMAND_RESOURCE_NOT_FOUND,
            `"${identity}" is not a contact`,
          );
        }
        return undefined;
      }
      throw new ResourceFailure(
        ReasonCode.COMMAND_METHOD_NOT_SUPPORTED,
        `${request.method} is not supported on a single contact`,
      );
    }
    if (request.method === "get") {
      const items = await roster.listContacts(owner);
      return {
        type: COLLECTION_TYPE,
        resource: { itemType: CONTACT_TYPE, total: items.length, items },
      };
    }
    if (request.method === "set") {
      expectType(request, CONTACT_TYPE);
      const contact = objectResource(request) as Contact;
      const identity = Identity.tryParse(contact.identity);
      if (!identity) {
        throw new ResourceFailure(
          ReasonCode.COMMAND_INVALID_ARGUMENT,
          "A contact needs an identity",
        );
      }
      if (identityTooLong(identity.toString())) {
        throw new ResourceFailure(
          ReasonCode.COMMAND_INVALID_ARGUMENT,
          `A contact's identity is at most ${MAX_IDENTITY_BYTES} bytes`,
        );
      }
      const stored = { ...contact, identity: identity.toString() };
      const size = expectSizeAtMost(stored, quotas.contactBytes, "contact");
      await checkRoster(
        roster,
        owner,
        stored.identity,
        size,
        session.guest
          ? {
            contactsPerIdentity: Math.min(quotas.guestContacts, quotas.contactsPerIdentity),
            rosterBytes: Math.min(quotas.guestRosterBytes, quotas.rosterBytes),
          }
          : quotas,
      );
      if (session.guest && guests.bytes + size > quotas.guestRostersTotalBytes) {
        throw new ResourceFailure(
          ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
          "Guests' rosters are full on this server: sign in with an account to keep contacts",
        );
      }
      await roster.putContact(owner, stored);
      return undefined;
    }
    throw new ResourceFailure(
      ReasonCode.COMMAND_METHOD_NOT_SUPPORTED,
      "Delete a contact at /contacts/{identity}",
    );
  };
  return {
    methods: ["get", "set", "delete"],
    hasSubpaths: true,
    async handle(request, context) {
      if (request.method === "get") return await handler(request, context);
      try {
        return await writes.run(context.session.identityKey, () => handler(request, context));
      } catch (error) {
        if (!(error instanceof KeyedLockBusy)) throw error;
        throw new ResourceFailure(
          ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
          "Too many roster changes are waiting; send them one after another",
        );
      }
    },
  };
}

/** Refuses (34) a contact that would take the roster past its count or byte quota. */
async function checkRoster(
  roster: ContactStore,
  owner: string,
  identity: string,
  size: number,
  quotas: Pick<ResourceQuotas, "contactsPerIdentity" | "rosterBytes">,
): Promise<void> {
  const contacts = await roster.listContacts(owner);
  const key = identity.toLowerCase();
  let count = 1;
  let bytes = size;
  for (const contact of contacts) {
    if (contact.identity?.toLowerCase() === key) continue; // replaced
    count++;
    bytes += jsonSize(contact);
  }
  if (count > quotas.contactsPerIdentity) {
    throw new ResourceFailure(
      ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
      `The roster holds at most ${quotas.contactsPerIdentity} contacts`,
    );
  }
  if (bytes > quotas.rosterBytes) {
    throw new ResourceFailure(
      ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
      `The roster holds at most ${quotas.rosterBytes} bytes of contacts`,
    );
  }
}
