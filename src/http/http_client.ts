/**
 * A client of the HTTP API (`POST /messages`, `/notifications`, `/commands`), signed in per
 * request with `Key` (the access key) or `Basic` (the password): what a webhook bot sends with.
 * Only `fetch` and Web Crypto: it runs on Deno Deploy, in browsers and in workers alike.
 * @module
 */
import { parseEnvelope, serializeEnvelope } from "../codec_core.ts";
import type { Command, Message, Notification } from "../envelope.ts";
import { LimeError, type Reason } from "../errors.ts";
import { basicAuthorization, keyAuthorization } from "./http_credentials.ts";

/** Options of a {@link LimeHttpClient}. */
export interface LimeHttpClientOptions {
  /** The server's HTTP API root (`https://lime.example.org`, or with a path prefix). */
  url: string | URL;
  /** The identity (`name@domain`). */
  identity: string;
  /** Its access key (`Authorization: Key`); or give `password`. */
  key?: string;
  /** Its password (`Authorization: Basic`), when there is no `key`. */
  password?: string;
  /** The `fetch` to use. Default the global one. */
  fetch?: typeof fetch;
}

/** A refusal by the HTTP API: the LIME reason, and the HTTP status it came with. */
export class HttpApiError extends LimeError {
  /** The HTTP status. */
  readonly status: number;

  /** Creates the error. */
  constructor(status: number, reason: Reason) {
    super(reason);
    this.name = "HttpApiError";
    this.status = status;
  }
}

/** Sends envelopes through a LIME server's HTTP API. */
export class LimeHttpClient {
  readonly #base: string;
  readonly #authorization: string;
  readonly #fetch: typeof fetch;

  /** A client for `options.identity`; throws a TypeError without a key or a password. */
  constructor(options: LimeHttpClientOptions) {
    if (options.key === undefined && options.password === undefined) {
      throw new TypeError("A LimeHttpClient needs the identity's key or password");
    }
    this.#base = String(options.url).replace(/\/+$/, "");
    this.#authorization = options.key !== undefined
      ? keyAuthorization(options.identity, options.key)
      : basicAuthorization(options.identity, options.password!);
    this.#fetch = options.fetch ?? fetch;
  }

  /** Sends a message; resolves with its id (the server gives one to a message without). */
  async sendMessage(message: Message): Promise<string> {
    const answer = await this.#post("/messages", serializeEnvelope(message), 202);
    return (JSON.parse(answer) as { id: string }).id;
  }

  /** Sends a notification. */
  async sendNotification(notification: Notification): Promise<void> {
    await this.#post("/notifications", serializeEnvelope(notification), 202);
  }

  /**
   * Sends a command request; resolves with its response, whatever its status (a `failure`
   * response is an answer too). Rejects with an {@link HttpApiError} when the server refuses the
   * request (504, reason 86: no response in time).
   */
  async processCommand(command: Command): Promise<Command> {
    const answer = await this.#post("/commands", serializeEnvelope(command), 200);
    return parseEnvelope(answer) as Command;
  }

  async #post(path: string, body: string, expected: number): Promise<string> {
    const response = await this.#fetch(`${this.#base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: this.#authorization },
      body,
    });
    const text = await response.text();
    if (response.status === expected) return text;
    let reason: Reason = { code: 1, description: `HTTP ${response.status}` };
    try {
      const parsed = JSON.parse(text) as { reason?: Reason };
      if (typeof parsed.reason?.code === "number") reason = parsed.reason;
    } catch {
      // Not the API's JSON (a proxy's page): the status says it.
    }
    throw new HttpApiError(response.status, reason);
  }
}
