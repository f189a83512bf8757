/**
 * The one-process engine, the default: the server's own registry is the whole directory, there
 * is no other server to route to, and the identity rules and the sign-in throttle see only this
 * process. Exactly the behaviour of a server without an engine.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Reason } from "../errors.ts";
import {
  LoginThrottle,
  type LoginThrottleOptions,
  type SignInThrottle,
} from "../server/guard/login_throttle.ts";
import type { ServerSession } from "../server/server_session.ts";
import type { ClusterEngine, EngineHost, RemoteRouting } from "./engine.ts";

/** The in-memory engine: one process serves the domain. */
export class MemoryEngine implements ClusterEngine {
  /** `memory`. */
  readonly kind = "memory";
  #host: EngineHost | undefined;

  /** Binds to the server; there is no routing beyond it. */
  attach(host: EngineHost): RemoteRouting | undefined {
    if (this.#host) throw new TypeError("This engine is attached to a server already");
    this.#host = host;
    return undefined;
  }

  /** Nothing to start. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** The identity rules against the server's registry. */
  claim(session: ServerSession, maxPerIdentity: number): Reason | undefined {
    const host = this.#host!;
    return host.rules.registrationProblem(
      session.node,
      session.scheme,
      host.registry,
      maxPerIdentity,
    );
  }

  /** Nothing to do: the registry was all there was. */
  release(_session: ServerSession): void {}

  /** Nothing to do: the router reads presence from the session. */
  presenceChanged(_session: ServerSession): void {}

  /** Nothing to do: there are no other servers. */
  ownerArrived(_identityKey: string): void {}

  /** A {@link LoginThrottle} in this process. */
  loginThrottle(clock: Clock, options?: LoginThrottleOptions): SignInThrottle {
    return new LoginThrottle(clock, options);
  }

  /** Nothing to stop. */
  stop(): Promise<void> {
    return Promise.resolve();
  }
}
