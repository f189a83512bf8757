/**
 * The server's HTTP edge: the HTTP API (`http_api.ts`) with its sessions, sign-in and budgets,
 * the webhooks (`webhooks.ts`), and the periodic sweep that closes idle HTTP sessions and forgets
 * idle addresses. The server makes one (with the {@link EdgeHost} it lends it), hands it the
 * requests to `/messages`, `/notifications` and `/commands`, and mounts its `/webhook` resource.
 * @module
 */
import type { TimerHandle } from "../clock.ts";
import { CredentialCache, type CredentialCacheOptions } from "./credential_cache.ts";
import type { EdgeHost } from "./edge_host.ts";
import { EdgeSessions } from "./edge_sessions.ts";
import { HTTP_API_PATHS, HttpApi } from "./http_api.ts";
import { HttpAuthenticator } from "./http_authenticator.ts";
import { AddressShapers, RequestSlots } from "./http_budget.ts";
import { type WebhookOptions, Webhooks } from "./webhooks.ts";
import { attributeCache, httpRequestsCounter } from "../observability/metrics.ts";

const requestAttributes = attributeCache((key: string) => {
  const [route, status] = key.split(" ");
  return { "http.route": route, "http.response.status_code": Number(status) };
});

/** Options of the HTTP API (`LimeServerOptions.http`). */
export interface HttpApiOptions {
  /** The instance of the HTTP identities' nodes (`name@domain/<instance>`). Default `http`. */
  instance?: string;
  /** Milliseconds a `POST /commands` waits for its response before 504. Default 30,000. */
  commandTimeout?: number;
  /** Milliseconds a request body has to arrive before 408. Default 10,000. */
  bodyTimeout?: number;
  /** Requests in progress from one source address; more get 429 at once. Default 64; 0: no cap. */
  maxRequestsPerAddress?: number;
  /** Requests in progress in all; more get 503 at once. Default 4,096. */
  maxRequests?: number;
  /**
   * Milliseconds an identity's HTTP session stays open unused (without a webhook); it closes at
   * the next sweep after that (every 5 s, or every `idleTimeout` when shorter). Default 30,000.
   */
  idleTimeout?: number;
  /** The cache of verified `Authorization` headers (see `credential_cache.ts`). */
  credentialCache?: CredentialCacheOptions;
}

/** The defaults of {@link HttpApiOptions}. */
export const HTTP_API_DEFAULTS: Readonly<Required<Omit<HttpApiOptions, "credentialCache">>> = Object
  .freeze({
    instance: "http",
    commandTimeout: 30_000,
    bodyTimeout: 10_000,
    maxRequestsPerAddress: 64,
    maxRequests: 4_096,
    idleTimeout: 30_000,
  });

/** How often idle sessions and addresses are looked for, in ms (more often for a shorter idle time). */
const SWEEP_INTERVAL = 5_000;

/** The HTTP edge of one server. */
export class HttpEdge {
  /** The identities' sessions. */
  readonly sessions: EdgeSessions;
  /** The webhooks, when a Deno KV database holds them. */
  readonly webhooks: Webhooks | undefined;
  readonly #host: EdgeHost;
  readonly #api: HttpApi | undefined;
  readonly #addresses: AddressShapers;
  readonly #slots: RequestSlots;
  readonly #credentials: CredentialCache;
  #timer: TimerHandle | undefined;
  readonly #sweepEvery: number;
  #closed = false;

  /**
   * The edge of `host`: the HTTP API with `options` (none with `false`), webhooks in
   * `webhooks.kv` when given.
   */
  constructor(
    host: EdgeHost,
    options: HttpApiOptions | false = {},
    webhooks?: WebhookOptions & { kv: Deno.Kv },
  ) {
    const settings = { ...HTTP_API_DEFAULTS, ...(options || {}) };
    this.#host = host;
    this.sessions = new EdgeSessions(host, settings.instance, settings.idleTimeout);
    // An idle session closes within its idle time and one sweep: a short idle time is kept.
    const idle = settings.idleTimeout;
    this.#sweepEvery = Number.isFinite(idle) && idle > 0
      ? Math.min(SWEEP_INTERVAL, Math.max(idle, 50))
      : SWEEP_INTERVAL;
    this.#addresses = new AddressShapers(host.shaping, host.clock);
    this.#slots = new RequestSlots(settings.maxRequestsPerAddress, settings.maxRequests);
    this.webhooks = webhooks ? new Webhooks(host, this.sessions, webhooks.kv, webhooks) : undefined;
    this.#credentials = new CredentialCache(host.clock, settings.credentialCache);
    this.#api = options === false ? undefined : new HttpApi({
      host,
      sessions: this.sessions,
      authenticator: new HttpAuthenticator(host, this.#credentials),
      slots: this.#slots,
      addresses: this.#addresses,
      limits: { commandTimeout: settings.commandTimeout, bodyTimeout: settings.bodyTimeout },
    });
  }

  /** HTTP requests in progress. */
  get requestsInProgress(): number {
    return this.#slots.size;
  }

  /**
   * The identity's password or access key changed through this server: its cached sign-ins go
   * at once (other servers sharing the store notice within `revalidateAfter`).
   */
  secretsChanged(identity: string): void {
    this.#credentials.forgetIdentity(identity.toLowerCase());
  }

  /** Whether `pathname` is one the HTTP API serves. */
  serves(pathname: string): boolean {
    return this.#api !== undefined && Object.hasOwn(HTTP_API_PATHS, pathname);
  }

  /** Starts the webhooks (their sessions, the outbox left by a previous run, the queue). */
  start(): Promise<void> {
    return this.webhooks?.start() ?? Promise.resolve();
  }

  /** Handles one request to the HTTP API (see {@link serves}). */
  async handle(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    this.#arm();
    await this.start();
    const response = await this.#api!.handle(request, info);
    httpRequestsCounter.add(
      1,
      requestAttributes(`${new URL(request.url).pathname} ${response.status}`),
    );
    return response;
  }

  /** Keeps the sweep running while there is something to sweep. */
  #arm(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const clock = this.#host.clock;
    const tick = () => {
      this.#timer = undefined;
      this.sessions.sweep();
      this.#addresses.sweep();
      if (this.sessions.size > 0 || this.#addresses.size > 0) this.#arm();
    };
    this.#timer = clock.setTimeout(tick, this.#sweepEvery);
  }

  /** Stops the sweep and closes every HTTP session. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.webhooks?.close();
    await this.sessions.close();
    this.#addresses.clear();
  }
}
