/**
 * The attacks of `deno task attack`, each run against a live server until a deadline, from its
 * own loopback source address (127.0.0.x), and each returning one line that says what the server
 * did about it. They are the fairness and memory attacks of the security issue; the tests in
 * `tests/security/` assert the same outcomes.
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import zlib from "node:zlib";
import { encodeBase64Text } from "../../src/channel/authentication/credentials.ts";
import { EnvelopeFramer } from "../../src/transport/framing.ts";
import { RawPeer } from "./raw_peer.ts";
import { frameHeader, gzipBomb, rawGuest, upgradeRequest, writeDrained } from "./wire.ts";

/** What an attack knows of its target. */
export interface AttackContext {
  /** TCP `host:port`. */
  tcp: string;
  /** WebSocket `host:port`. */
  ws: string;
  /** `performance.now()` at which the attack stops. */
  until: number;
  /** An account someone else owns (for the guessing attack): its identity. */
  victim: string;
}

/** One attack. */
export interface Attack {
  /** Its name (`--only`). */
  name: string;
  /** What it does, for the report. */
  what: string;
  /** Runs it until `context.until`; resolves with what the server did. */
  run(context: AttackContext): Promise<string>;
}

const time = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const reasonOf = (reply: unknown) =>
  typeof reply === "object" && reply !== null
    ? (reply as { reason?: { code?: number } }).reason?.code
    : undefined;

const lockout: Attack = {
  name: "lockout",
  what: "1,000 sockets from one address that never send `new`",
  async run({ tcp, until }) {
    const peers: RawPeer[] = [];
    try {
      for (let i = 0; i < 1000 && time() < until; i++) {
        peers.push(await RawPeer.connect(tcp, "127.0.0.2"));
      }
      const refused = { at: 0, timeout: 0 };
      const replies = peers.map((peer) =>
        peer.next(Math.max(until - time(), 0) + 7000).then((reply) => {
          const code = reasonOf(reply);
          if (code === 11) refused.at++;
          if (code === 16) refused.timeout++;
        }, () => {})
      );
      // Held until the first-envelope timeout (5 s) drops the ones let in, or the attack's end.
      await Promise.race([Promise.all(replies), sleep(Math.max(6000, until - time()))]);
      return `${peers.length} sockets: ${refused.at} refused at once (11, per-address cap), ` +
        `${refused.timeout} dropped by the first-envelope timeout (16)`;
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
    }
  },
};

const cpu: Attack = {
  name: "cpu",
  what: "`new` envelopes with 600,000 numeric metadata entries (9.5 MiB each), back to back",
  async run({ tcp, until }) {
    const metadata: Record<string, number> = {};
    for (let i = 0; i < 600_000; i++) metadata[`k${i}`] = i;
    const envelope = JSON.stringify({ state: "new", metadata });
    let sent = 0;
    let refused = 0;
    let cut = 0;
    while (time() < until) {
      const peer = await RawPeer.connect(tcp, "127.0.0.3");
      try {
        peer.write(envelope);
        sent++;
        const reply = await peer.next(30_000);
        if (reasonOf(reply) === 21) refused++;
        else if (reply === "closed") cut++;
      } finally {
        await peer.close();
      }
    }
    return `${sent} envelopes: ${refused} refused with 21 at 64 KiB read, ${cut} cut off ` +
      "(closed before the refusal could be read)";
  },
};

const gzip: Attack = {
  name: "gzip-bomb",
  what: "after negotiating gzip: 2 MiB of gzip inflating to 2 GiB of whitespace",
  async run({ tcp, until }) {
    const bomb = await gzipBomb();
    const blocks = 2048; // 2 GiB
    let rounds = 0;
    const outcomes: string[] = [];
    while (time() < until) {
      rounds++;
      const outcome = await gzipRound(tcp, bomb, blocks, until);
      outcomes.push(outcome);
    }
    return `${rounds} bombs: ${[...new Set(outcomes)].slice(0, 3).join("; ")}`;
  },
};

