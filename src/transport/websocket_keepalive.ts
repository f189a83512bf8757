/**
 * Keepalive of a server-side WebSocket: a ping when the peer has been quiet for a while, and the
 * connection given up when it stays quiet after that (a peer gone without closing: power loss,
 * a dropped route). LIME's own remote ping covers established sessions too; this one works
 * below them, for any connection.
 *
 * The connections with the same period share one interval timer (a timer, its callback and its
 * closures per connection cost a server about 600 bytes per idle session). They are dealt into
 * {@link SLICES} slices, and the timer ticks that many times a period, each tick looking at one
 * slice: every connection is looked at once a period, and a round of pings to many quiet peers is
 * spread over the period instead of written in one turn of the event loop. A connection is
 * looked at first within a period after it started (which only starts the count), so it is
 * pinged after at least one full period of silence, and given up after at least one more (each
 * at most one period later than with a timer of its own).
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

/** How many slices a period's connections are dealt into (ticks per period). */
const SLICES = 10;

/** The connections with one period, and their timer. */
class Round {
  readonly slices: Keepalive<unknown>[][] = Array.from({ length: SLICES }, () => []);
  size = 0;
  #next = 0;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(readonly ms: number) {
    // Timers take at most 2^31 - 1 ms (a longer delay fires at once).
    this.#timer = setInterval(Round.#tick, Math.min(ms / SLICES, 2 ** 31 - 1), this);
  }

  /** The slice a new member joins: the smallest (connections leave unevenly). */
  deal(): Keepalive<unknown>[] {
    this.size++;
    let smallest = this.slices[0];
    for (const slice of this.slices) if (slice.length < smallest.length) smallest = slice;
    return smallest;
  }

  static #tick(round: Round): void {
    const slice = round.slices[round.#next];
    round.#next = (round.#next + 1) % SLICES;
    // A copy: a member given up (or stopped by another's hooks) leaves by swapping the last
    // one into its place, which must neither skip nor repeat anyone.
    // A hook that throws does not cost the rest of the slice its turn: what was thrown is
    // reported once every member was looked at (an unhandled report ends the process, as a throw
    // from a timer would).
    let thrown: unknown[] | undefined;
    for (const member of slice.slice()) {
      try {
        member.check(round);
      } catch (error) {
        (thrown ??= []).push(error);
      }
    }
    if (thrown) { for (const error of thrown) reportError(error); }
  }

  /** A member left; the timer stops with the last one. */
  left(): void {
    if (--this.size > 0) return;
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
  // Its slice of the round, and its place there.
  #slice: Keepalive<unknown>[] | undefined;
  #index = -1;
  // Whether anything arrived since the last tick; true at first, so that the first tick only
  // starts the count.
  #heard = true;
  #pinged = false;

  /** Starts watching `owner` (not when `seconds` is not a positive finite number). */
  constructor(seconds: number, owner: Owner, hooks: KeepaliveHooks<Owner>) {
    this.#owner = owner;
    this.#hooks = hooks;
    if (!(seconds > 0) || !Number.isFinite(seconds)) return;
    const ms = seconds * 1000;
    let round = rounds.get(ms);
    if (!round) rounds.set(ms, round = new Round(ms));
    this.#round = round;
    const slice = this.#slice = round.deal();
    this.#index = slice.push(this as Keepalive<unknown>) - 1;
  }

  /** How many connections are watched, all periods together (each period's timer runs while it has any). */
  static get watched(): number {
    let count = 0;
    for (const round of rounds.values()) count += round.size;
    return count;
  }

  /** How many periods have a timer running. */
  static get timers(): number {
    return rounds.size;
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
    const slice = this.#slice!;
    this.#slice = undefined;
    const last = slice.pop()!;
    if (last !== this) {
      slice[this.#index] = last;
      (last as Keepalive<Owner>).#index = this.#index;
    }
    this.#index = -1;
    round.left();
  }
}
