/**
 * Helpers for the TCP transport tests: a connected client/server pair on 127.0.0.1, a receive
 * helper with a deadline, the negotiation confirmation exchange, raw peers and a recording proxy.
 * @module
 */
import assert from "node:assert/strict";
import { type Envelope, Session } from "../src/envelope.ts";
import type { SessionCompression, SessionEncryption } from "../src/generated/enums.generated.ts";
import { TcpTransport, type TcpTransportOptions } from "../src/transport/tcp.ts";
import {
  TcpTransportListener,
  type TcpTransportListenerOptions,
} from "../src/transport/tcp_listener.ts";
import type { Transport } from "../src/transport/transport.ts";

/** Rejects when `promise` has not settled after `ms`; the timer never outlives the call. */
export async function within<T>(promise: Promise<T>, ms = 5000, what = "operation"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `promise` is still pending after `ms`. */
export async function stillPending(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Symbol("pending");
  try {
    const result = await Promise.race([
      promise.then(() => null, () => null),
      new Promise((resolve) => timer = setTimeout(() => resolve(pending), ms)),
    ]);
    return result === pending;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Receives one envelope at a time from a transport, failing after a deadline instead of hanging.
 * Each call takes the transport's iterator and gives it back, so other consumers can follow.
 */
export function inbox(transport: Transport): (ms?: number) => Promise<Envelope> {
  return async (ms = 5000) => {
    const iterator = transport[Symbol.asyncIterator]();
    try {
      const result = await within(iterator.next(), ms, "receiving an envelope");
      assert.equal(result.done, false, "the transport ended");
      return result.value;
    } finally {
      await iterator.return?.();
    }
  };
}

/** A listener on 127.0.0.1 port 0 with one connected client. */
export interface Pair extends AsyncDisposable {
  listener: TcpTransportListener;
  client: TcpTransport;
  server: TcpTransport;
  /** Receives on the client. */
  fromServer: (ms?: number) => Promise<Envelope>;
  /** Receives on the server. */
  fromClient: (ms?: number) => Promise<Envelope>;
  /** The recording proxy between them, when asked for. */
  proxy?: RecordingProxy;
}

/** How {@link connectPair} connects. */
export interface ConnectOptions {
  /** Through a recording proxy. */
  proxied?: boolean;
  /** The host name in the client's URI (default: the listener's IP address). */
  host?: string;
}

/** Connects a client to a fresh listener on 127.0.0.1, port 0. */
export async function connectPair(
  listenerOptions: TcpTransportListenerOptions = {},
  clientOptions: TcpTransportOptions = {},
  how: ConnectOptions = {},
): Promise<Pair> {
  const listener = new TcpTransportListener({ ...listenerOptions, port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = new TcpTransport(clientOptions);
  const proxy = how.proxied ? recordingProxy(listener.address!) : undefined;
  const [ip, port] = (proxy?.address ?? listener.address!).split(":");
  await client.open(`net.tcp://${how.host ?? ip}:${port}`);
  const server = (await within(accepted, 5000, "accepting")).value as TcpTransport;
  return {
    listener,
    client,
    server,
    fromServer: inbox(client),
    fromClient: inbox(server),
    proxy,
    async [Symbol.asyncDispose]() {
      await client.close();
      await listener.close({ closeTransports: true });
      await proxy?.[Symbol.asyncDispose]();
    },
  };
}

/** The modes to switch to. */
export interface Modes {
  compression?: SessionCompression;
  encryption?: SessionEncryption;
}

/**
 * Runs the negotiation exchange: client choice, server confirmation, then each side switches
 * (the client after reading the confirmation). Rejects with the first side's failure.
 */
export async function negotiate(pair: Pair, modes: Modes): Promise<void> {
  const { client, server, fromClient, fromServer } = pair;
  const compression = modes.compression ?? "none";
  const encryption = modes.encryption ?? "none";
  await client.send(new Session("negotiating", { id: "s1", compression, encryption }));
  const choice = await fromClient();
  assert.equal((choice as Session).state, "negotiating");
  await server.send(
    new Session("negotiating", {
      id: "s1",
      from: "postmaster@localhost/s",
      compression,
      encryption,
    }),
  );
  const results = await Promise.allSettled([
    (async () => {
      const confirmation = await fromServer();
      assert.equal((confirmation as Session).encryption, encryption);
      await within(client.setCompression(compression), 5000, "client setCompression");
      await within(client.setEncryption(encryption), 5000, "client setEncryption");
    })(),
    (async () => {
      await within(server.setCompression(compression), 5000, "server setCompression");
      await within(server.setEncryption(encryption), 5000, "server setEncryption");
    })(),
  ]);
  for (const result of results) if (result.status === "rejected") throw result.reason;
}

/** A raw client socket to a fresh listener, and the server's transport for it. */
export interface RawPeer extends AsyncDisposable {
  /** The client's socket (`Deno.connect`, no delay). */
  conn: Deno.Conn;
  /** The transport the listener made for it. */
  server: TcpTransport;
  /** Receives from `server` (see {@link inbox}). */
  receive: (ms?: number) => Promise<Envelope>;
}

/**
 * Listens on 127.0.0.1 port 0 and connects a raw socket to it. Disposing closes the socket (if
 * the test has not), waits for the server's transport to close, then closes the listener and
 * waits for its server to report itself closed (a timer turn in Deno 2.5).
 */
export async function rawPeer(): Promise<RawPeer> {
  const listener = new TcpTransportListener({ port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  const [hostname, port] = listener.address!.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  conn.setNoDelay(true);
  const server: TcpTransport = (await within(accepted)).value!;
  return {
    conn,
    server,
    receive: inbox(server),
    async [Symbol.asyncDispose]() {
      try {
        conn.close();
      } catch { /* closed already */ }
      await within(server.closed);
      await listener.close({ closeTransports: true });
    },
  };
}

/** Writes all of `bytes` to a Deno connection. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** Reads from `conn` until `done(bytesSoFar)` or the end; returns what was read. */
export async function readUntil(
  conn: Deno.Conn,
  done: (text: string) => boolean,
): Promise<string> {
  const buffer = new Uint8Array(65536);
  let text = "";
  while (!done(text)) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text;
}

/** A TCP proxy that records what the client sends. */
export interface RecordingProxy extends AsyncDisposable {
  /** `127.0.0.1:port` to connect to. */
  address: string;
  /** Everything the client sent so far, concatenated. */
  clientBytes(): Uint8Array;
  /** Everything the server sent so far, concatenated. */
  serverBytes(): Uint8Array;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function pump(from: Deno.Conn, to: Deno.Conn, record: Uint8Array[]): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      record.push(buffer.slice(0, n));
      await writeAll(to, buffer.subarray(0, n));
    }
  } catch {
    // The other direction closed both connections.
  } finally {
    try {
      await to.closeWrite();
    } catch {
      // Already closed.
    }
  }
}

/** Starts a one-connection recording proxy in front of `target` (`host:port`). */
export function recordingProxy(target: string): RecordingProxy {
  const [hostname, port] = target.split(":");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const fromClient: Uint8Array[] = [];
  const fromServer: Uint8Array[] = [];
  const running = (async () => {
    const downstream = await listener.accept();
    listener.close();
    const upstream = await Deno.connect({ hostname, port: Number(port) });
    await Promise.all([
      pump(downstream, upstream, fromClient),
      pump(upstream, downstream, fromServer),
    ]);
    downstream.close();
    upstream.close();
  })();
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    clientBytes: () => concat(fromClient),
    serverBytes: () => concat(fromServer),
    async [Symbol.asyncDispose]() {
      await running;
    },
  };
}

/** Index of `needle` in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
