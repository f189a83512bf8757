import assert from "node:assert/strict";
import dgram from "node:dgram";
import { resolveLimeServer } from "../src/channel/resolve_server.ts";

/** One SRV record the test responder serves. */
interface Srv {
  priority: number;
  weight: number;
  port: number;
  /** Served as given; `"."` is the root name (service not available). */
  target: string;
}

/** What the responder does with a question: answer it, or ignore it so a lookup waits. */
type Mode = "answer" | "silent";

/** A bound UDP socket on loopback, as the responder needs it. */
interface UdpEndpoint {
  port: number;
  /** Calls `onMessage` for every datagram until closed. */
  serve(onMessage: (data: Uint8Array, reply: (bytes: Uint8Array) => Promise<void>) => void): void;
  close(): Promise<void>;
}

/**
 * `Deno.listenDatagram` is unstable (it needs `--unstable-net` or `"unstable": ["net"]` in
 * deno.json); without it, the responder binds through `node:dgram`, which needs only --allow-net.
 */
async function bindUdp(): Promise<UdpEndpoint> {
  if (typeof Deno.listenDatagram === "function") {
    const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    let loop: Promise<void> = Promise.resolve();
    return {
      port: (conn.addr as Deno.NetAddr).port,
      serve(onMessage) {
        loop = (async () => {
          while (true) {
            let data: Uint8Array, from: Deno.Addr;
            try {
              [data, from] = await conn.receive();
            } catch {
              return; // closed
            }
            onMessage(data, async (bytes) => {
              await conn.send(bytes, from);
            });
          }
        })();
      },
      async close() {
        conn.close();
        await loop;
      },
    };
  }
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    serve(onMessage) {
      socket.on("message", (message, remote) => {
        onMessage(
          new Uint8Array(message),
          (bytes) =>
            new Promise((resolve, reject) =>
              socket.send(bytes, remote.port, remote.address, (e) => e ? reject(e) : resolve())
            ),
        );
      });
    },
    close: () => new Promise<void>((resolve) => socket.close(resolve)),
  };
}

/**
 * A tiny DNS responder on 127.0.0.1 (UDP, ephemeral port) answering SRV questions (type 33) for
 * the names in `table` (case-insensitive, no trailing dot), SERVFAIL (rcode 2) for the names in
 * `failing`, and NXDOMAIN (rcode 3) for any other name. In "silent" mode it answers nothing.
 */
class DnsResponder implements AsyncDisposable {
  readonly #udp: UdpEndpoint;
  readonly #table: Map<string, Srv[]>;
  readonly #failing: Set<string>;
  readonly #mode: Mode;
  /** The questions asked, names lower-cased, in arrival order. */
  readonly questions: { name: string; type: number }[] = [];
  #questionArrived: PromiseWithResolvers<void> = Promise.withResolvers();

