/**
 * A client process of `c100k.ts`: opens its share of idle guest sessions on bare `node:net`
 * sockets, each bound to one of its own loopback source addresses (127.0.0.x, so that the
 * server's per-address caps and the ephemeral ports are spread), and keeps them: it answers the
 * server's `get /ping` and timestamps the messages that arrive.
 *
 * `deno run --allow-net c100k_client.ts '{"host","port","locals":[...],"count","concurrency",
 *  "prefix","deadline"[,"bare":true][,"websocket":true]}'` (`bare`: only connect, for the bare
 * `node:net` baseline; `websocket`: LIME over WebSocket, the upgrade and frames written by hand)
 *
 * Prints JSON lines: `{"phase":"progress","established"}` every second while opening,
 * `{"phase":"established","established","failed","refused","firstError","stopped","ms",
 * "lastMs"}` once done (`lastMs`: when its last session was established) (`stopped`: why it stopped before its count, if it did); then
 * reads commands on stdin: `report` → `{"phase":"report","latencies":[ms...],"sentAts":[ms since
 * the epoch...],"pings","closed","stalls":[[end ms since the epoch, ms]...]}` (`stalls`: this process's
 * own event-loop stalls over 10 ms, measured by a 5 ms interval timer),
 * `quit` → closes every socket and exits.
 * @module
 */
import net from "node:net";
import { EnvelopeFramer } from "../src/transport/framing.ts";
import { FrameCounter, maskedTextFrame } from "../bench/raw_ws_client.ts";
import { linesOf, printLine } from "../bench/server_process.ts";

interface Config {
  host: string;
  port: number;
  locals: string[];
  count: number;
  concurrency: number;
  prefix: string;
  /** Wall-clock time (ms since the epoch) after which no new session is attempted. */
  deadline: number;
  /** Only connect (the bare `node:net` baseline server): no handshake, nothing written. */
  bare?: boolean;
  /** Speak LIME over WebSocket (the upgrade, then masked text frames) instead of bare TCP. */
  websocket?: boolean;
}

const config = JSON.parse(Deno.args[0]) as Config;
const decoder = new TextDecoder();
const wallNow = () => performance.timeOrigin + performance.now();

const print = (value: unknown) => printLine(value);

const sockets: net.Socket[] = [];
const latencies: number[] = [];
// When each of them was sent (ms since the epoch), in the same order.
const sentAts: number[] = [];
let pings = 0;
let closed = 0;
// This process's own event-loop stalls over 10 ms, [end (ms since the epoch), length (ms)]: a
// message that arrived during one waited in this process, not in the server.
const stalls: [number, number][] = [];
const TICK_MS = 5;
let lastTick = wallNow();
setInterval(() => {
  const now = wallNow();
  const stalled = now - lastTick - TICK_MS;
  if (stalled > 10) stalls.push([now, stalled]);
  lastTick = now;
}, TICK_MS);

/** What an established session does with an envelope. */
function onEstablished(send: (text: string) => void, envelope: Record<string, unknown>): void {
  if (envelope.method === "get" && envelope.uri === "/ping" && envelope.status === undefined) {
    pings++;
    const reply: Record<string, unknown> = {
      id: envelope.id,
      method: "get",
      status: "success",
      type: "application/vnd.lime.ping+json",
      resource: {},
    };
    if (envelope.from) reply.to = envelope.from;
    send(JSON.stringify(reply));
  } else if (typeof envelope.content === "string" && envelope.type === "text/plain") {
    const sentAt = Number(envelope.content);
    if (Number.isFinite(sentAt)) {
      latencies.push(wallNow() - sentAt);
      sentAts.push(sentAt);
    }
  }
}

/**
 * The envelopes of a connection, framed: JSON texts on bare TCP; over WebSocket the HTTP upgrade
 * first, then one text frame each way per envelope.
 */
class Wire {
  readonly #socket: net.Socket;
  readonly #framer = new EnvelopeFramer();
  readonly #frames: FrameCounter | undefined;
  // The upgrade response's bytes while it is incomplete (WebSocket).
  #head: string | undefined;

  constructor(socket: net.Socket, websocket: boolean) {
    this.#socket = socket;
    if (websocket) {
      this.#frames = new FrameCounter();
      this.#frames.keep = true;
      this.#head = "";
    }
  }

