/**
 * The baselines of `server_load.ts`, served by the bench server process next to its LIME server
 * (same process, same runtime, so that a figure and its baseline share everything but LIME):
 *
 * - **TCP byte relay** (`node:net`, as the LIME server's TCP listener): a connection says
 *   `r <pair>\n` (receiver) or `s <pair>\n` (sender) and gets `ok\n` once its pair has a
 *   receiver; from then on every chunk a sender sends is written as it is to its receiver, with
 *   backpressure (the sender is paused while the receiver's socket is over its high-water mark).
 *   No LIME: no framing, no parsing, no routing decision.
 * - **TCP envelope relay** (`node:net`, the same pairing): what any server that routes envelopes
 *   must do and nothing more: frames the sender's bytes into objects (the LIME framer), decodes
 *   and `JSON.parse`s each, sets `from`, `JSON.stringify`s it and writes a chunk's worth to the
 *   receiver in one write. No validation, no limits, no session, no routing table.
 * - **TCP accept-and-hang-up** (`node:net`): every accepted connection is ended at once. A client
 *   that connects and reads until the end measures raw TCP connects/s.
 * - **Scripted guest login** (`node:net`): the bytes of a LIME guest login and logout, without
 *   LIME: after each envelope the client sends (counted by brace counting) it writes the next
 *   pre-serialized answer of a real server (negotiation offer; confirmation and authentication
 *   offer in one write; `established`; `finished`, then it hangs up). The same conversation, the
 *   same writes, as the LIME server's: the floor of an establishment on these sockets.
 * - **WebSocket relays**, one text message in → the same text out to the pair's receiver, paired
 *   by the request path (`/r/<pair>`, `/s/<pair>`): on `Deno.upgradeWebSocket` (`Deno.serve`), and
 *   on this project's own WebSocket server (`NodeWebSocketServer` on `node:net`, frames parsed by
 *   `FrameReader`, a chunk's messages framed into one write) that the LIME server's listener uses.
 * @module
 */
import net from "node:net";
import { NodeWebSocketServer } from "../src/transport/websocket_node_server.ts";
import { FrameReader, OPCODE } from "../src/transport/websocket_frames.ts";
import { encodeFrame } from "../src/transport/websocket_frame_writer.ts";
import { formatEndpoint } from "../src/transport/tcp_io.ts";
import { ObjectCounter } from "./raw_tcp_client.ts";
import { EnvelopeFramer } from "../src/transport/framing.ts";

const SERVER = "postmaster@localhost/server";
const SID = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
/** A real server's answers to a guest login and logout, in order (one write each). */
const SCRIPT = [
  `{"id":"${SID}","from":"${SERVER}","state":"negotiating","encryptionOptions":["none"],` +
  `"compressionOptions":["none","gzip"]}`,
  `{"id":"${SID}","from":"${SERVER}","state":"negotiating","compression":"none",` +
  `"encryption":"none"}{"id":"${SID}","from":"${SERVER}","state":"authenticating",` +
  `"schemeOptions":["guest","plain"]}`,
  `{"id":"${SID}","from":"${SERVER}","to":"scripted@localhost/bench","state":"established"}`,
  `{"id":"${SID}","from":"${SERVER}","to":"scripted@localhost/bench","state":"finished"}`,
];

/** The addresses (`host:port`) of the running baselines. */
export interface Relays {
  tcpRelay: string;
  tcpEnvelopeRelay: string;
  tcpAccept: string;
  tcpScripted: string;
  wsDeno: string;
  wsNode: string;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";

function listen(server: net.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: HOST, port: 0, backlog: 4096 }, () => {
      const bound = server.address() as net.AddressInfo;
      resolve(formatEndpoint(bound.address, bound.port)!);
    });
  });
}

