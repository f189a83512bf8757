/**
 * A raw LIME peer over `node:net` for attack tools and tests: writes whatever it is given,
 * reads whole JSON objects, and can bind to another loopback address (127.0.0.2 and up count as
 * other source addresses on Linux).
 * @module
 */
import net from "node:net";
import { EnvelopeFramer } from "../../src/transport/framing.ts";

/** Rejects when `promise` has not settled after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`nothing arrived within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A raw TCP peer: writes text, reads whole JSON objects. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly #framer = new EnvelopeFramer({ maxEnvelopeSize: 64 * 1024 * 1024, maxDepth: 1000 });
  readonly #queue: unknown[] = [];
  #waiter: (() => void) | undefined;
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#framer.push(chunk, (frame) => {
        this.#queue.push(JSON.parse(new TextDecoder().decode(frame)));
        return true;
      });
      this.#wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
  }

  /** Connects to `address` (`host:port`), from `localAddress` when given. */
  static connect(address: string, localAddress?: string): Promise<RawPeer> {
    const colon = address.lastIndexOf(":");
    const socket = net.connect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      ...(localAddress ? { localAddress } : {}),
    });
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(new RawPeer(socket)));
      socket.once("error", reject);
    });
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Writes text (or bytes) as is. */
  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** The next JSON object, or `"closed"` when the connection ended first. */
  async next(ms = 5000): Promise<Record<string, unknown> | "closed"> {
    const deadline = performance.now() + ms;
    while (this.#queue.length === 0) {
      if (this.closed) return "closed";
      const left = deadline - performance.now();
      if (left <= 0) throw new Error("no envelope arrived in time");
      await within(new Promise<void>((resolve) => this.#waiter = resolve), left)
        .catch(() => {});
    }
    return this.#queue.shift() as Record<string, unknown>;
  }

  /** Closes the socket and waits for it. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    const closed = new Promise((resolve) => this.socket.once("close", resolve));
    this.socket.destroy();
    await closed;
  }
}
