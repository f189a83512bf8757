/**
 * Detects a silent peer (lime-protocol §6.5): once established, after `interval` ms without
 * receiving anything the channel sends `get /ping` (its response is swallowed as a command
 * response); after `idleTimeout` ms without receiving anything it finishes the session, and closes
 * the transport with a `timeout` error if the peer does not answer that either.
 * @module
 */
import type { Clock, TimerHandle } from "../../clock.ts";
import { Command } from "../../envelope.ts";
import type { SessionState } from "../../generated/enums.generated.ts";
import type { Channel } from "../channel.ts";
import type { ChannelModule } from "../channel_module.ts";
import { ChannelError } from "../errors.ts";

/** Pings an idle peer and ends the session with a silent one. */
export class RemotePingModule implements ChannelModule {
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #idleTimeout: number;
  #timer: TimerHandle | undefined;
  #pinging = false;
  #done = false;

  /** Pings after `interval` ms of silence; gives up after `idleTimeout` ms (≥ interval). */
  constructor(clock: Clock, interval: number, idleTimeout: number) {
    if (!(interval > 0)) throw new RangeError(`remotePingInterval must be > 0, got ${interval}`);
    if (!(idleTimeout >= interval)) {
      throw new RangeError(
        `remoteIdleTimeout (${idleTimeout}) must be at least remotePingInterval (${interval})`,
      );
    }
    this.#clock = clock;
    this.#interval = interval;
    this.#idleTimeout = idleTimeout;
  }

  /** Starts watching when the session is established; stops when it leaves that state. */
  onStateChanged(state: SessionState, channel: Channel): void {
    if (state === "established") this.#schedule(channel, this.#interval);
    else this.#stop();
  }

  /** Stops the timer. */
  onClosed(): void {
    this.#done = true;
    this.#stop();
  }

  #stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(channel: Channel, ms: number): void {
    this.#stop();
    if (this.#done) return;
    this.#timer = this.#clock.setTimeout(() => this.#tick(channel), Math.max(1, ms));
  }

  #tick(channel: Channel): void {
    this.#timer = undefined;
    if (this.#done || channel.state !== "established") return;
    const idle = this.#clock.now() - channel.lastReceivedAt;
    if (idle >= this.#idleTimeout) {
      this.#done = true;
      const error = new ChannelError(
        "timeout",
        `The peer sent nothing for ${idle} ms (remote idle timeout ${this.#idleTimeout} ms)`,
      );
      channel.finish().catch(() => {}).finally(() => channel.abort(error));
      return;
    }
    if (idle >= this.#interval && !this.#pinging) {
      this.#pinging = true;
      channel.processCommand(new Command("get", "/ping"), { timeout: this.#idleTimeout })
        .catch(() => {})
        .finally(() => this.#pinging = false);
    }
    const next = idle >= this.#interval
      ? Math.min(this.#interval, this.#idleTimeout - idle)
      : this.#interval - idle;
    this.#schedule(channel, next);
  }
}
