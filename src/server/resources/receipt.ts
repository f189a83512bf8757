/**
 * `/receipt`: the events the session wants the server to notify for the messages it sends
 * (`accepted`, `dispatched`; `failed` is always sent).
 * @module
 */
import type { NotificationEvent } from "../../generated/enums.generated.ts";
import type { Receipt } from "../../generated/types.generated.ts";
import { expectType, objectResource, type ResourceHandler } from "./resource.ts";

/** The receipt media type. */
export const RECEIPT_TYPE = "application/vnd.lime.receipt+json";

/** The receipt resource. */
export const receiptResource: ResourceHandler = {
  methods: ["get", "set"],
  handle(request, { session }) {
    if (request.method === "get") {
      const document: Receipt = { events: [...session.receiptEvents] };
      return { type: RECEIPT_TYPE, resource: document };
    }
    expectType(request, RECEIPT_TYPE);
    const events = (objectResource(request) as Receipt).events ?? [];
    session.receiptEvents = new Set<NotificationEvent>(["failed", ...events]);
    return undefined;
  },
};
