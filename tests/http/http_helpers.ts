/**
 * Helpers for the HTTP API tests: a LimeServer with its HTTP port on 127.0.0.1 (port 0) and a TCP
 * listener for session clients, accounts with a password and an access key, and `post`, which
 * sends one request and reads the whole answer.
 * @module
 */
import assert from "node:assert/strict";
import {
  basicAuthorization,
  hashPassword,
  keyAuthorization,
  KvAccountStore,
  LimeServer,
  type LimeServerOptions,
} from "../../mod.ts";
import { connect } from "../server_test_helpers.ts";
import type { ClientChannel } from "../../mod.ts";
import { within } from "../tcp_helpers.ts";

export { basicAuthorization, keyAuthorization };

/** What `post` got back. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The body parsed as JSON (undefined when it is not JSON). */
  body: Record<string, unknown> | undefined;
  text: string;
}

/** Reads a response whole. */
export async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** A server with the HTTP API on its own port; disposes of everything it made. */
export class HttpTestServer implements AsyncDisposable {
  readonly clients: ClientChannel[] = [];

  private constructor(readonly server: LimeServer, readonly store: KvAccountStore) {}

  /** Starts a server (TCP and HTTP on 127.0.0.1, port 0; cheap hashing); `options` override. */
  static async start(options: Partial<LimeServerOptions> = {}): Promise<HttpTestServer> {
    const store = await KvAccountStore.open(":memory:");
    const { http, ...rest } = options;
    const server = new LimeServer({
      domain: "localhost",
      tcp: { hostname: "127.0.0.1", port: 0 },
      websocket: false,
      passwordIterations: 1000,
      ...rest,
      http: http === false ? false : { hostname: "127.0.0.1", port: 0, ...http },
      store,
    });
    await server.start();
    return new HttpTestServer(server, store);
  }

  /** `http://host:port`. */
  get url(): string {
    return `http://${this.server.httpAddress}`;
  }

  /** Creates an account with a password and, when given, an access key. */
  async addAccount(identity: string, password: string, key?: string): Promise<void> {
    assert.equal(
      await this.store.createAccount({
        identity,
        document: {},
        passwordHash: await hashPassword(password, 1000),
        ...(key ? { keyHash: await hashPassword(key, 1000) } : {}),
      }),
      true,
    );
  }

  /** POSTs `body` (an object is sent as JSON) to `path`, with `authorization` when given. */
  async post(
    path: string,
    body: unknown,
    authorization?: string,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const response = await fetch(`${this.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(authorization ? { authorization } : {}),
        ...headers,
      },
      body: typeof body === "string" || body instanceof ReadableStream
        ? body as BodyInit
        : JSON.stringify(body),
    });
    return await answer(response);
  }

  /** A signed-in session client of `node` over TCP (plain credentials). */
  async login(node: string, password: string): Promise<ClientChannel> {
    const [identity, instance] = node.split("/");
    const client = await connect(this.server.tcpAddress!, "tcp");
    this.clients.push(client);
    const { plainCredentials } = await import("../../mod.ts");
    await within(
      client.establishSession({ identity, instance, credentials: plainCredentials(password) }),
      5000,
      `establishing ${node}`,
    );
    return client;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server.shutdown();
    await Promise.all(this.clients.map((client) => within(client.close(), 5000, "closing")));
    this.store.close();
  }
}
