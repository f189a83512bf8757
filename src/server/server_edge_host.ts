/**
 * The {@link EdgeHost} a `LimeServer` lends its HTTP edge (`src/http/`): its registry, router,
 * identity rules, rate limits, login throttle and hashing slots, and registration through the
 * server's {@link SessionRegistration} (the engine's claim, so the identity rules hold
 * cluster-wide), with each HTTP session's registration observed like a connection's.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { EdgeHost } from "../http/edge_host.ts";
import { EdgeSessionEvents } from "../observability/session_events.ts";
import { DEFAULT_MAX_ENVELOPE_SIZE, DEFAULT_MAX_MEMBERS } from "../transport/transport.ts";
import type { SignInThrottle } from "./guard/login_throttle.ts";
import type { PasswordWork } from "./guard/password_work.ts";
import type { TrafficShaping } from "./guard/traffic_shaper.ts";
import type { IdentityRules } from "./identity_rules.ts";
import type { Router } from "./router.ts";
import { type LimeServerOptions, SERVER_DEFAULTS } from "./server_options.ts";
import type { SessionRegistration } from "./session_registration.ts";
import type { SessionRegistry } from "./session_registry.ts";

/** What of the server its edge host is made of. */
export interface EdgeHostParts {
  options: LimeServerOptions;
  domain: string;
  serverNode: string;
  registry: SessionRegistry;
  rules: IdentityRules;
  shaping: TrafficShaping;
  registration: SessionRegistration;
  throttle: SignInThrottle;
  passwordWork: PasswordWork;
  /** The router (made after the edge: read when used). */
  router(): Router;
  /** Whether the server is shutting down. */
  stopping(): boolean;
  /** The server's clock. */
  clock: Clock;
}

/** The edge host of a server made of `parts`. */
export function serverEdgeHost(parts: EdgeHostParts): EdgeHost {
  const { options, registration } = parts;
  const perIdentity = options.maxSessionsPerIdentity ?? SERVER_DEFAULTS.maxSessionsPerIdentity;
  const events = new EdgeSessionEvents();
  return {
    domain: parts.domain,
    serverNode: parts.serverNode,
    store: options.store,
    registry: parts.registry,
    get router() {
      return parts.router();
    },
    rules: parts.rules,
    shaping: parts.shaping,
    throttle: parts.throttle,
    passwordWork: parts.passwordWork,
    clock: parts.clock,
    plainWithoutTls: options.plainWithoutTls ?? "loopback",
    trustProxy: options.trustProxy ?? false,
    trustProxyTls: options.trustProxyTls ?? false,
    maxEnvelopeSize: options.maxEnvelopeSize ?? DEFAULT_MAX_ENVELOPE_SIZE,
    maxMembers: options.maxMembers ?? DEFAULT_MAX_MEMBERS,
    maxSessionsPerIdentity: perIdentity,
    get stopping() {
      return parts.stopping();
    },
    register: (channel, node, scheme, source) => {
      const registered = registration.register(
        channel,
        node,
        "member",
        scheme,
        source,
        perIdentity,
      );
      return registered instanceof Promise
        ? registered.then((outcome) => events.registered(outcome))
        : events.registered(registered);
    },
    unregister: (session) => {
      events.unregistered(session);
      registration.unregister(session);
    },
  };
}
