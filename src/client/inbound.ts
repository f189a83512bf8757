/**
 * What the resilient client receives, across its successive channels: messages with duplicates
 * dropped (by sender identity and id, within a window), handed to the `onMessage` handlers or
 * kept in a bounded queue for `messages()`; notifications and commands to their handlers.
 * @module
 */
import type { Handler } from "../channel/channel.ts";
import type { WaitOptions } from "../channel/channel_options.ts";
import { BoundedQueue } from "../channel/bounded_queue.ts";
import type { ClientChannel } from "../channel/client_channel.ts";
import type { Command, Message, Notification } from "../envelope.ts";
import { callHandler } from "./call_handler.ts";
import { DedupeWindow } from "./dedupe_window.ts";

/** What each kind of handler receives. */
interface Received {
  message: Message;
  notification: Notification;
  command: Command;
}

/** The receiving side of a LimeClient. */
export class Inbound {
  readonly #dedupe: DedupeWindow;
  readonly #messages: BoundedQueue<Message>;
  readonly #handlers = {
    message: new Set<Handler<Message>>(),
    notification: new Set<Handler<Notification>>(),
    command: new Set<Handler<Command>>(),
  };
  #duplicates = 0;

  /** Remembers `dedupeWindow` message ids; keeps up to `bufferSize` messages nobody took. */
  constructor(dedupeWindow: number, bufferSize: number) {
    this.#dedupe = new DedupeWindow(dedupeWindow);
    this.#messages = new BoundedQueue(bufferSize);
  }

  /** Received messages dropped as duplicates. */
  get duplicatesDropped(): number {
    return this.#duplicates;
  }

  /**
   * Adds a handler for a kind (a message handler first gets the messages waiting in the queue);
   * returns a remover.
   */
  on<K extends keyof Received>(kind: K, handler: Handler<Received[K]>): () => void {
    const handlers = this.#handlers[kind] as Set<Handler<Received[K]>>;
    handlers.add(handler);
    if (kind === "message") {
      for (const message of this.#messages.drain()) callHandler(handler, message as Received[K]);
    }
    return () => handlers.delete(handler);
  }

  /** The queued messages, as they come, until {@link close}. */
  messages(options: WaitOptions = {}): AsyncIterable<Message> {
    return { [Symbol.asyncIterator]: () => this.#messages.iterate(options.signal) };
  }

  /** Takes what `channel` receives; `settle` sees every notification first (receipts). */
  attach(channel: ClientChannel, settle: (notification: Notification) => void): void {
    channel.onMessage((message) => {
      // The sender's identity: what comes before the instance (a node string, or a Node a module
      // put there).
      const from = String(message.from ?? "").split("/")[0].toLowerCase();
      if (message.id && this.#dedupe.seen(`${from}:${message.id}`)) {
        this.#duplicates++;
        return;
      }
      if (this.#handlers.message.size > 0) {
        for (const handler of this.#handlers.message) callHandler(handler, message);
      } else if (!this.#messages.tryPut(message)) {
        // Full: wait for room. Not back onto the channel: that would hold command responses,
        // receipts and keepalive replies behind unread messages too. So this is not bounded.
        this.#messages.put(message).catch(() => {});
      }
    });
    channel.onNotification((notification) => {
      settle(notification);
      for (const handler of this.#handlers.notification) callHandler(handler, notification);
    });
    channel.onCommand((command) => {
      for (const handler of this.#handlers.command) callHandler(handler, command);
    });
  }

  /** Ends `messages()` once the queue is empty. */
  close(): void {
    this.#messages.close();
  }
}
