/**
 * Helpers for the channel tests over memory transport pairs: two established channels with the
 * wire tapped both ways, an established client channel facing a raw, scripted server transport,
 * error predicates and small async-iteration helpers.
 * @module
 */
import assert from "node:assert/strict";
import { ClientChannel } from "../src/channel/client_channel.ts";
import { ServerChannel } from "../src/channel/server_channel.ts";
import type { ChannelOptions } from "../src/channel/channel_options.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { type Envelope, Message, Session } from "../src/envelope.ts";
import { MemoryTransport, type MemoryTransportOptions } from "../src/transport/memory.ts";
import { inbox, within } from "./tcp_helpers.ts";

/** The server node the channel tests use. */
export const SERVER = "postmaster@example.org/server1";
/** The client node the channel tests establish. */
export const ALICE = "alice@example.org/home";

/** A predicate for `assert.rejects`/`assert.throws`: a ChannelError with `code`. */
export const isChannelError = (code: string) => (e: unknown) =>
  e instanceof ChannelError && e.code === code;

/** Two established channels over a memory pair. */
export interface ChannelPair extends AsyncDisposable {
  client: ClientChannel;
  server: ServerChannel;
  /** Every envelope the client put on the wire (a tap on the server's transport). */
  sentByClient: Envelope[];
  /** Every envelope the server put on the wire (a tap on the client's transport). */
  sentByServer: Envelope[];
}

/** Two established channels over a memory pair; `sentByClient`/`sentByServer` tap the wire. */
export async function channelPair(
  clientOptions: ChannelOptions = {},
  serverOptions: ChannelOptions = {},
): Promise<ChannelPair> {
  const [clientTransport, serverTransport] = MemoryTransport.pair();
  const sentByClient: Envelope[] = [];
  const sentByServer: Envelope[] = [];
  serverTransport.onEnvelope((e) => sentByClient.push(e));
  clientTransport.onEnvelope((e) => sentByServer.push(e));
  const server = new ServerChannel(serverTransport, {
    serverNode: SERVER,
    sessionId: "s1",
    ...serverOptions,
  });
  const client = new ClientChannel(clientTransport, clientOptions);
  const [session, result] = await within(
    Promise.all([
      client.establishSession({ identity: "alice@example.org", instance: "home" }),
      server.establishSession(),
    ]),
    2000,
    "establishment",
  );
  assert.equal(session.state, "established");
  assert.equal(result.established, true);
  return {
    client,
    server,
    sentByClient,
    sentByServer,
    async [Symbol.asyncDispose]() {
      await client.close();
      await server.close();
    },
  };
}

/** An established client channel facing a raw, scripted server transport. */
export interface RawServer extends AsyncDisposable {
  client: ClientChannel;
  /** The server end of the pair, driven by the test. */
  peer: MemoryTransport;
  /** The next envelope the client sent (bounded wait). */
  next: (ms?: number) => Promise<Envelope>;
  /**
   * With `countContent`: `delivered` counts the messages the client's transport received (a tap
   * on the transport, outside the channel); `dispatched` counts the messages the channel's
   * receive loop took from it (a module). Both stay 0 otherwise.
   */
  counts: { delivered: number; dispatched: number };
  /** Makes the client send a marker and returns everything it sent up to it (excluded). */
  sentUntilMarker: () => Promise<Envelope[]>;
}

/** Options of {@link rawServer}. */
export interface RawServerOptions {
  /** Options of the memory pair. */
  transport?: MemoryTransportOptions;
  /** Fill `counts` (adds a transport tap and a counting module before the caller's modules). */
  countContent?: boolean;
}

/** An established client channel facing a raw, scripted server transport. */
export async function rawServer(
  clientOptions: ChannelOptions = {},
  { transport = {}, countContent = false }: RawServerOptions = {},
): Promise<RawServer> {
  const [clientTransport, peer] = MemoryTransport.pair(transport);
  const counts = { delivered: 0, dispatched: 0 };
  let options = clientOptions;
  if (countContent) {
    clientTransport.onEnvelope((e) => {
      if ("content" in e) counts.delivered++;
    });
    options = {
      ...clientOptions,
      modules: [
        {
          onReceiving: (e) => {
            if ("content" in e) counts.dispatched++;
            return e;
          },
        },
        ...clientOptions.modules ?? [],
      ],
    };
  }
  const client = new ClientChannel(clientTransport, options);
  const next = inbox(peer);
  const establishing = client.establishSession({ identity: "alice@example.org", instance: "home" });
  assert.deepEqual(await next(), { state: "new" });
  await peer.send(
    new Session("authenticating", { id: "s1", from: SERVER, schemeOptions: ["guest"] }),
  );
  assert.equal((await next() as Session).state, "authenticating");
  await peer.send(new Session("established", { id: "s1", from: SERVER, to: ALICE }));
  await within(establishing, 2000, "establishment");
  const sentUntilMarker = async (): Promise<Envelope[]> => {
    const marker = `marker-${crypto.randomUUID()}`;
    await client.sendMessage(new Message("text/plain", marker));
    const sent: Envelope[] = [];
    for (;;) {
      const envelope = await next();
      if ((envelope as Message).content === marker) return sent;
      sent.push(envelope);
    }
  };
  return {
    client,
    peer,
    next,
    counts,
    sentUntilMarker,
    async [Symbol.asyncDispose]() {
      await client.close();
      await peer.close();
    },
  };
}

/** Resolves once `condition()` holds, polling on short real-time turns (bounded). */
export async function eventually(
  condition: () => boolean,
  what: string,
  ms = 2000,
): Promise<void> {
  await within(
    (async () => {
      while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
    })(),
    ms,
    what,
  );
}

/** Takes `n` items from an async iterable (leaving it open). */
export async function take<T>(iterable: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n === 0) return out;
  for await (const item of iterable) {
    out.push(item);
    if (out.length === n) break;
  }
  return out;
}

/** Drains an async iterable to its end. */
export async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * A signal that counts the abort listeners registered on it and not removed (an abort removes
 * those added with `once`).
 */
export function countedSignal(): {
  signal: AbortSignal;
  controller: AbortController;
  live: () => number;
} {
  const controller = new AbortController();
  const signal = controller.signal;
  const listeners = new Set<unknown>();
  const once = new Set<unknown>();
  signal.addEventListener("abort", () => once.forEach((listener) => listeners.delete(listener)));
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, listener: EventListener, options?: unknown) => {
    if (type === "abort") listeners.add(listener);
    if (type === "abort" && (options as AddEventListenerOptions | undefined)?.once) {
      once.add(listener);
    }
    add(type, listener, options as AddEventListenerOptions);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: EventListener, options?: unknown) => {
    if (type === "abort") listeners.delete(listener);
    remove(type, listener, options as EventListenerOptions);
  }) as typeof signal.removeEventListener;
  return { signal, controller, live: () => listeners.size };
}
