/**
 * Small stream helpers for the TCP transport: acknowledged writes, close tracking, graceful
 * socket shutdown, endpoint formatting.
 * @module
 */
import net, { type Socket } from "node:net";
import type { Writable } from "node:stream";
import { TransportError } from "./errors.ts";

/** How long a graceful end (FIN, TLS close_notify) may take before the socket is destroyed. */
export const END_TIMEOUT_MS = 2000;

/**
 * The `backlog` a `node:net` server listens with. The kernel takes at most its own cap
 * (`somaxconn`) of it; Deno 2.5's `net.Server` also compares it with a count of accepted
 * connections that it never lowers for a destroyed one, and stops accepting for good once that
 * count passes it: after 513 connections with Node's default of 511. 2^30 puts that out of reach
 * (2^31 − 1 overflows there).
 */
export const LISTEN_BACKLOG = 2 ** 30;

/**
 * Writes `bytes` and resolves when the stream has handed them on (for a socket: to the kernel),
 * which is when the write callback runs. Rejects with the write error.
 */
export function writeAcknowledged(stream: Writable, bytes: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(bytes, (error) => error ? reject(error) : resolve());
  });
}

/**
 * Writes `bytes` into the stream's buffer and resolves at once, or, when the buffer is over its
 * high-water mark, once it drained (rejecting if the stream closes or fails first). Consecutive
 * writes coalesce in the stream's buffer instead of costing one kernel write each.
 */
export function writeBuffered(stream: Writable, bytes: Uint8Array | string): Promise<void> {
  if (stream.write(bytes)) return Promise.resolve();
  return whenDrained(stream);
}

/** Resolves when a stream over its high-water mark drained; rejects if it closes or fails first. */
export function whenDrained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      stream.off("error", done);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error("The stream closed while waiting to drain"));
    stream.once("drain", onDrain);
    stream.once("close", onClose);
    stream.once("error", done);
  });
}

/** A promise that resolves when `socket` emits `close` (at once if it already has). */
export function whenClosed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/**
 * Ends a socket gracefully (pending bytes, then TLS close_notify and FIN) and destroys it once
 * that is flushed, or at once when `abrupt` or when it cannot be flushed within
 * {@link END_TIMEOUT_MS}. Resolves when the socket has closed.
 */
export async function shutdown(socket: Socket, abrupt: boolean): Promise<void> {
  const closed = whenClosed(socket);
  if (socket.destroyed) return closed;
  // Bytes still buffered (say, a `finished` envelope) are flushed by end(); a peer that does not
  // read them within END_TIMEOUT_MS gets the socket destroyed.
  if (abrupt || !socket.writable) {
    socket.destroy();
    return closed;
  }
  // Nothing buffered on a plain socket: end() completes without waiting for the peer (the
  // shutdown request is the runtime's, whatever the peer reads), so there is nothing to time out
  // (a timer per close was ~1% of a guest login's CPU).
  if (socket.writableLength === 0 && !(socket as { encrypted?: boolean }).encrypted) {
    socket.end(() => socket.destroy());
    return closed;
  }
  const timer = setTimeout(() => socket.destroy(), END_TIMEOUT_MS);
  try {
    socket.end(() => socket.destroy());
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `promise`, but at most `ms`; the timer never outlives the call. */
export async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `host:port`, with IPv6 addresses in brackets; undefined when either part is unknown. */
export function formatEndpoint(
  address: string | undefined,
  port: number | undefined,
): string | undefined {
  if (address === undefined || port === undefined) return undefined;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Host and port of a `net.tcp://host:port` URI (IPv6 without brackets; port undefined when the
 * URI has none). Throws an `unsupported` TransportError for another scheme or a missing host.
 */
export function parseTcpUri(uri: URL): { host: string; port: number | undefined } {
  if (uri.protocol !== "net.tcp:") {
    throw new TransportError(
      "unsupported",
      `Unsupported URI scheme "${uri.protocol}" (expected net.tcp:)`,
    );
  }
  const host = uri.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw new TransportError("unsupported", `The URI ${uri} has no host`);
  return { host, port: uri.port ? Number(uri.port) : undefined };
}

/** The bytes of `chunk` after its leading JSON whitespace (space, tab, CR, LF). */
export function afterWhitespace(chunk: Uint8Array): Uint8Array {
  let i = 0;
  while (
    i < chunk.length &&
    (chunk[i] === 0x20 || chunk[i] === 0x0a || chunk[i] === 0x0d || chunk[i] === 0x09)
  ) i++;
  return i === 0 ? chunk : chunk.subarray(i);
}

/**
 * Resolves after one timer turn: a `net.Server`'s close schedules its `close` event on a timer in
 * Deno 2.5 (`_emitCloseIfDrained`), which would otherwise outlive a listener's close.
 */
export function afterServerTimers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Connects to `host:port`; rejects with `io` (or `aborted`), leaving no socket behind. */
export async function connectSocket(
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<Socket> {
  const socket = net.connect({ host, port });
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        socket.off("connect", onConnect);
        socket.off("error", onError);
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = () => done();
      const onError = (error: Error) =>
        done(
          new TransportError("io", `Cannot connect to ${host}:${port}: ${error.message}`, {
            cause: error,
          }),
        );
      const onAbort = () =>
        done(new TransportError("aborted", "Opening the transport was aborted"));
      if (signal?.aborted) return onAbort();
      socket.once("connect", onConnect);
      socket.once("error", onError);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  } catch (error) {
    socket.destroy();
    await whenClosed(socket);
    throw error;
  }
  return socket;
}
