/**
 * Helpers for the webhook tests: a bot endpoint (`Deno.serve` on 127.0.0.1, port 0) whose
 * behaviour a test scripts request by request, and registering a webhook through the HTTP API.
 * @module
 */
import assert from "node:assert/strict";
import type { HttpTestServer } from "./http_helpers.ts";
import { keyAuthorization } from "./http_helpers.ts";

/** The secret the tests' webhooks sign with. */
export const SECRET = "a-secret-of-sixteen-or-more";

/** A local HTTP endpoint; `handle` decides each answer, `requests` records what came. */
export class BotEndpoint implements AsyncDisposable {
  readonly requests: { headers: Headers; body: string }[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  /** Serves on a free port; every request goes to `handle` (and is recorded). */
  constructor(public handle: (request: Request) => Response | Promise<Response>) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const body = await request.text();
        this.requests.push({ headers: request.headers, body });
        // A copy (not `clone()`, which reads the request's signal, a legacy-behaviour warning).
        const copy = new Request(request.url, {
          method: request.method,
          headers: request.headers,
          body,
        });
        return await this.handle(copy);
      },
    ) as Deno.HttpServer<Deno.NetAddr>;
  }

  /** `http://127.0.0.1:port`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

/** Registers `identity`'s webhook (key `key`) through the HTTP API; asserts success. */
export async function setWebhook(
  t: HttpTestServer,
  identity: string,
  key: string,
  webhook: Record<string, unknown>,
): Promise<void> {
  const answer = await t.post(
    "/commands",
    {
      method: "set",
      uri: "/webhook",
      type: "application/vnd.lime.webhook+json",
      resource: { secret: SECRET, ...webhook },
    },
    keyAuthorization(identity, key),
  );
  assert.equal(answer.body?.status, "success", answer.text);
}

/** Resolves when `check` is true (polled every 10 ms), or rejects after `ms`. */
export async function eventually(check: () => boolean, ms = 5000, what = "the condition") {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
