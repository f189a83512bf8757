/**
 * `trustProxyTls`: behind a TLS-terminating proxy the server sees cleartext; only when told to
 * trust the proxy does `X-Forwarded-Proto: https` make a WebSocket or an HTTP API request count
 * as TLS (so passwords and keys are accepted with `plainWithoutTls: "nowhere"`). Without the
 * option, a client sending the header itself gains nothing.
 */
import assert from "node:assert/strict";
import {
  ClientChannel,
  hashPassword,
  keyAuthorization,
  KvAccountStore,
  LimeError,
  LimeServer,
  plainCredentials,
  WebSocketTransport,
} from "../../mod.ts";
import { within } from "../tcp_helpers.ts";

async function withServer(trustProxyTls: boolean, run: (base: string) => Promise<void>) {
  const store = await KvAccountStore.open(":memory:");
  await store.createAccount({
    identity: "alice@localhost",
    document: {},
    passwordHash: await hashPassword("pw", 1000),
    keyHash: await hashPassword("key", 1000),
  });
  const server = new LimeServer({
    store,
    tcp: false,
    websocket: false,
    plainWithoutTls: "nowhere",
    trustProxyTls,
  });
  const app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request, info) => server.handler(request, info),
  );
  try {
    await run(`127.0.0.1:${app.addr.port}`);
  } finally {
    await server.shutdown();
    await app.shutdown();
    store.close();
  }
}

/** The schemes offered to a WebSocket client that sends `X-Forwarded-Proto: https`. */
async function offered(base: string): Promise<readonly string[]> {
  const socket = new WebSocket(`ws://${base}/`, {
    protocols: ["lime"],
    headers: { "x-forwarded-proto": "https" },
  } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const channel = new ClientChannel(WebSocketTransport.fromSocket(socket));
  let schemes: readonly string[] = [];
  const outcome = await within(
    channel.establishSession({
      identity: "alice@localhost",
      instance: "web",
      authenticator: (offer) => {
        schemes = offer;
        if (offer.includes("plain")) return plainCredentials("pw");
        throw new LimeError({ code: 13, description: "plain not offered" });
      },
    }),
  ).then(() => "established", () => "refused");
  if (outcome === "established") await channel.finish();
  await channel.close();
  return schemes;
}

async function post(base: string): Promise<number> {
  const response = await fetch(`http://${base}/commands`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-forwarded-proto": "https",
      authorization: keyAuthorization("alice@localhost", "key"),
    },
    body: JSON.stringify({ method: "get", uri: "/ping" }),
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test("LimeServer trustProxyTls off: X-Forwarded-Proto does not make a connection TLS", async () => {
  await withServer(false, async (base) => {
    assert.ok(!(await offered(base)).includes("plain"));
    assert.equal(await post(base), 403);
  });
});

Deno.test("LimeServer trustProxyTls on: X-Forwarded-Proto https counts as TLS for WebSocket and HTTP", async () => {
  await withServer(true, async (base) => {
    assert.ok((await offered(base)).includes("plain"));
    assert.equal(await post(base), 200);
  });
});

Deno.test("WebSocketTransportListener trustProxyTls: the standalone listener reads X-Forwarded-Proto only when told", async () => {
  for (const trustProxyTls of [false, true]) {
    const store = await KvAccountStore.open(":memory:");
    await store.createAccount({
      identity: "alice@localhost",
      document: {},
      passwordHash: await hashPassword("pw", 1000),
    });
    const server = new LimeServer({
      store,
      tcp: false,
      websocket: { hostname: "127.0.0.1", port: 0 },
      plainWithoutTls: "nowhere",
      trustProxyTls,
    });
    await server.start();
    try {
      assert.equal((await offered(server.websocketAddress!)).includes("plain"), trustProxyTls);
    } finally {
      await server.shutdown();
      store.close();
    }
  }
});