/** One bomb: negotiates gzip by hand, then streams it, reading the replies through gunzip. */
async function gzipRound(
  tcp: string,
  bomb: Awaited<ReturnType<typeof gzipBomb>>,
  blocks: number,
  until: number,
): Promise<string> {
  const colon = tcp.lastIndexOf(":");
  const socket = net.connect({
    host: tcp.slice(0, colon),
    port: Number(tcp.slice(colon + 1)),
    localAddress: "127.0.0.4",
  });
  socket.on("error", () => {});
  const closed = new Promise((resolve) => socket.once("close", resolve));
  const replies: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  const plain = new EnvelopeFramer({ maxEnvelopeSize: 1 << 20, maxDepth: 64 });
  const inflated = new EnvelopeFramer({ maxEnvelopeSize: 1 << 20, maxDepth: 64 });
  const gunzip = zlib.createGunzip();
  gunzip.on("error", () => {});
  const take = (frame: Uint8Array) => {
    replies.push(JSON.parse(new TextDecoder().decode(frame)));
    wake?.();
  };
  gunzip.on("data", (chunk: Uint8Array) => inflated.push(chunk, (frame) => take(frame)));
  let compressed = false;
  socket.on("data", (chunk: Uint8Array) => {
    if (compressed) return void gunzip.write(chunk);
    const used = plain.push(chunk, (frame) => {
      take(frame);
      // The confirmation: what follows is gzip.
      if (replies.length === 2) compressed = true;
      return !compressed;
    });
    if (compressed && used < chunk.length) gunzip.write(chunk.subarray(used));
  });
  const next = async (count: number) => {
    while (replies.length < count && !socket.destroyed) {
      await Promise.race([new Promise<void>((resolve) => wake = resolve), sleep(1000)]);
    }
    return replies[count - 1];
  };
  const started = time();
  try {
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write('{"state":"new"}');
    const offer = await next(1);
    if (!offer) return "no offer";
    socket.write(
      JSON.stringify({
        state: "negotiating",
        id: offer.id,
        compression: "gzip",
        encryption: "none",
      }),
    );
    await next(2); // the confirmation
    let written = 0;
    if (await writeDrained(socket, bomb.head)) written++;
    const batch = Buffer.concat(new Array(64).fill(bomb.body));
    while (written < blocks && !socket.destroyed && time() < until + 10_000) {
      if (!(await writeDrained(socket, batch))) break;
      written += 64;
    }
    await Promise.race([closed, sleep(3000)]);
    const failed = replies.find((reply) => reply.state === "failed");
    const ms = (time() - started).toFixed(0);
    return failed
      ? `failed ${reasonOf(failed)} within ${ms} ms`
      : `${written} MiB inflated in ${ms} ms, not stopped`;
  } finally {
    socket.destroy();
    gunzip.destroy();
    await closed;
  }
}

const hashing: Attack = {
  name: "hashing",
  what: "guests that pipeline 60 `set /account` each (password and key to hash)",
  async run({ tcp, until }) {
    let guests = 0;
    let hashed = 0;
    let refused = 0;
    while (time() < until) {
      const peer = await rawGuest(tcp, "127.0.0.5", `hasher${guests++}@localhost/x`);
      try {
        const requests = [];
        for (let i = 0; i < 60; i++) {
          requests.push(JSON.stringify({
            id: `r${i}`,
            method: "set",
            uri: "/account",
            type: "application/vnd.lime.account+json",
            resource: { password: encodeBase64Text(`p${i}`), accessKey: encodeBase64Text(`k${i}`) },
          }));
        }
        peer.write(requests.join(""));
        for (let i = 0; i < 60; i++) {
          const reply = await peer.next(30_000);
          if (reply === "closed") break;
          if (reply.status === "success") hashed++;
          else if (reasonOf(reply) === 34) refused++;
        }
      } catch {
        // A guest refused at once (the address is at its caps): try again.
      } finally {
        await peer.close();
      }
    }
    return `${guests} guests × 60 registrations: ${hashed} hashed, ${refused} refused at once (34)`;
  },
};

const guessing: Attack = {
  name: "guessing",
  what: "wrong passwords for one account, as fast as the server answers",
  async run({ tcp, until, victim }) {
    let checked = 0;
    let throttled = 0;
    const started = time();
    while (time() < until) {
      const peer = await RawPeer.connect(tcp, "127.0.0.6");
      try {
        peer.write('{"state":"new"}');
        const offer = await peer.next();
        if (offer === "closed") continue;
        peer.write(
          JSON.stringify({
            state: "negotiating",
            id: offer.id,
            compression: "none",
            encryption: "none",
          }),
        );
        await peer.next();
        await peer.next();
        peer.write(JSON.stringify({
          state: "authenticating",
          id: offer.id,
          from: `${victim}/x`,
          scheme: "plain",
          authentication: { password: encodeBase64Text(`guess-${checked + throttled}`) },
        }));
        const code = reasonOf(await peer.next(30_000));
        if (code === 13) checked++;
        if (code === 34) throttled++;
      } finally {
        await peer.close();
      }
    }
    const seconds = (time() - started) / 1000;
    return `${checked + throttled} guesses in ${seconds.toFixed(1)} s: ${checked} checked ` +
      `(${(checked / seconds).toFixed(1)}/s), ${throttled} refused unchecked (34)`;
  },
};

