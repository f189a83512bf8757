/**
 * The HTTP API under abuse (design rule 14: every way in has a budget, and a test performing the
 * abuse): a huge Content-Length, an endless chunked body, a slow body, many requests at once from
 * one address, many wrong Authorization headers, a sender over its rate, and the cache of
 * verified credentials (no hash per request; a changed key is refused at once).
 */
import assert from "node:assert/strict";
import { hashPassword } from "../../mod.ts";
import { within } from "../tcp_helpers.ts";
import { basicAuthorization, HttpTestServer, keyAuthorization } from "../http/http_helpers.ts";

const ALICE = "alice@localhost";
const aliceKey = keyAuthorization(ALICE, "alice-key");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw HTTP/1.1 client: writes `head`, then `body` chunks as told; reads the status line. */
async function raw(address: string, head: string) {
  const [hostname, port] = address.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(encoder.encode(head));
  let received = "";
  const reading = (async () => {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        received += decoder.decode(buffer.subarray(0, n));
      }
    } catch {
      // reset
    }
  })();
  const status = async () => {
    for (let i = 0; i < 200 && !/^HTTP\/1\.1 \d{3}/.test(received); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
  };
  return {
    conn,
    status,
    get received() {
      return received;
    },
    async close() {
      try {
        conn.close();
      } catch {
        // closed already
      }
      await reading;
    },
  };
}

