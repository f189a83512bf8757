/**
 * `/webhook`: an account's webhook (`application/vnd.lime.webhook+json`, the `Webhook` document
 * of `spec/documents/resources.json`). `set` registers `messagesUrl` (required),
 * `notificationsUrl`, `secret` (required, 16 to 256 characters) and `always`; `get` returns them
 * without the secret; `delete` removes it. Only an account's sessions (not guests) may use it;
 * URLs are checked as `webhook_destination.ts` says (64 when refused).
 * @module
 */
import { ReasonCode } from "../generated/reasons.generated.ts";
import type { Webhook } from "../generated/types.generated.ts";
import {
  expectType,
  objectResource,
  ResourceFailure,
  type ResourceHandler,
} from "../server/resources/resource.ts";
import type { ServerSession } from "../server/server_session.ts";

/** The webhook media type. */
export const WEBHOOK_TYPE = "application/vnd.lime.webhook+json";

/** Shortest webhook secret accepted. */
export const MIN_WEBHOOK_SECRET = 16;

/** What the resource stores through. */
export interface WebhookRegistry {
  /** The identity's webhook, if any. */
  get(identity: string): Promise<Webhook | undefined>;
  /** Sets it (checked already); false when the identity has no account. */
  set(identity: string, webhook: Webhook): Promise<boolean>;
  /** Removes it; false when there was none. */
  delete(identity: string): Promise<boolean>;
  /** Why a URL may not be a webhook URL, if it may not. */
  urlProblem(url: string): Promise<string | undefined>;
}

function invalid(description: string): ResourceFailure {
  return new ResourceFailure(ReasonCode.COMMAND_INVALID_ARGUMENT, description);
}

async function checked(request: Record<string, unknown>, registry: WebhookRegistry) {
  const { messagesUrl, notificationsUrl, secret, always } = request as Webhook;
  if (typeof messagesUrl !== "string") throw invalid("A webhook needs messagesUrl");
  if (
    typeof secret !== "string" || secret.length < MIN_WEBHOOK_SECRET || secret.length > 256
  ) {
    throw invalid(`A webhook needs a secret of ${MIN_WEBHOOK_SECRET} to 256 characters`);
  }
  for (const url of [messagesUrl, notificationsUrl]) {
    if (url === undefined) continue;
    const problem = await registry.urlProblem(url);
    if (problem) throw invalid(problem);
  }
  const webhook: Webhook = {
    messagesUrl,
    ...(notificationsUrl !== undefined ? { notificationsUrl } : {}),
    secret,
    ...(always ? { always: true } : {}),
  };
  return webhook;
}

function owner(session: ServerSession): string {
  if (session.guest) {
    throw new ResourceFailure(ReasonCode.COMMAND_NOT_ALLOWED, "A webhook needs an account");
  }
  return session.identity;
}

/** The `/webhook` resource over `registry`. */
export function webhookResource(registry: WebhookRegistry): ResourceHandler {
  return {
    methods: ["get", "set", "delete"],
    async handle(request, { session }) {
      const identity = owner(session);
      if (request.method === "get") {
        const webhook = await registry.get(identity);
        if (!webhook) {
          throw new ResourceFailure(
            ReasonCode.COMMAND_RESOURCE_NOT_FOUND,
            `"${identity}" has no webhook`,
          );
        }
        const { secret: _secret, ...shown } = webhook;
        return { type: WEBHOOK_TYPE, resource: shown };
      }
      if (request.method === "delete") {
        if (!(await registry.delete(identity))) {
          throw new ResourceFailure(
            ReasonCode.COMMAND_RESOURCE_NOT_FOUND,
            `"${identity}" has no webhook`,
          );
        }
        return undefined;
      }
      expectType(request, WEBHOOK_TYPE);
      const webhook = await checked(objectResource(request), registry);
      if (!(await registry.set(identity, webhook))) {
        throw new ResourceFailure(ReasonCode.COMMAND_NOT_ALLOWED, "A webhook needs an account");
      }
      return undefined;
    },
  };
}