const slowReader: Attack = {
  name: "slow-reader",
  what: "a session that never reads, sent 64 KiB messages as fast as another session can",
  async run({ tcp, until }) {
    const sink = await rawGuest(tcp, "127.0.0.7", "sink@localhost/x");
    sink.socket.pause(); // never reads again
    const sender = await rawGuest(tcp, "127.0.0.8", "flood@localhost/x");
    let sent = 0;
    let failed = 0;
    sender.socket.removeAllListeners("data");
    sender.socket.on("data", (chunk: Uint8Array) => {
      failed += new TextDecoder().decode(chunk).split('"event":"failed"').length - 1;
    });
    const content = "x".repeat(64 * 1024);
    try {
      while (time() < until && !sender.closed) {
        const batch = [];
        for (let i = 0; i < 16; i++) {
          batch.push(
            JSON.stringify({
              id: `m${sent++}`,
              to: "sink@localhost/x",
              type: "text/plain",
              content,
            }),
          );
        }
        if (!(await writeDrained(sender.socket, batch.join("")))) break;
      }
      await sleep(200);
      // Read again: a closed connection shows now.
      sink.socket.removeAllListeners("data");
      sink.socket.on("data", () => {});
      sink.socket.resume();
      await Promise.race([
        new Promise((resolve) => sink.socket.once("close", resolve)),
        sleep(2000),
      ]);
      return `${sent} messages (${(sent * 65 / 1024).toFixed(0)} MiB) sent to a session that ` +
        `never reads: the slow session ${
          sink.socket.destroyed ? "was closed by the server" : "is still open"
        }, the sender was told failed ${failed} times`;
    } finally {
      await sender.close();
      await sink.close();
    }
  },
};

const wsFrames: Attack = {
  name: "ws-frames",
  what: "4 WebSocket frames announcing 60 MiB each, sent in full",
  async run({ ws, until }) {
    const size = 60 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    const peers = await Promise.all([0, 1, 2, 3].map(() => RawPeer.connect(ws, "127.0.0.9")));
    let closed = 0;
    try {
      await Promise.all(peers.map(async (peer) => {
        peer.socket.removeAllListeners("data");
        peer.socket.on("data", () => {});
        await writeDrained(peer.socket, upgradeRequest(ws));
        await sleep(50);
        await writeDrained(peer.socket, frameHeader(size));
        for (let sent = 0; sent < size && time() < until + 20_000; sent += chunk.length) {
          if (!(await writeDrained(peer.socket, chunk))) break;
        }
        await Promise.race([
          new Promise((resolve) => peer.socket.once("close", resolve)),
          sleep(2000),
        ]);
        if (peer.socket.destroyed || peer.closed) closed++;
      }));
      return `4 × 60 MiB frames: ${closed} connections closed by the server`;
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
    }
  },
};

const storage: Attack = {
  name: "storage",
  what: "1,000 contacts of 60 KB and 50 presences of 7 MiB from one guest",
  async run({ tcp, until }) {
    const peer = await rawGuest(tcp, "127.0.0.10", "hoarder@localhost/x");
    const codes = new Map<string, number>();
    const count = (key: string) => codes.set(key, (codes.get(key) ?? 0) + 1);
    try {
      const big = "y".repeat(60_000);
      for (let i = 0; i < 1000 && time() < until; i++) {
        peer.write(JSON.stringify({
          id: `c${i}`,
          method: "set",
          uri: "/contacts",
          type: "application/vnd.lime.contact+json",
          resource: { identity: `c${i}@localhost`, name: big },
        }));
        const reply = await peer.next(30_000);
        count(reply === "closed" ? "closed" : `contact ${reasonOf(reply) ?? "ok"}`);
      }
      const presence = "z".repeat(7 * 1024 * 1024);
      for (let i = 0; i < 50 && time() < until; i++) {
        peer.write(JSON.stringify({
          id: `p${i}`,
          method: "set",
          uri: "/presence",
          type: "application/vnd.lime.presence+json",
          resource: { status: "available", message: presence },
        }));
        const reply = await peer.next(30_000);
        count(reply === "closed" ? "closed" : `presence ${reasonOf(reply) ?? "ok"}`);
      }
      return [...codes].map(([key, n]) => `${key} ×${n}`).join(", ");
    } finally {
      await peer.close();
    }
  },
};

/** Every attack, in the order the tool runs them. */
export const ATTACKS: readonly Attack[] = [
  lockout,
  cpu,
  gzip,
  hashing,
  guessing,
  slowReader,
  wsFrames,
  storage,
];