function head(path: string, headers: Record<string, string>) {
  return `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
}

Deno.test("HttpApi refuses a huge Content-Length with 413 before reading the body", async () => {
  await using t = await HttpTestServer.start();
  await t.addAccount(ALICE, "pw", "alice-key");
  const client = await raw(
    t.server.httpAddress!,
    head("/messages", { authorization: aliceKey, "content-length": String(1 << 30) }),
  );
  assert.equal(await client.status(), 413);
  assert.match(client.received, /"code":21/);
  await client.close();
});

Deno.test("HttpApi refuses an endless chunked body with 413 once it passes the envelope cap", async () => {
  await using t = await HttpTestServer.start({ maxEnvelopeSize: 64 * 1024 });
  await t.addAccount(ALICE, "pw", "alice-key");
  const client = await raw(
    t.server.httpAddress!,
    head("/messages", { authorization: aliceKey, "transfer-encoding": "chunked" }),
  );
  let sent = 0;
  // Keep sending 16 KiB chunks until the server answers (or 4 MiB have gone).
  while (sent < 4 * 1024 * 1024 && !client.received) {
    try {
      await client.conn.write(encoder.encode(`4000\r\n${"a".repeat(0x4000)}\r\n`));
    } catch {
      break;
    }
    sent += 0x4000;
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(await client.status(), 400); // not JSON at its first byte ("a")
  await client.close();
  const json = await raw(
    t.server.httpAddress!,
    head("/messages", { authorization: aliceKey, "transfer-encoding": "chunked" }),
  );
  await json.conn.write(encoder.encode(`1\r\n{\r\n`));
  sent = 0;
  while (sent < 4 * 1024 * 1024 && !json.received) {
    try {
      await json.conn.write(encoder.encode(`4000\r\n${" ".repeat(0x4000)}\r\n`));
    } catch {
      break;
    }
    sent += 0x4000;
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(await json.status(), 413);
  assert.ok(sent < 1024 * 1024, `${sent} bytes were sent before the refusal`);
  await json.close();
});

Deno.test("HttpApi refuses a slow body with 408 after the body timeout", async () => {
  await using t = await HttpTestServer.start({ http: { bodyTimeout: 300 } });
  await t.addAccount(ALICE, "pw", "alice-key");
  const client = await raw(
    t.server.httpAddress!,
    head("/messages", { authorization: aliceKey, "content-length": "100" }),
  );
  await client.conn.write(encoder.encode('{"type":'));
  const started = performance.now();
  assert.equal(await within(client.status(), 5000, "the 408"), 408);
  assert.ok(performance.now() - started < 3000);
  await client.close();
});

Deno.test("HttpApi answers 429 past the requests in progress of one address", async () => {
  await using t = await HttpTestServer.start({
    http: { maxRequestsPerAddress: 4, bodyTimeout: 2000 },
  });
  await t.addAccount(ALICE, "pw", "alice-key");
  // Four requests whose bodies never come hold the address's four slots.
  const holders = await Promise.all(
    Array.from(
      { length: 4 },
      () =>
        raw(
          t.server.httpAddress!,
          head("/messages", { authorization: aliceKey, "content-length": "50" }),
        ),
    ),
  );
  await new Promise((r) => setTimeout(r, 100));
  const refused = await t.post("/messages", { type: "text/plain", content: "x" }, aliceKey);
  assert.equal(refused.status, 429, refused.text);
  assert.equal(refused.headers.get("retry-after"), "1");
  for (const holder of holders) await holder.close();
});

Deno.test("HttpApi throttles wrong Authorization headers: refused with 429 without hashing", async () => {
  await using t = await HttpTestServer.start({ passwordIterations: 1000 });
  await t.store.createAccount({
    identity: ALICE,
    document: {},
    // Expensive on purpose: a guess that reached the hash would take a long time.
    passwordHash: await hashPassword("right", 200_000),
  });
  const statuses: number[] = [];
  const started = performance.now();
  for (let i = 0; i < 40; i++) {
    const answer = await t.post(
      "/messages",
      { type: "text/plain", content: "x" },
      basicAuthorization(ALICE, `guess${i}`),
    );
    statuses.push(answer.status);
  }
  const hashed = statuses.filter((s) => s === 401).length;
  assert.equal(hashed, 5, statuses.join(","));
  assert.equal(statuses.filter((s) => s === 429).length, 35);
  // Random identities from one address: the address's throttle (20 free) stops them.
  const names: number[] = [];
  for (let i = 0; i < 40; i++) {
    names.push((await t.post("/messages", {}, basicAuthorization(`u${i}@localhost`, "x"))).status);
  }
  assert.ok(names.filter((s) => s === 429).length >= 15, names.join(","));
  assert.ok(performance.now() - started < 20_000);
});

Deno.test("HttpApi refuses a sender over its rate with 429 and Retry-After", async () => {
  await using t = await HttpTestServer.start({ rateLimit: 5 });
  await t.addAccount(ALICE, "pw", "alice-key");
  const statuses: number[] = [];
  let retry: string | null = null;
  for (let i = 0; i < 12; i++) {
    const answer = await t.post(
      "/messages",
      { type: "text/plain", content: "x", to: ALICE },
      aliceKey,
    );
    statuses.push(answer.status);
    if (answer.status === 429) {
      retry = answer.headers.get("retry-after");
      assert.equal((answer.body?.reason as { code: number }).code, 34);
    }
  }
  assert.ok(statuses.filter((s) => s === 202).length <= 6, statuses.join(","));
  assert.ok(statuses.includes(429), statuses.join(","));
  assert.equal(retry, "1");
});

Deno.test("HttpApi remembers a verified key (no hash per request) until the key changes", async () => {
  await using t = await HttpTestServer.start();
  await t.store.createAccount({
    identity: ALICE,
    document: {},
    passwordHash: await hashPassword("pw", 1000),
    keyHash: await hashPassword("alice-key", 300_000),
  });
  const first = performance.now();
  assert.equal((await t.post("/commands", { method: "get", uri: "/ping" }, aliceKey)).status, 200);
  const hashMs = performance.now() - first;
  const started = performance.now();
  for (let i = 0; i < 10; i++) {
    assert.equal(
      (await t.post("/commands", { method: "get", uri: "/ping" }, aliceKey)).status,
      200,
    );
  }
  const tenMs = performance.now() - started;
  assert.ok(tenMs < hashMs * 5, `10 cached requests took ${tenMs} ms, one hash ${hashMs} ms`);
  const account = (await t.store.getAccount(ALICE))!;
  await t.store.updateAccount({ ...account, keyHash: await hashPassword("new-key", 1000) });
  const stale = await t.post("/commands", { method: "get", uri: "/ping" }, aliceKey);
  assert.equal(stale.status, 401);
  const fresh = await t.post(
    "/commands",
    { method: "get", uri: "/ping" },
    keyAuthorization(ALICE, "new-key"),
  );
  assert.equal(fresh.status, 200);
});
