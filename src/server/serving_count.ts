/**
 * The connections a server is serving, counted: each is begun when accepted and done with once
 * (see `serveConnection`'s `served`), and shutdown waits until none is left. A count, not a set of
 * their promises: those took two more promises and their closures per connection.
 * @module
 */

/** Connections being served, and who waits for there to be none. */
export class ServingCount {
  #serving = 0;
  #none: PromiseWithResolvers<void> | undefined;
  readonly #failed: (error: unknown) => void;

  /** `failed` hears of a connection that was done with because of an error. */
  constructor(failed: (error: unknown) => void) {
    this.#failed = failed;
  }

  /** A connection is being served. */
  begin(): void {
    this.#serving++;
  }

  /** A connection is done with (`error`: it failed); one function for every connection. */
  readonly done = (error?: unknown): void => {
    if (error !== undefined) this.#failed(error);
    if (--this.#serving > 0) return;
    this.#none?.resolve();
    this.#none = undefined; // the next wait is for the next connections
  };

  /** Resolves once no connection is being served. */
  none(): Promise<void> {
    if (this.#serving === 0) return Promise.resolve();
    return (this.#none ??= Promise.withResolvers()).promise;
  }
}
