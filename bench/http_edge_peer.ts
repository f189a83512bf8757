/**
 * The other process of `bench/http_edge.ts`, one of three servers on 127.0.0.1 (port 0), which
 * prints `port <n>` once listening and runs until killed:
 *
 * - `lime`: a LimeServer with its HTTP port (the HTTP API), accounts in memory (`alice` with
 *   access key `alice-key`; `bob`, whose session over TCP reads and drops what it gets), no rate
 *   limit; alice's POSTs to bob are routed to that session;
 * - `bare`: a `Deno.serve` that reads the body, `JSON.parse`s it and answers 202 with its id (the
 *   floor of any JSON-over-HTTP endpoint);
 * - `sink`: a `Deno.serve` answering 200 to every POST (a bot that does nothing), counting them
 *   (`GET /count`).
 *
 * `deno run -A bench/http_edge_peer.ts lime|bare|sink`
 * @module
 */
import {
  ClientChannel,
  hashPassword,
  KvAccountStore,
  LimeServer,
  plainCredentials,
  TcpTransport,
} from "../mod.ts";

const mode = Deno.args[0];

if (mode === "lime") {
  const store = await KvAccountStore.open(":memory:");
  await store.createAccount({
    identity: "alice@localhost",
    document: {},
    passwordHash: await hashPassword("alice-pw", 1000),
    keyHash: await hashPassword("alice-key", 1000),
  });
  await store.createAccount({
    identity: "bob@localhost",
    document: {},
    passwordHash: await hashPassword("bob-pw", 1000),
  });
  const server = new LimeServer({
    store,
    tcp: { hostname: "127.0.0.1", port: 0 },
    websocket: false,
    http: { hostname: "127.0.0.1", port: 0, maxRequestsPerAddress: 0 },
    rateLimit: false,
  });
  await server.start();
  const transport = new TcpTransport();
  await transport.open(`net.tcp://${server.tcpAddress}`);
  const bob = new ClientChannel(transport);
  await bob.establishSession({
    identity: "bob@localhost",
    instance: "sink",
    credentials: plainCredentials("bob-pw"),
  });
  bob.onMessage(() => {});
  console.log(`port ${server.httpAddress!.split(":")[1]}`);
} else if (mode === "bare" || mode === "sink") {
  let count = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      if (request.method === "GET") return new Response(String(count));
      if (mode === "sink") {
        await request.body?.cancel();
        count++;
        return new Response(null, { status: 200 });
      }
      const envelope = JSON.parse(await request.text()) as { id?: string };
      return new Response(JSON.stringify({ id: envelope.id ?? crypto.randomUUID() }), {
        status: 202,
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    },
  );
  console.log(`port ${server.addr.port}`);
} else {
  console.error("usage: http_edge_peer.ts lime|bare|sink");
  Deno.exit(2);
}
