/**
 * The Redis engine: any number of server processes serve one domain through one Redis. Each
 * server has an id (new at every start), a liveness key refreshed by heartbeats, an inbox
 * (`redis_inbox.ts`) and a share of the directory (`redis_directory.ts`); routing beyond the
 * server is `cluster_router.ts`, what arrives is `inbox_delivery.ts`, a dead server's inbox is
 * rescued by `redis_rescue.ts`, sign-in throttling is shared (`redis_login_throttle.ts`).
 *
 * When Redis is lost, the server keeps routing between its own sessions, refuses remote
 * deliveries at once (44) and new sessions (11: the identity rules cannot be checked), and the
 * client reconnects with backoff; when it is back, the server announces itself again, recreates
 * its inbox if Redis lost it, registers its sessions again and reads what it had not
 * acknowledged.
 *
 * Keys (prefix `lime:<domain>:`): `servers` (set of ids), `srv:<id>` (liveness, TTL),
 * `inbox:<id>` (stream, group `lime`), `id:<identity>` (directory hash, TTL), `rescue:<id>`,
 * `throttle:*`; accounts are `RedisAccountStore`'s.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Reason } from "../errors.ts";
import type { LoginThrottleOptions, SignInThrottle } from "../server/guard/login_throttle.ts";
import type { ServerSession } from "../server/server_session.ts";
import { ClusterRouter } from "./cluster_router.ts";
import { DirectoryCache } from "./directory_cache.ts";
import type { ClusterEngine, EngineHost, RemoteRouting } from "./engine.ts";
import { HopLedger } from "./hop_ledger.ts";
import { InboxDelivery } from "./inbox_delivery.ts";
import { RedisDirectory } from "./redis_directory.ts";
import { RedisInbox } from "./redis_inbox.ts";
import { type RedisBackoff, RedisLink } from "./redis_link.ts";
import { RedisLoginThrottle } from "./redis_login_throttle.ts";
import { InboxRescue } from "./redis_rescue.ts";
import { ServerLiveness } from "./server_liveness.ts";

/** Options of {@link RedisEngine}. */
export interface RedisEngineOptions {
  /** Redis, `redis://host:port` (`rediss://` for TLS, `redis://user:pass@…` with ACLs). */
  url: string;
  /** Key prefix; the domain follows it. Default `lime:`. */
  prefix?: string;
  /**
   * Milliseconds a server's liveness key and its directory entries live without a heartbeat
   * (heartbeats every third of it): a crashed server's sessions are gone from routing within
   * this. Default 15,000.
   */
  ttl?: number;
  /** Milliseconds to hear the outcome of an envelope sent to another server. Default 30,000. */
  hopTimeout?: number;
  /** Most tracked envelopes in flight to other servers; more are refused (44). Default 100,000. */
  maxInFlight?: number;
  /** Milliseconds a remote node's server is remembered. Default 5,000. */
  nodeCacheTtl?: number;
  /** Longest envelope text that crosses to another server (UTF-16 units). Default 8 MiB. */
  maxEnvelopeSize?: number;
  /** Inbox entries read at once. Default 64. */
  readCount?: number;
  /** Characters of inbox entries in the works at once. Default 32 Mi. */
  maxUnackedChars?: number;
  /** Reconnection delays. */
  backoff?: RedisBackoff;
  /** This server's id (default: random, new at every start). */
  serverId?: string;
}

/** Counts of a {@link RedisEngine}. */
export interface RedisEngineStats {
  /** Inbox entries handled. */
  inboxHandled: number;
  /** Malformed inbox entries refused (logged and acknowledged). */
  inboxMalformed: number;
  /** Inbox entries in the works (read, not acknowledged). */
  inboxInWork: number;
  /** Tracked envelopes waiting for their outcome from another server. */
  inFlight: number;
  /** Identities with a directory snapshot in the cache. */
  cachedIdentities: number;
  /** Servers seen dead. */
  deadServers: number;
}

/** The parts of a started engine. */
interface Parts {
  prefix: string;
  cache: DirectoryCache;
  directory: RedisDirectory;
  router: ClusterRouter;
  delivery: InboxDelivery;
  inbox: RedisInbox;
  rescue: InboxRescue;
}

