/**
 * `/presence`: `get` returns the session's presence; `set`/`merge` change status, routing rule,
 * priority and message. `domain` and `rootDomain` rules need a domain authority (reason 35). A
 * presence document over `presenceBytes` of JSON is refused (64). A change is published through
 * `published` (the server's engine) before the response: once the client hears `success`, the
 * whole cluster routes by the new presence.
 * @module
 */
import type { Presence } from "../../generated/types.generated.ts";
import type { ServerSession } from "../server_session.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";
import type { ResourceQuotas } from "./quotas.ts";
import {
  expectSizeAtMost,
  expectType,
  objectResource,
  ResourceFailure,
  type ResourceHandler,
} from "./resource.ts";

/** The presence media type. */
export const PRESENCE_TYPE = "application/vnd.lime.presence+json";

/**
 * The presence resource; `published` is told of every change (it may return a promise the
 * response waits for).
 */
export const presenceResource = (
  quotas: Pick<ResourceQuotas, "presenceBytes">,
  published: (session: ServerSession) => void | Promise<void> = () => {},
): ResourceHandler => ({
  methods: ["get", "set", "merge"],
  handle(request, { session }) {
    if (request.method === "get") {
      const p = session.presence;
      const document: Presence = {
        status: p.status,
        routingRule: p.routingRule,
        ...(p.priority ? { priority: p.priority } : {}),
        ...(p.message !== undefined ? { message: p.message } : {}),
      };
      return { type: PRESENCE_TYPE, resource: document };
    }
    expectType(request, PRESENCE_TYPE);
    const update = objectResource(request) as Presence;
    expectSizeAtMost(update, quotas.presenceBytes, "presence document");
    const rule = update.routingRule;
    if (
      (rule === "domain" || rule === "rootDomain") &&
      session.domainRole !== "authority" && session.domainRole !== "rootAuthority"
    ) {
      throw new ResourceFailure(
        ReasonCode.AUTHORIZATION_PERMISSION_REQUIRED,
        `The routing rule "${rule}" needs a domain authority`,
      );
    }
    const base = request.method === "set"
      ? { status: "unavailable" as const, routingRule: "identity" as const, priority: 0 }
      : session.presence;
    session.presence = {
      status: update.status ?? base.status,
      routingRule: rule ?? base.routingRule,
      priority: update.priority ?? base.priority,
      ...(update.message !== undefined ? { message: update.message } : {}),
      explicit: true,
    };
    const publishing = published(session);
    return publishing ? publishing.then(() => undefined) : undefined;
  },
});
