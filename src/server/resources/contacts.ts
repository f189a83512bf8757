/**
 * `/contacts` (the roster of the session's identity, in the store): `get` lists it as a
 * collection, `set` adds or replaces a contact; `/contacts/{identity}` supports `get` and
 * `delete` (67 when there is no such contact).
 * @module
 */
import type { Contact } from "../../generated/types.generated.ts";
import { Identity } from "../../identity.ts";
import type { AccountStore } from "../account_store.ts";
import { expectType, objectResource, ResourceFailure, type ResourceHandler } from "./resource.ts";

/** The contact media type. */
export const CONTACT_TYPE = "application/vnd.lime.contact+json";
const COLLECTION_TYPE = "application/vnd.lime.collection+json";

/** The contacts resource over `store`. */
export function contactsResource(store: AccountStore): ResourceHandler {
  return {
    methods: ["get", "set", "delete"],
    hasSubpaths: true,
    async handle(request, { session, subpath }) {
      const owner = session.identity;
      if (subpath) {
        const identity = Identity.tryParse(decodeURIComponent(subpath));
        if (!identity) throw new ResourceFailure(64, `"${subpath}" is not an identity`);
        if (request.method === "get") {
          const contact = await store.getContact(owner, identity.toString());
          if (!contact) throw new ResourceFailure(67, `"${identity}" is not a contact`);
          return { type: CONTACT_TYPE, resource: contact };
        }
        if (request.method === "delete") {
          if (!(await store.deleteContact(owner, identity.toString()))) {
            throw new ResourceFailure(67, `"${identity}" is not a contact`);
          }
          return undefined;
        }
        throw new ResourceFailure(63, `${request.method} is not supported on a single contact`);
      }
      if (request.method === "get") {
        const items = await store.listContacts(owner);
        return {
          type: COLLECTION_TYPE,
          resource: { itemType: CONTACT_TYPE, total: items.length, items },
        };
      }
      if (request.method === "set") {
        expectType(request, CONTACT_TYPE);
        const contact = objectResource(request) as Contact;
        const identity = Identity.tryParse(contact.identity);
        if (!identity) throw new ResourceFailure(64, "A contact needs an identity");
        await store.putContact(owner, { ...contact, identity: identity.toString() });
        return undefined;
      }
      throw new ResourceFailure(63, "Delete a contact at /contacts/{identity}");
    },
  };
}