/** The Redis engine of one server. */
export class RedisEngine implements ClusterEngine {
  /** `redis`. */
  readonly kind = "redis";
  /** This server's id. */
  readonly serverId: string;
  /** The connections. */
  readonly link: RedisLink;
  /** Which servers are alive. */
  readonly liveness: ServerLiveness;
  readonly #ledger: HopLedger;
  readonly #options: RedisEngineOptions;
  readonly #ttl: number;
  #parts: Parts | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  #beating = false;
  #started = false;
  #stopped = false;
  #recovering: Promise<void> | undefined;
  #needsRecovery = false;

  /** An engine on the Redis at `options.url` (connected by `start`). */
  constructor(options: RedisEngineOptions) {
    this.#options = options;
    this.#ttl = options.ttl ?? 15_000;
    this.serverId = options.serverId ?? `s${crypto.randomUUID().slice(0, 8)}`;
    this.link = new RedisLink(options.url, options.backoff);
    this.liveness = new ServerLiveness(this.serverId);
    this.#ledger = new HopLedger(options.maxInFlight ?? 100_000, options.hopTimeout ?? 30_000);
  }

  /** The parts, once attached. */
  private get parts(): Readonly<Parts> {
    if (!this.#parts) throw new TypeError("The engine is not attached to a server");
    return this.#parts;
  }

  /** What the engine did so far (for tests and metrics). */
  stats(): RedisEngineStats {
    const parts = this.#parts;
    return {
      inboxHandled: parts?.inbox.counts.handled ?? 0,
      inboxMalformed: parts?.inbox.counts.malformed ?? 0,
      inboxInWork: parts?.inbox.inWork ?? 0,
      inFlight: this.#ledger.size,
      cachedIdentities: parts?.cache.identityCount ?? 0,
      deadServers: this.liveness.deadCount,
    };
  }

  /** Binds to the server; returns the routing to other servers. */
  attach(host: EngineHost): RemoteRouting {
    if (this.#parts) throw new TypeError("This engine is attached to a server already");
    const o = this.#options;
    const me = this.serverId;
    const prefix = `${o.prefix ?? "lime:"}${host.domain}:`;
    const inboxOf = (server: string) => `${prefix}inbox:${server}`;
    const maxEnvelopeChars = o.maxEnvelopeSize ?? 8 * 1024 * 1024;
    const limits = { maxEnvelopeChars, maxJsonChars: 1024 * 1024 };
    const cache = new DirectoryCache(o.nodeCacheTtl ?? 5_000);
    const directory = new RedisDirectory({
      link: this.link,
      prefix,
      ttl: this.#ttl,
      rules: host.rules,
      registry: host.registry,
      liveness: this.liveness,
      cache,
      evict: (session, reason) => host.evict(session, reason),
    });
    const router = new ClusterRouter({
      host,
      link: this.link,
      directory,
      liveness: this.liveness,
      ledger: this.#ledger,
      inboxOf,
      maxEnvelopeChars,
    });
    const delivery = new InboxDelivery({
      host,
      me,
      link: this.link,
      directory,
      cache,
      router,
      inboxOf,
    });
    const inbox = new RedisInbox({
      link: this.link,
      stream: inboxOf(me),
      consumer: me,
      limits,
      readCount: o.readCount,
      maxUnackedChars: o.maxUnackedChars,
      handle: delivery.handle,
    });
    const rescue = new InboxRescue({
      link: this.link,
      prefix,
      me,
      lockTtl: this.#ttl,
      limits,
      handle: delivery.rescued,
    });
    this.#parts = { prefix, cache, directory, router, delivery, inbox, rescue };
    return router;
  }

  /** Connects, announces the server, opens its inbox, starts the heartbeats. */
  async start(): Promise<void> {
    const { inbox, cache } = this.parts;
    if (this.#started) return;
    this.#started = true;
    await this.link.connect();
    this.link.onDown(() => cache.distrust());
    this.link.onReady(() => this.#recover());
    await this.#announce();
    await inbox.ensureGroup();
    inbox.start();
    this.#timers.push(setInterval(() => this.#beat(), Math.max(50, this.#ttl / 3)));
    const hopTimeout = this.#options.hopTimeout ?? 30_000;
    this.#timers.push(
      setInterval(
        () => this.parts.router.expire(Math.round(hopTimeout / 1000)),
        Math.min(1_000, hopTimeout / 4),
      ),
    );
  }

  /** Sets the liveness key; resolves with whether it was still there (false: it had lapsed). */
  async #announce(): Promise<boolean> {
    const { prefix } = this.parts;
    const [previous] = await Promise.all([
      this.link.call(["SET", `${prefix}srv:${this.serverId}`, Date.now(), "PX", this.#ttl, "GET"]),
      this.link.call(["SADD", `${prefix}servers`, this.serverId]),
    ]);
    return previous !== null;
  }

  /** After a reconnection: announce, recreate the inbox, register the sessions again. */
  #recover(): void {
    if (!this.#started || this.#stopped || this.#recovering) return;
    this.#recovering = (async () => {
      const { inbox, directory, cache } = this.parts;
      try {
        await this.#announce();
        await inbox.ensureGroup();
        await directory.reregister();
        await inbox.recoverPending();
        cache.trusting = true;
        this.#needsRecovery = false;
      } catch (error) {
        this.#needsRecovery = true;
        if (!this.#stopped) {
          console.error("LIME cluster: recovery after a reconnection failed", error);
        }
      }
    })().finally(() => this.#recovering = undefined);
  }

  /** The liveness key had lapsed: register everything again, as after a reconnection. */
  #lapsed(): void {
    console.error("LIME cluster: this server's liveness lapsed (stalled past the TTL)");
    this.#needsRecovery = true;
  }

  /** One heartbeat: liveness, directory TTLs, who else is alive, rescues, inbox trimming. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#stopped || !this.link.isUp) return;
    if (this.#needsRecovery) return this.#recover();
    this.#beating = true;
    const { prefix, directory, cache, rescue, inbox } = this.parts;
    try {
      // Settled whatever happens below (a rejection must never go unhandled). A key that lapsed
      // (this process was stalled longer than the TTL) is registered again: the others may have
      // taken this server for dead and dropped its entries.
      const identities = directory.localIdentities();
      const lapsed = new Set<string>();
      const refresh = Promise.allSettled([
        this.#announce().then((kept) => {
          if (!kept) this.#lapsed();
        }),
        ...identities.map((identity) =>
          this.link.call<number>(["PEXPIRE", directory.key(identity), this.#ttl]).then((kept) => {
            if (kept === 0) lapsed.add(identity);
          })
        ),
      ]);
      const members = await this.link.call<string[]>(["SMEMBERS", `${prefix}servers`]);
      const alive = await Promise.all(
        members.map((server) => this.link.call<number>(["EXISTS", `${prefix}srv:${server}`])),
      );
      await refresh;
      if (lapsed.size > 0) await directory.reregister(lapsed);
      const { died, gone } = this.liveness.update(members, alive.map((n) => n === 1));
      for (const server of died) cache.forgetServer(server);
      for (const server of gone) rescue.rescue(server).catch(() => {});
      await inbox.trim();
    } catch {
      // Redis went away meanwhile: the next heartbeat tries again.
    } finally {
      this.#beating = false;
    }
  }

  /** The identity rules against the cluster's directory. */
  claim(session: ServerSession, maxPerIdentity: number): Promise<Reason | undefined> {
    return this.parts.directory.claim(session, maxPerIdentity);
  }

  /** Removes a session's directory entry. */
  release(session: ServerSession): void {
    this.parts.directory.release(session);
  }

  /** Publishes a session's presence to the directory. */
  presenceChanged(session: ServerSession): Promise<void> {
    return this.parts.directory.publishPresence(session);
  }

  /** Ends the identity's guest sessions on other servers. */
  ownerArrived(identityKey: string): void {
    this.parts.directory.evictGuests(identityKey).catch((error) =>
      console.error("LIME cluster: guests of a new account could not be ended elsewhere", error)
    );
  }

  /** A throttle whose counts live in Redis (shared by the cluster). */
  loginThrottle(clock: Clock, options?: LoginThrottleOptions): SignInThrottle {
    return new RedisLoginThrottle(this.link, `${this.parts.prefix}throttle:`, clock, options);
  }

  /**
   * Stops: the heartbeats and the inbox stop, the directory changes in flight finish, the
   * liveness key goes (so the others rescue what is left in the inbox at once), the connections
   * close.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (!this.#parts || !this.#started) {
      this.link.close();
      return;
    }
    const { inbox, delivery, directory, rescue, prefix } = this.#parts;
    inbox.stop();
    delivery.flush();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([directory.idle(), rescue.active, this.#recovering]),
      new Promise((resolve) => timer = setTimeout(resolve, 2_000)),
    ]);
    clearTimeout(timer);
    await this.link.call(["DEL", `${prefix}srv:${this.serverId}`]).catch(() => {});
    this.link.close();
    await inbox.finished();
    this.#ledger.clear();
  }
}