  /** Opens the conversation: the upgrade request (WebSocket) or nothing. */
  open(): void {
    if (this.#frames) {
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      this.#socket.write(
        `GET / HTTP/1.1\r\nHost: ${config.host}:${config.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: lime\r\n\r\n`,
      );
    }
  }

  /** Whether the conversation can start (the upgrade is done). */
  get ready(): boolean {
    return this.#head === undefined;
  }

  send(text: string): void {
    this.#socket.write(this.#frames ? maskedTextFrame(text) : text);
  }

  /** Passes each envelope in `chunk` to `receive`; true once the upgrade completed with it. */
  push(chunk: Uint8Array, receive: (envelope: Record<string, unknown>) => void): boolean {
    const frames = this.#frames;
    if (!frames) {
      this.#framer.push(chunk, (frame) => receive(JSON.parse(decoder.decode(frame))));
      return false;
    }
    let upgraded = false;
    if (this.#head !== undefined) {
      this.#head += latin1.decode(chunk);
      const end = this.#head.indexOf("\r\n\r\n");
      if (end < 0) return false;
      if (!this.#head.startsWith("HTTP/1.1 101")) {
        throw new Error(`upgrade refused: ${this.#head.split("\r\n")[0]}`);
      }
      // The header is ASCII: its length in characters is its length in bytes.
      chunk = chunk.subarray(chunk.length - (this.#head.length - end - 4));
      this.#head = undefined;
      upgraded = true;
    }
    frames.count(chunk);
    for (const text of frames.texts.splice(0)) receive(JSON.parse(text));
    return upgraded;
  }
}

const latin1 = new TextDecoder("latin1");

/** Connects from `local` and establishes a guest session as `node`. */
function establish(local: string, node: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: config.host, port: config.port, localAddress: local });
    socket.setNoDelay(true);
    const wire = new Wire(socket, config.websocket === true);
    const send = (text: string) => wire.send(text);
    let established = false;
    let settled = false;
    let id = "";
    const timer = setTimeout(() => fail(new Error("no answer within 5 s")), 5_000);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on("error", fail);
    socket.on("close", () => {
      if (established) closed++;
      fail(new Error("closed during the handshake"));
    });
    socket.on("connect", () => {
      if (!config.bare) {
        wire.open();
        if (wire.ready) send('{"state":"new"}');
        return;
      }
      settled = established = true;
      clearTimeout(timer);
      sockets.push(socket);
      resolve();
    });
    const receive = (envelope: Record<string, unknown>) => {
      if (established) return onEstablished(send, envelope);
      switch (envelope.state) {
        case "negotiating":
          id = envelope.id as string;
          if (envelope.compressionOptions || envelope.encryptionOptions) {
            send(
              JSON.stringify({ id, state: "negotiating", compression: "none", encryption: "none" }),
            );
          }
          break;
        case "authenticating":
          id = envelope.id as string;
          send(JSON.stringify({ id, from: node, state: "authenticating", scheme: "guest" }));
          break;
        case "established":
          if (settled) return;
          settled = true;
          established = true;
          clearTimeout(timer);
          sockets.push(socket);
          resolve();
          break;
        default:
          fail(new Error(`refused: ${JSON.stringify(envelope.reason ?? envelope)}`));
      }
    };
    socket.on("data", (chunk: Uint8Array) => {
      try {
        if (wire.push(chunk, receive)) send('{"state":"new"}');
      } catch (error) {
        fail(error as Error);
      }
    });
  });
}

const start = performance.now();
let established = 0;
// When the last session was established (ms after the start).
let lastMs = 0;
let failed = 0;
let refused = 0;
let firstError: string | undefined;
let next = 0;
// Consecutive sessions given up: past a few rounds of the concurrency the server is full.
let givenUp = 0;
let stopped: string | undefined;
const progress = setInterval(() => print({ phase: "progress", established }), 1000);
async function worker(): Promise<void> {
  for (let k = next++; k < config.count && !stopped; k = next++) {
    if (Date.now() > config.deadline) {
      stopped = "the deadline passed";
      break;
    }
    const local = config.locals[k % config.locals.length];
    const node = `${config.prefix}x${k}@localhost/c`;
    for (let attempt = 1;; attempt++) {
      try {
        await establish(local, node);
        established++;
        lastMs = performance.now() - start;
        givenUp = 0;
        break;
      } catch (error) {
        firstError ??= (error as Error).message;
        // A peer refused for being over a cap (11) retries a little later, as a client would.
        if (attempt >= 3) {
          failed++;
          if (++givenUp >= 3 * config.concurrency) {
            stopped = `${givenUp} sessions in a row failed (last: ${(error as Error).message})`;
          }
          break;
        }
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }
}
await Promise.all(Array.from({ length: config.concurrency }, worker));
clearInterval(progress);
print({
  phase: "established",
  established,
  failed,
  refused,
  firstError,
  stopped,
  ms: performance.now() - start,
  lastMs,
});

for await (const line of linesOf(Deno.stdin.readable)) {
  const command = line.trim();
  if (command === "report") print({ phase: "report", latencies, sentAts, pings, closed, stalls });
  else if (command === "quit") {
    for (const socket of sockets) socket.destroy();
    Deno.exit(0);
  }
}
for (const socket of sockets) socket.destroy();
Deno.exit(0);
