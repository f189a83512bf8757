/**
 * A scripted server's WebSocket connection (`Deno.upgradeWebSocket` with the `lime`
 * subprotocol): one text message per envelope in the profile's format, its separator inside the message (as
 * gorilla/websocket's `WriteJSON` leaves Go's `\n`), received messages split like a TCP stream.
 * @module
 */
import { JsonSplitter } from "./json_splitter.ts";
import type { WireFormat } from "./profile.ts";
import { Inbox, type Wire } from "./wire.ts";

/** Wraps an upgraded WebSocket. */
export function websocketWire(socket: WebSocket, format: WireFormat, secure: boolean): Wire {
  const inbox = new Inbox();
  const splitter = new JsonSplitter();
  const closed = Promise.withResolvers<void>();
  socket.onmessage = (event) => {
    const data = typeof event.data === "string" ? event.data : new Uint8Array(event.data);
    for (const envelope of splitter.push(data)) inbox.put(envelope);
  };
  socket.onclose = () => {
    inbox.end();
    closed.resolve();
  };
  socket.onerror = () => {};
  return {
    kind: "ws",
    secure,
    tlsAvailable: false,
    peerCommonName: undefined,
    receive: () => inbox.take(),
    send(envelope) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(format.encode(envelope) + format.separator);
      }
    },
    startTls() {
      return Promise.reject(new Error("A WebSocket cannot switch to TLS in the session"));
    },
    close() {
      if (socket.readyState <= WebSocket.OPEN) socket.close(1000);
    },
    closed: closed.promise,
  };
}
