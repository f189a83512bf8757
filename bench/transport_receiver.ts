/**
 * The receiving end of `transport_throughput.ts --split`, run in a Deno Worker (its own thread,
 * so sender and receiver use separate cores, like a client and a server in separate processes).
 *
 * Protocol, one run at a time: the main thread posts a {@link ReceiverRun}; the worker listens on
 * 127.0.0.1 port 0 and posts `{ port }`; the main thread connects and sends; the worker posts
 * `{ done: true }` once it has received everything, then releases its side of the connection and
 * posts `{ released: true }`.
 * @module
 */
import net from "node:net";
import { TcpTransportListener } from "../src/transport/tcp_listener.ts";
import type { Transport } from "../src/transport/transport.ts";
import { parseKnownLengths } from "./json_ceiling.ts";

/** What to receive. */
export interface ReceiverRun {
  /**
   * `bytes`: count raw bytes; `json`: `JSON.parse` per envelope on a raw socket (lengths known);
   * `lime`: a LIME `TcpTransport` (framing, decoding, validation).
   */
  kind: "bytes" | "json" | "lime";
  /** Envelopes to expect (`json`, `lime`). */
  count: number;
  /** Bytes to expect (`bytes`). */
  totalBytes: number;
  /** UTF-16 length of each envelope's JSON text (`json`: the receiver needs no delimiter). */
  lengths: number[];
}

/** Messages the worker posts back. */
export type ReceiverReply = { port: number } | { done: true } | { released: true };

// deno-lint-ignore no-explicit-any
const worker = self as any as {
  onmessage: (event: MessageEvent<ReceiverRun>) => void;
  postMessage: (reply: ReceiverReply) => void;
};

worker.onmessage = (event) => {
  const run = event.data;
  (run.kind === "lime" ? receiveLime(run) : receiveRaw(run)).catch((error) => {
    console.error("receiver failed", error);
    Deno.exit(1);
  });
};

async function receiveRaw(run: ReceiverRun): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  worker.postMessage({ port: (server.address() as net.AddressInfo).port });
  const socket = await accepted;
  server.close();
  await new Promise<void>((resolve) => {
    if (run.kind === "bytes") {
      let got = 0;
      socket.on("data", (chunk: Uint8Array) => {
        got += chunk.length;
        if (got >= run.totalBytes) resolve();
      });
    } else {
      socket.on("data", parseKnownLengths(resolve, run.lengths));
    }
  });
  worker.postMessage({ done: true });
  await new Promise<void>((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once("close", () => resolve());
    socket.destroy();
  });
  worker.postMessage({ released: true });
}

async function receiveLime(run: ReceiverRun): Promise<void> {
  const listener = new TcpTransportListener({ hostname: "127.0.0.1", port: 0 });
  await listener.listen();
  const accepted = listener[Symbol.asyncIterator]().next();
  worker.postMessage({ port: Number(listener.address!.split(":").pop()) });
  const transport = (await accepted).value as Transport;
  await new Promise<void>((resolve) => {
    let received = 0;
    transport.onEnvelope(() => {
      if (++received === run.count) resolve();
    });
  });
  worker.postMessage({ done: true });
  await listener.close({ closeTransports: true });
  worker.postMessage({ released: true });
}
