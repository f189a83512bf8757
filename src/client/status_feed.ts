/**
 * The resilient client's status: the current one, the callbacks told of every change, and the
 * streams of changes handed out by `statusChanges()`.
 * @module
 */
import type { Handler } from "../channel/channel.ts";
import { BoundedQueue } from "../channel/bounded_queue.ts";
import { callHandler } from "./call_handler.ts";
import type { LimeClientStatus } from "./client_options.ts";

/** Holds the status and tells everyone who listens. */
export class StatusFeed {
  readonly #queues = new Set<BoundedQueue<LimeClientStatus>>();
  readonly #handlers = new Set<Handler<LimeClientStatus>>();
  #status: LimeClientStatus = { state: "connecting", attempt: 0 };

  /** The current status. */
  get current(): LimeClientStatus {
    return this.#status;
  }

  /**
   * Every change from now on, until {@link end}; it starts with the current status when the
   * client `started` already or has ended (before that, the client's own first `connecting`
   * comes next and is not yielded twice).
   */
  changes(started: boolean): AsyncIterable<LimeClientStatus> {
    const queue = new BoundedQueue<LimeClientStatus>(1024);
    const ended = this.#status.state === "closed";
    if (started || ended) queue.tryPut(this.#status);
    const queues = this.#queues.add(queue);
    if (ended) queue.close();
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* queue;
        } finally {
          queues.delete(queue); // the reader left, or the end came
        }
      },
    };
  }

  /** Calls `handler` on every change; returns a remover. */
  on(handler: Handler<LimeClientStatus>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Changes the status. */
  set(status: LimeClientStatus): void {
    this.#status = status;
    for (const queue of this.#queues) queue.tryPut(status);
    for (const handler of this.#handlers) callHandler(handler, status);
  }

  /** Ends every stream of changes. */
  end(): void {
    for (const queue of this.#queues) queue.close();
    this.#queues.clear();
  }
}
