/**
 * The engine a server runs on: the small interface between a `LimeServer` (its registry,
 * router and identity rules) and whatever holds the cluster-wide state, after Centrifugo's engine
 * split (a broker and a presence manager behind one interface). Two implementations:
 * `MemoryEngine` (one process: today's behaviour, the default) and `RedisEngine` (any number of
 * processes serving one domain through one Redis: a directory of sessions and presence, an inbox
 * per server on Redis Streams, cluster-wide identity rules and sign-in throttling).
 *
 * The server talks to the engine at a few points only: a session asks to register
 * ({@link ClusterEngine.claim}), ends ({@link ClusterEngine.release}), changes its presence; an
 * identity gets an account; and the router hands the engine what it cannot deliver locally
 * ({@link RemoteRouting}). The engine calls back through the {@link EngineHost}.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Envelope } from "../envelope.ts";
import type { Reason } from "../errors.ts";
import type { SignInThrottle } from "../server/guard/login_throttle.ts";
import type { LoginThrottleOptions } from "../server/guard/login_throttle.ts";
import type { IdentityRules } from "../server/identity_rules.ts";
import type { Router } from "../server/router.ts";
import type { ServerSession } from "../server/server_session.ts";
import type { SessionRegistry } from "../server/session_registry.ts";

/** What a server gives its engine. */
export interface EngineHost {
  /** The served domain (lower case). */
  readonly domain: string;
  /** The server's sessions. */
  readonly registry: SessionRegistry;
  /** Who may be whom. */
  readonly rules: IdentityRules;
  /** The server's router (local delivery, refusals and receipts). */
  readonly router: Router;
  /**
   * Ends a local session at once with `reason`: a session of the same node on another server
   * replaced it, or its identity got an owner there.
   */
  evict(session: ServerSession, reason: Reason): void;
  /** An identity got an account on another server: local guests of it end, guest data goes. */
  ownerArrived(identityKey: string): void;
}

/**
 * Routing beyond this server: the router calls it for what it cannot settle with its own
 * sessions. Absent on a one-process engine (what is not local does not exist).
 */
export interface RemoteRouting {
  /** `to` names a node with an instance that has no session on this server. */
  toNode(sender: ServerSession, envelope: Envelope, nodeKey: string): void;
  /** `to` names an identity of the served domain: its sessions anywhere, by presence. */
  toIdentity(sender: ServerSession, envelope: Envelope, identityKey: string): void;
}

/** The engine of one server. */
export interface ClusterEngine {
  /** `memory` or `redis`. */
  readonly kind: string;
  /**
   * Binds the engine to its server (once, from the server's constructor); returns the routing
   * beyond the server, if there is such a thing.
   */
  attach(host: EngineHost): RemoteRouting | undefined;
  /** Starts: connects, announces the server, starts heartbeats and the inbox. */
  start(): Promise<void>;
  /**
   * Whether `session` (authenticated, not registered yet) may register now, cluster-wide; when it
   * may, the engine records it (remote sessions it replaces or displaces are ended by their
   * servers). Undefined when it may, else the refusal.
   */
  claim(
    session: ServerSession,
    maxPerIdentity: number,
  ): Reason | undefined | Promise<Reason | undefined>;
  /** A registered session ended (or was evicted): it no longer exists anywhere. */
  release(session: ServerSession): void;
  /** A registered session changed its presence; resolves once the cluster routes by it. */
  presenceChanged(session: ServerSession): void | Promise<void>;
  /** An identity got an account here: its guest sessions on other servers end. */
  ownerArrived(identityKey: string): void;
  /** The sign-in throttle (cluster-wide where the engine can). */
  loginThrottle(clock: Clock, options?: LoginThrottleOptions): SignInThrottle;
  /** Stops, after the server's sessions ended; the server's inbox is left to the others. */
  stop(): Promise<void>;
}
