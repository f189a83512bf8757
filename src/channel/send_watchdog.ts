/**
 * The send timeout without a timer per send: sends in flight are kept in insertion order with
 * their start time, and one timer (armed only while something is in flight) checks the oldest.
 * When it has waited longer than the timeout the channel is aborted with a `timeout` error.
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";
import { ChannelError } from "./errors.ts";

/** What a timed-out send aborts: its channel (not a closure of it: a server keeps one per session). */
export interface Abortable {
  /** Ends with `error`. */
  abort(error: Error): void;
}

/** Watches sends in flight for a timeout. */
export class SendWatchdog {
  readonly #clock: Clock;
  readonly #timeout: number;
  readonly #channel: Abortable;
  // Made while sends are in flight and dropped after: a server keeps a watchdog per session.
  #inFlight: Map<number, number> | undefined;
  #next = 0;
  #timer: TimerHandle | undefined;
  #stopped = false;

  /** `timeout` 0 disables the watch; a send that times out aborts `channel`. */
  constructor(clock: Clock, timeout: number, channel: Abortable) {
    this.#clock = clock;
    this.#timeout = timeout;
    this.#channel = channel;
  }

  /** Watches one send; returns a promise settling like it. */
  watch(send: Promise<void>): Promise<void> {
    if (!this.#timeout || this.#stopped) return send;
    const token = this.#next++;
    const inFlight = this.#inFlight ??= new Map();
    inFlight.set(token, this.#clock.now());
    this.#arm(this.#timeout);
    return send.finally(() => {
      inFlight.delete(token);
      if (inFlight.size === 0 && this.#inFlight === inFlight) this.#inFlight = undefined;
    });
  }

  /** Stops watching (the channel closed). */
  stop(): void {
    this.#stopped = true;
    this.#inFlight = undefined;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#check(), ms);
  }

  #check(): void {
    this.#timer = undefined;
    const oldest = this.#inFlight?.values().next();
    if (!oldest || oldest.done || this.#stopped) return;
    const waited = this.#clock.now() - oldest.value;
    if (waited >= this.#timeout) {
      this.stop();
      this.#channel.abort(
        new ChannelError("timeout", `A send waited for the transport for over ${this.#timeout} ms`),
      );
      return;
    }
    this.#arm(this.#timeout - waited);
  }
}