  private constructor(
    udp: UdpEndpoint,
    table: Record<string, Srv[]>,
    mode: Mode,
    failing: string[],
  ) {
    this.#udp = udp;
    this.#table = new Map(Object.entries(table).map(([k, v]) => [k.toLowerCase(), v]));
    this.#failing = new Set(failing.map((n) => n.toLowerCase()));
    this.#mode = mode;
    udp.serve((data, reply) => this.#onQuery(data, reply));
  }

  /** Binds a responder serving `table`. */
  static async start(
    table: Record<string, Srv[]>,
    options: { mode?: Mode; failing?: string[] } = {},
  ): Promise<DnsResponder> {
    return new DnsResponder(
      await bindUdp(),
      table,
      options.mode ?? "answer",
      options.failing ?? [],
    );
  }

  /** The name server option pointing at this responder. */
  get nameServer(): { ipAddr: string; port: number } {
    return { ipAddr: "127.0.0.1", port: this.#udp.port };
  }

  /** Resolves when the next question arrives. */
  get questionArrived(): Promise<void> {
    return this.#questionArrived.promise;
  }

  #onQuery(data: Uint8Array, reply: (bytes: Uint8Array) => Promise<void>): void {
    let question: Question;
    try {
      question = parseQuestion(data);
    } catch {
      return; // not a query we understand
    }
    this.questions.push({ name: question.name, type: question.type });
    this.#questionArrived.resolve();
    this.#questionArrived = Promise.withResolvers();
    if (this.#mode === "silent") return;
    const records = this.#table.get(question.name);
    const response = this.#failing.has(question.name)
      ? buildReply(data, question, 2, [])
      : records === undefined
      ? buildReply(data, question, 3, [])
      : buildReply(data, question, 0, question.type === 33 ? records : []);
    reply(response).catch(() => {}); // the socket may close first
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#udp.close();
  }
}

interface Question {
  /** Lower-cased, dot-separated, no trailing dot. */
  name: string;
  type: number;
  class: number;
  /** Offset just past QCLASS. */
  end: number;
}

/** Parses the header and the first question of a query (RFC 1035 §4.1.1, §4.1.2). */
function parseQuestion(message: Uint8Array): Question {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  if (message.length < 12) throw new Error("short header");
  const flags = view.getUint16(2);
  if (flags & 0x8000) throw new Error("not a query");
  if (view.getUint16(4) < 1) throw new Error("no question");
  const labels: string[] = [];
  let offset = 12;
  while (true) {
    const length = message[offset];
    if (length === undefined) throw new Error("truncated name");
    if (length === 0) {
      offset += 1;
      break;
    }
    if (length & 0xc0) throw new Error("compressed question name");
    labels.push(new TextDecoder().decode(message.subarray(offset + 1, offset + 1 + length)));
    offset += 1 + length;
  }
  if (offset + 4 > message.length) throw new Error("truncated question");
  return {
    name: labels.join(".").toLowerCase(),
    type: view.getUint16(offset),
    class: view.getUint16(offset + 2),
    end: offset + 4,
  };
}

/** Encodes a domain name as labels; `"."` or `""` is the root (a single zero byte). */
function encodeName(name: string): number[] {
  const bytes: number[] = [];
  for (const label of name.split(".").filter((l) => l.length > 0)) {
    const encoded = new TextEncoder().encode(label);
    bytes.push(encoded.length, ...encoded);
  }
  bytes.push(0);
  return bytes;
}

/** Builds a response echoing the question, with rcode and SRV answers (RFC 2782 RDATA). */
function buildReply(query: Uint8Array, question: Question, rcode: number, srv: Srv[]): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push((n >> 8) & 0xff, n & 0xff);
  const u32 = (n: number) =>
    out.push((n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const queryFlags = (query[2] << 8) | query[3];
  out.push(query[0], query[1]); // id
  // QR=1, opcode copied, AA=1, RD copied, RA=1, rcode.
  u16(0x8000 | (queryFlags & 0x7800) | 0x0400 | (queryFlags & 0x0100) | 0x0080 | rcode);
  u16(1); // QDCOUNT
  u16(srv.length); // ANCOUNT
  u16(0); // NSCOUNT
  u16(0); // ARCOUNT
  out.push(...query.subarray(12, question.end));
  for (const record of srv) {
    u16(0xc00c); // pointer to the question name
    u16(33); // TYPE SRV
    u16(1); // CLASS IN
    u32(60); // TTL
    const target = encodeName(record.target);
    u16(6 + target.length); // RDLENGTH
    u16(record.priority);
    u16(record.weight);
    u16(record.port);
    out.push(...target);
  }
  return new Uint8Array(out);
}

Deno.test("resolveLimeServer resolves SRV records ordered by priority then weight", async () => {
  await using dns = await DnsResponder.start({
    "_lime._tcp.example.com": [
      { priority: 20, weight: 0, port: 55321, target: "backup.example.com." },
      { priority: 10, weight: 5, port: 443, target: "low.example.com." },
      { priority: 10, weight: 60, port: 55322, target: "high.example.com." },
    ],
  });
  const result = await resolveLimeServer("example.com", { nameServer: dns.nameServer });
  assert.deepEqual(result, [
    {
      uri: "net.tcp://high.example.com:55322",
      hostname: "high.example.com",
      port: 55322,
      priority: 10,
      weight: 60,
      source: "srv",
    },
    {
      uri: "net.tcp://low.example.com:443",
      hostname: "low.example.com",
      port: 443,
      priority: 10,
      weight: 5,
      source: "srv",
    },
    {
      uri: "net.tcp://backup.example.com:55321",
      hostname: "backup.example.com",
      port: 55321,
      priority: 20,
      weight: 0,
      source: "srv",
    },
  ]);
  assert.deepEqual(dns.questions, [{ name: "_lime._tcp.example.com", type: 33 }]);
});

Deno.test("resolveLimeServer falls back to the domain and port 55321 on NXDOMAIN", async () => {
  await using dns = await DnsResponder.start({});
  const result = await resolveLimeServer("missing.example", { nameServer: dns.nameServer });
  assert.deepEqual(result, [{
    uri: "net.tcp://missing.example:55321",
    hostname: "missing.example",
    port: 55321,
    priority: 0,
    weight: 0,
    source: "fallback",
  }]);
  assert.deepEqual(dns.questions.map((q) => q.name), ["_lime._tcp.missing.example"]);
});

Deno.test("resolveLimeServer falls back when the name has no SRV records", async () => {
  await using dns = await DnsResponder.start({ "_lime._tcp.empty.example": [] });
  const result = await resolveLimeServer("empty.example", { nameServer: dns.nameServer });
  assert.equal(result.length, 1);
  assert.equal(result[0].source, "fallback");
  assert.equal(result[0].uri, "net.tcp://empty.example:55321");
});

Deno.test("resolveLimeServer uses the fallback hostname and port when given", async () => {
  await using dns = await DnsResponder.start({});
  const result = await resolveLimeServer("missing.example", {
    nameServer: dns.nameServer,
    fallback: { hostname: "lime.internal", port: 8443 },
  });
  assert.deepEqual(result, [{
    uri: "net.tcp://lime.internal:8443",
    hostname: "lime.internal",
    port: 8443,
    priority: 0,
    weight: 0,
    source: "fallback",
  }]);
  const portOnly = await resolveLimeServer("missing.example", {
    nameServer: dns.nameServer,
    fallback: { port: 1234 },
  });
  assert.equal(portOnly[0].uri, "net.tcp://missing.example:1234");
});

Deno.test("resolveLimeServer returns no servers when the SRV target is '.'", async () => {
  await using dns = await DnsResponder.start({
    "_lime._tcp.nolime.example": [{ priority: 0, weight: 0, port: 0, target: "." }],
  });
  const result = await resolveLimeServer("nolime.example", { nameServer: dns.nameServer });
  assert.deepEqual(result, []);
});

Deno.test("resolveLimeServer rejects on an aborted signal instead of falling back", async () => {
  await using dns = await DnsResponder.start({}, { mode: "silent" });
  const controller = new AbortController();
  const reason = new Error("stop");
  const lookup = resolveLimeServer("example.com", {
    nameServer: dns.nameServer,
    signal: controller.signal,
  });
  await dns.questionArrived;
  controller.abort(reason);
  await assert.rejects(lookup, (e) => e === reason);

  const already = new AbortController();
  already.abort();
  await assert.rejects(
    resolveLimeServer("example.com", { nameServer: dns.nameServer, signal: already.signal }),
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
});

Deno.test("resolveLimeServer rejects an invalid domain with a TypeError", async () => {
  for (const domain of ["", "exa mple.com", " example.com", "example.com\n"]) {
    await assert.rejects(resolveLimeServer(domain), TypeError, JSON.stringify(domain));
  }
});

Deno.test("resolveLimeServer falls back on a DNS server failure", async () => {
  await using dns = await DnsResponder.start({}, { failing: ["_lime._tcp.broken.example"] });
  const result = await resolveLimeServer("broken.example", { nameServer: dns.nameServer });
  assert.deepEqual(result.map((a) => [a.uri, a.source]), [
    ["net.tcp://broken.example:55321", "fallback"],
  ]);
  assert.ok(dns.questions.length >= 1);
});

Deno.test("resolveLimeServer uses an injected resolver", async () => {
  const asked: [string, string, Deno.ResolveDnsOptions | undefined][] = [];
  const resolveDns = ((query: string, type: string, options?: Deno.ResolveDnsOptions) => {
    asked.push([query, type, options]);
    return Promise.resolve([{ priority: 1, weight: 1, port: 55321, target: "lime.example.org." }]);
  }) as typeof Deno.resolveDns;
  const nameServer = { ipAddr: "192.0.2.1", port: 5353 };
  const result = await resolveLimeServer("example.org", { resolveDns, nameServer });
  assert.deepEqual(result.map((a) => a.uri), ["net.tcp://lime.example.org:55321"]);
  assert.deepEqual(asked, [["_lime._tcp.example.org", "SRV", { nameServer, signal: undefined }]]);
});
