/**
 * Keepalive of a server-side WebSocket: a ping when the peer has been quiet for a while, and the
 * connection given up when it stays quiet after that (a peer gone without closing: power loss,
 * a dropped route). LIME's own remote ping covers established sessions too; this one works
 * below them, for any connection.
 *
 * The connections with the same period share one interval timer (a timer, its callback and its
 * closures per connection cost a server about 600 bytes per idle session): each tick looks at
 * every connection of its period. A connection is checked first at the second tick after it
 * started, so it is pinged after at least one full period of silence, and given up after at
 * least one more (at most one period later than with a timer of its own).
 * @module
 */

/** What a {@link Keepalive} does to its connection (methods, so that one object serves all). */
export interface KeepaliveHooks<Owner> {
  /** Sends a ping. */
  sendPing(owner: Owner): void;
  /** Whether reading is paused (a paused reader cannot hear the answer: it is not counted). */
  paused(owner: Owner): boolean;
  /** The peer answered nothing for two periods of `seconds`: the connection is dead. */
  dead(owner: Owner, seconds: number): void;
}

/** The connections with one period, and their timer. */
class Round {
  readonly members: Keepalive<unknown>[] = [];
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(readonly ms: number) {
    this.#timer = setInterval(Round.#tick, ms, this);
  }

  static #tick(round: Round): void {
    // A copy: a member given up (or stopped by another's hooks) leaves by swapping the last
    // one into its place, which must neither skip nor repeat anyone.
    for (const member of round.members.slice()) member.check(round);
  }

  stop(): void {
    clearInterval(this.#timer);
    rounds.delete(this.ms);
  }
}

const rounds = new Map<number, Round>();

/** Pings after `seconds` of silence; declares the peer dead after `seconds` more. */
export class Keepalive<Owner> {
  readonly #owner: Owner;
  readonly #hooks: KeepaliveHooks<Owner>;
  #round: Round | undefined;
  // Its place in its round's members.
  #index = -1;
  // Whether anything arrived since the last tick; true at first, so that the first tick only
  // starts the count.
  #heard = true;
  #pinged = false;

  /** Starts watching `owner` (not when `seconds` is not positive). */
  constructor(seconds: number, owner: Owner, hooks: KeepaliveHooks<Owner>) {
    this.#owner = owner;
    this.#hooks = hooks;
    if (!(seconds > 0)) return;
    const ms = seconds * 1000;
    let round = rounds.get(ms);
    if (!round) rounds.set(ms, round = new Round(ms));
    this.#round = round;
    this.#index = round.members.push(this as Keepalive<unknown>) - 1;
  }

  /** Something arrived from the peer. */
  heard(): void {
    this.#heard = true;
  }

  /** A tick of `round` (nothing when it stopped watching meanwhile). */
  check(round: Round): void {
    if (this.#round !== round) return;
    const hooks = this.#hooks;
    if (this.#heard || hooks.paused(this.#owner)) {
      this.#heard = false;
      this.#pinged = false;
    } else if (this.#pinged) {
      this.stop();
      hooks.dead(this.#owner, round.ms / 1000);
    } else {
      this.#pinged = true;
      hooks.sendPing(this.#owner);
    }
  }

  /** Stops watching (again: nothing). */
  stop(): void {
    const round = this.#round;
    if (!round) return;
    this.#round = undefined;
    const members = round.members;
    const last = members.pop()!;
    if (last !== this) {
      members[this.#index] = last;
      (last as Keepalive<Owner>).#index = this.#index;
    }
    this.#index = -1;
    if (members.length === 0) round.stop();
  }
}
