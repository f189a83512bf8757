/**
 * A bound on password hashing (PBKDF2 runs on a few worker threads; a peer that can queue hashes
 * at will delays every login behind them). At most `concurrency` hashes run at once and at most
 * `queue` more wait; past that a request is refused at once instead of waiting. Account changes
 * (registration, new password or key) may take only half the slots and never queue, so logins
 * keep a way in while someone registers accounts as fast as the server lets them.
 * @module
 */

/** What is hashing: a login's verification, or an account change's new hash. */
export type PasswordWorkKind = "login" | "change";

/** Limits of {@link PasswordWork}. */
export interface PasswordWorkOptions {
  /** Hashes running at once. Default 4. */
  concurrency?: number;
  /** Logins waiting for a slot. Default 64. */
  queue?: number;
}

/** Refused because the hashing slots (and the queue) are full. */
export class PasswordWorkBusy extends Error {
  /** Creates the error. */
  constructor() {
    super("The server is busy checking passwords; try again shortly");
    this.name = "PasswordWorkBusy";
  }
}

/** The server's hashing slots. */
export class PasswordWork {
  readonly #concurrency: number;
  readonly #queueLimit: number;
  #running = 0;
  #changes = 0;
  readonly #waiting: (() => void)[] = [];

  /** Slots per the options. */
  constructor(options: PasswordWorkOptions = {}) {
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#queueLimit = Math.max(0, options.queue ?? 64);
  }

  /** Hashes running now. */
  get running(): number {
    return this.#running;
  }

  /** Runs `work` in a slot; rejects with {@link PasswordWorkBusy} at once when none is free. */
  async run<T>(kind: PasswordWorkKind, work: () => Promise<T>): Promise<T> {
    if (kind === "change") {
      if (this.#changes >= Math.max(1, this.#concurrency >> 1)) throw new PasswordWorkBusy();
      if (this.#running >= this.#concurrency) throw new PasswordWorkBusy();
      this.#changes++;
    } else if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#queueLimit) throw new PasswordWorkBusy();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
      if (kind === "change") this.#changes--;
      this.#waiting.shift()?.();
    }
  }
}
