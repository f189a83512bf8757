import assert from "node:assert/strict";
import { Keepalive, type KeepaliveHooks } from "../src/transport/websocket_keepalive.ts";

/** An owner that records what its keepalive did to it. */
interface Peer {
  name: string;
  pings: number;
  deadAfter?: number;
  paused: boolean;
  onDead?: () => void;
}

const hooks: KeepaliveHooks<Peer> = {
  sendPing: (peer) => void peer.pings++,
  paused: (peer) => peer.paused,
  dead: (peer, seconds) => {
    peer.deadAfter = seconds;
    peer.onDead?.();
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const peer = (name: string): Peer => ({ name, pings: 0, paused: false });

Deno.test("Keepalive pings a quiet peer after a period, gives it up after another, and spares one that talks", async () => {
  const quiet = peer("quiet");
  const talking = peer("talking");
  const started = performance.now();
  const quietKeepalive = new Keepalive(0.05, quiet, hooks);
  const talkingKeepalive = new Keepalive(0.05, talking, hooks);
  const chatter = setInterval(() => talkingKeepalive.heard(), 10);
  try {
    while (quiet.deadAfter === undefined) await sleep(10);
    const elapsed = performance.now() - started;
    assert.equal(quiet.pings, 1);
    assert.equal(quiet.deadAfter, 0.05);
    // A ping after one full period of silence at least, the end one period after it at least.
    assert.ok(elapsed >= 95, `given up after ${elapsed} ms`);
    assert.ok(elapsed < 1000, `given up after ${elapsed} ms`);
    assert.equal(talking.pings, 0);
    assert.equal(talking.deadAfter, undefined);
  } finally {
    clearInterval(chatter);
    quietKeepalive.stop();
    talkingKeepalive.stop();
  }
});

Deno.test("Keepalive counts no silence while the reader is paused", async () => {
  const paused = peer("paused");
  paused.paused = true;
  const keepalive = new Keepalive(0.03, paused, hooks);
  try {
    await sleep(200);
    assert.equal(paused.pings, 0);
    assert.equal(paused.deadAfter, undefined);
  } finally {
    keepalive.stop();
  }
});

Deno.test("Keepalive: one given up in a tick may stop another, which is then left alone", async () => {
  const first = peer("first");
  const second = peer("second");
  const third = peer("third");
  const keepalives = [first, second, third].map((owner) => new Keepalive(0.03, owner, hooks));
  // Whichever is given up first stops the other two (a server closing more on one failure).
  const stopOthers = (self: number) => () => {
    keepalives.forEach((keepalive, i) => i !== self && keepalive.stop());
  };
  first.onDead = stopOthers(0);
  second.onDead = stopOthers(1);
  third.onDead = stopOthers(2);
  try {
    while (![first, second, third].some((owner) => owner.deadAfter !== undefined)) {
      await sleep(10);
    }
    await sleep(100); // a few more ticks, had the timer been left running
    const dead = [first, second, third].filter((owner) => owner.deadAfter !== undefined);
    assert.equal(dead.length, 1, `given up: ${dead.map((owner) => owner.name)}`);
    for (const owner of [first, second, third]) assert.equal(owner.pings, 1);
  } finally {
    keepalives.forEach((keepalive) => keepalive.stop());
  }
  // The test's sanitizer fails it if the round's interval timer outlived its last member.
});

Deno.test("Keepalive with no period does nothing, and stops any number of times", async () => {
  const idle = peer("idle");
  const keepalive = new Keepalive(0, idle, hooks);
  await sleep(30);
  keepalive.stop();
  keepalive.stop();
  assert.equal(idle.pings, 0);
  const running = new Keepalive(0.02, peer("running"), hooks);
  running.stop();
  running.stop();
});
