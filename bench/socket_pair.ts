/**
 * Raw `node:net` socket pairs over 127.0.0.1 for the benchmarks' baselines.
 * @module
 */
import net from "node:net";

/** A connected client socket and the server's side of it (the listener is closed again). */
export async function socketPair(): Promise<[client: net.Socket, server: net.Socket]> {
  const listening = net.createServer();
  await new Promise<void>((r) => listening.listen(0, "127.0.0.1", r));
  const port = (listening.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => listening.once("connection", r));
  const client = net.connect(port, "127.0.0.1");
  await new Promise((r) => client.once("connect", r));
  const server = await accepted;
  listening.close(); // stops listening; its callback would wait for the open connections
  return [client, server];
}

/** Destroys a socket and resolves once it closed. */
export function closeSocket(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once("close", () => resolve());
    socket.destroy();
  });
}