/** Starts every baseline on a free loopback port. */
export async function startRelays(): Promise<Relays> {
  // ---- TCP byte relay
  const sockets = new Set<net.Socket>();
  const bytePipe = (sender: net.Socket, receiver: net.Socket) => {
    sender.on("data", (chunk: Uint8Array) => {
      if (!receiver.write(chunk)) {
        sender.pause();
        receiver.once("drain", () => sender.resume());
      }
    });
  };
  const decoder = new TextDecoder();
  const envelopePipe = (sender: net.Socket, receiver: net.Socket) => {
    const framer = new EnvelopeFramer();
    let out: string[] = [];
    const onFrame = (frame: Uint8Array) => {
      const envelope = JSON.parse(decoder.decode(frame));
      envelope.from = "relay@localhost/relay";
      out.push(JSON.stringify(envelope));
    };
    sender.on("data", (chunk: Uint8Array) => {
      framer.push(chunk, onFrame);
      if (out.length === 0) return;
      const text = out.join("");
      out = [];
      if (!receiver.write(text)) {
        sender.pause();
        receiver.once("drain", () => sender.resume());
      }
    });
  };
  const relayServer = (pipe: (sender: net.Socket, receiver: net.Socket) => void) => {
    const receivers = new Map<string, net.Socket>();
    const waitingSenders = new Map<string, net.Socket[]>();
    const paired = (sender: net.Socket, receiver: net.Socket) => {
      pipe(sender, receiver);
      sender.write("ok\n");
    };
    return net.createServer((socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      let head = "";
      const onHello = (chunk: Uint8Array) => {
        head += new TextDecoder().decode(chunk);
        const newline = head.indexOf("\n");
        if (newline < 0) return;
        socket.off("data", onHello);
        const [role, pair] = head.slice(0, newline).split(" ");
        if (role === "r") {
          receivers.set(pair, socket);
          socket.on("close", () => receivers.delete(pair));
          socket.resume(); // what a receiver sends is dropped
          socket.write("ok\n");
          for (const sender of waitingSenders.get(pair) ?? []) paired(sender, socket);
          waitingSenders.delete(pair);
        } else {
          const receiver = receivers.get(pair);
          if (receiver) paired(socket, receiver);
          else waitingSenders.set(pair, [...(waitingSenders.get(pair) ?? []), socket]);
        }
      };
      socket.on("data", onHello);
    });
  };
  const tcpRelay = relayServer(bytePipe);
  const tcpEnvelopeRelay = relayServer(envelopePipe);
  // ---- TCP accept and hang up
  const tcpAccept = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.end();
  });
  // ---- scripted guest login
  const tcpScripted = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    const counter = new ObjectCounter();
    let step = 0;
    socket.on("data", (chunk: Uint8Array) => {
      for (let n = counter.count(chunk); n > 0 && step < SCRIPT.length; n--) {
        if (step === SCRIPT.length - 1) socket.end(SCRIPT[step++]);
        else socket.write(SCRIPT[step++]);
      }
    });
  });
  const [relayAddress, envelopeRelayAddress, acceptAddress, scriptedAddress] = await Promise.all([
    listen(tcpRelay),
    listen(tcpEnvelopeRelay),
    listen(tcpAccept),
    listen(tcpScripted),
  ]);

  // ---- WebSocket relay on Deno.upgradeWebSocket
  const denoReceivers = new Map<string, WebSocket>();
  const denoServer = Deno.serve({ hostname: HOST, port: 0, onListen: () => {} }, (request) => {
    const [, role, pair] = new URL(request.url).pathname.split("/");
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "lime" });
    if (role === "r") {
      denoReceivers.set(pair, socket);
      socket.onclose = () => denoReceivers.delete(pair);
    } else {
      socket.onmessage = (event) => denoReceivers.get(pair)?.send(event.data);
    }
    return response;
  });

  // ---- WebSocket relay on this project's own WebSocket server (node:net)
  const nodeReceivers = new Map<string, net.Socket>();
  const nodeServer = await NodeWebSocketServer.listen({
    hostname: HOST,
    port: 0,
    maxPendingPerAddress: 0,
  }, {
    protocol: "lime",
    refusal: () => undefined,
    accepted({ socket, head }, request) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      const [, role, pair] = request.pathname.split("/");
      if (role === "r") {
        nodeReceivers.set(pair, socket);
        socket.on("close", () => nodeReceivers.delete(pair));
        socket.on("data", () => {});
        socket.resume();
        return;
      }
      let out: Uint8Array[] = [];
      const reader = new FrameReader({
        message: (payload) => void out.push(encodeFrame(OPCODE.text, payload)),
        ping: () => {},
        pong: () => {},
        close: () => socket.destroy(),
        error: () => socket.destroy(),
      }, 8 * 1024 * 1024);
      const onChunk = (chunk: Uint8Array) => {
        reader.push(chunk);
        if (out.length === 0) return;
        const receiver = nodeReceivers.get(pair);
        const frames = out;
        out = [];
        if (!receiver) return;
        let bytes: Uint8Array;
        if (frames.length === 1) bytes = frames[0];
        else {
          let length = 0;
          for (const frame of frames) length += frame.length;
          bytes = new Uint8Array(length);
          let at = 0;
          for (const frame of frames) {
            bytes.set(frame, at);
            at += frame.length;
          }
        }
        if (!receiver.write(bytes)) {
          socket.pause();
          receiver.once("drain", () => socket.resume());
        }
      };
      if (head?.length) onChunk(head);
      socket.on("data", onChunk);
      socket.resume();
    },
  });

  return {
    tcpRelay: relayAddress,
    tcpEnvelopeRelay: envelopeRelayAddress,
    tcpAccept: acceptAddress,
    tcpScripted: scriptedAddress,
    wsDeno: `${HOST}:${denoServer.addr.port}`,
    wsNode: nodeServer.address,
    async close() {
      for (const socket of sockets) socket.destroy();
      for (const socket of denoReceivers.values()) socket.close();
      await Promise.all([
        new Promise((resolve) => tcpRelay.close(resolve)),
        new Promise((resolve) => tcpEnvelopeRelay.close(resolve)),
        new Promise((resolve) => tcpAccept.close(resolve)),
        new Promise((resolve) => tcpScripted.close(resolve)),
        denoServer.shutdown(),
        nodeServer.close(),
      ]);
    },
  };
}
