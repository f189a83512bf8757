/**
 * Keepalive of a server-side WebSocket: a ping when the peer has been quiet for a while, and the
 * connection given up when it stays quiet after that (a peer gone without closing: power loss,
 * a dropped route). LIME's own remote ping covers established sessions too; this one works
 * below them, for any connection.
 * @module
 */

/** What a {@link Keepalive} does to its connection. */
export interface KeepaliveHooks {
  /** Sends a ping. */
  ping(): void;
  /** Whether reading is paused (a paused reader cannot hear the answer: it is not counted). */
  paused(): boolean;
  /** The peer answered nothing for two periods: the connection is dead. */
  dead(): void;
}

/** Pings after `seconds` of silence; declares the peer dead after `seconds` more. */
export class Keepalive {
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #heard = false;
  #pinged = false;

  /** Starts the timer (none when `seconds` is not positive). */
  constructor(seconds: number, hooks: KeepaliveHooks) {
    if (!(seconds > 0)) return;
    this.#timer = setInterval(() => {
      if (this.#heard || hooks.paused()) {
        this.#heard = false;
        this.#pinged = false;
      } else if (this.#pinged) {
        this.stop();
        hooks.dead();
      } else {
        this.#pinged = true;
        hooks.ping();
      }
    }, seconds * 1000);
  }

  /** Something arrived from the peer. */
  heard(): void {
    this.#heard = true;
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
