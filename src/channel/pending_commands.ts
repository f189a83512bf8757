/**
 * Correlation of command requests with their responses: a map from id to the waiting caller,
 * whose entry is removed on every exit path (response, timeout, abort, close). A response
 * completes a request only when it comes from where the request went. Timeouts share one
 * timer armed for the earliest deadline (a timer per command cost a third of a command round
 * trip); it is re-armed when it fires and cleared when the table is emptied by `rejectAll`.
 * @module
 */
import type { Command } from "../envelope.ts";
import { type Clock, systemClock, type TimerHandle } from "../clock.ts";
import { ChannelError } from "./errors.ts";
import { answersRequest } from "./response_origin.ts";

interface Entry {
  id: string;
  resolve: (response: Command) => void;
  reject: (error: unknown) => void;
  /** When it times out (on the clock), or Infinity. */
  deadline: number;
  timeout: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Where the request went (its `to`). */
  to: string | undefined;
}

/** Options of one wait. */
export interface CommandWaitOptions {
  /** Milliseconds to wait; no timeout when undefined or 0. */
  timeout?: number;
  /** Aborts the wait. */
  signal?: AbortSignal;
  /** Where the request went (its `to`): only a response from there completes it. */
  to?: string;
}

/** The requests waiting for a response. */
export class PendingCommands {
  // The only waiting request (sequential calls, the common case) needs no map: a map made and
  // dropped per command was a tenth of what a command round trip allocated.
  #one: Entry | undefined;
  // The others, when more than one waits (`#one`, when set, is older than all of them): made then
  // and dropped once empty, so that the next lone request takes the fast path again.
  #entries: Map<string, Entry> | undefined;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;

  /** Creates an empty table. */
  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** How many requests wait. */
  get size(): number {
    return this.#all().length;
  }

  /**
   * Registers a request id and returns the promise of its response. Throws a `duplicate-id`
   * ChannelError at once when the id already waits.
   */
  wait(id: string, options: CommandWaitOptions = {}): Promise<Command> {
    if (this.#get(id)) {
      throw new ChannelError(
        "duplicate-id",
        `The command id "${id}" is already waiting for a response`,
      );
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortedError(id, signal));
    return new Promise<Command>((resolve, reject) => {
      const timeout = options.timeout ?? 0;
      const entry: Entry = {
        id,
        resolve,
        reject,
        deadline: timeout ? this.#clock.now() + timeout : Infinity,
        timeout,
        signal,
        onAbort: undefined,
        to: options.to,
      };
      if (signal) {
        entry.onAbort = () => this.#settle(id, abortedError(id, signal));
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      if (this.#one || this.#entries) (this.#entries ??= new Map()).set(id, entry);
      else this.#one = entry;
      if (entry.deadline < this.#timerAt) this.#arm(entry.deadline);
    });
  }

  #arm(at: number): void {
    this.#disarm();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#expire(), Math.max(0, at - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** Times out what is due, then re-arms for the earliest deadline left. */
  #expire(): void {
    this.#disarm();
    const now = this.#clock.now();
    let next = Infinity;
    for (const entry of this.#all()) {
      if (entry.deadline <= now) {
        this.#settle(
          entry.id,
          new ChannelError(
            "timeout",
            `The command "${entry.id}" timed out after ${entry.timeout} ms`,
          ),
        );
      } else if (entry.deadline < next) next = entry.deadline;
    }
    if (next < this.#timerAt) this.#arm(next);
  }

  /**
   * Completes the request answered by `response`; false when nothing waits for its id, or when
   * the response does not come from where the request went (see `response_origin.ts`; `peer` is
   * the channel's remote node).
   */
  resolve(response: Command, peer?: string): boolean {
    const id = response.id;
    if (id === undefined) return false;
    const entry = this.#get(id);
    if (!entry || !answersRequest(response.from, entry.to, peer)) return false;
    this.#settle(id, undefined, response);
    return true;
  }

  /** Gives up on one request (its send failed). */
  reject(id: string, error: unknown): void {
    this.#settle(id, error);
  }

  /** Rejects every waiting request with `error()`, made only if one waits (the channel closed). */
  rejectAll(error: () => unknown): void {
    for (const entry of this.#all()) this.#settle(entry.id, error());
    this.#disarm();
  }

  #settle(id: string, error: unknown, response?: Command): void {
    const entry = this.#get(id);
    if (!entry) return;
    if (entry === this.#one) this.#one = undefined;
    else if (this.#entries!.delete(id) && !this.#entries!.size) this.#entries = undefined;
    if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
    if (response) entry.resolve(response);
    else entry.reject(error);
  }

  #get(id: string): Entry | undefined {
    return this.#one?.id === id ? this.#one : this.#entries?.get(id);
  }

  /** Every waiting request, oldest first (a copy: settling them changes the table). */
  #all(): Entry[] {
    return [...this.#one ? [this.#one] : [], ...this.#entries?.values() ?? []];
  }
}

function abortedError(id: string, signal: AbortSignal): ChannelError {
  return new ChannelError("aborted", `The command "${id}" was aborted`, { cause: signal.reason });
}
