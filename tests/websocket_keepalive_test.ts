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

Deno.test("Keepalive: one given up in a tick may stop others, which are then left alone", async () => {
  // Eleven connections in ten slices: the first and the eleventh are looked at in the same tick.
  const owners = Array.from({ length: 11 }, (_, i) => peer(`peer${i}`));
  const keepalives = owners.map((owner) => new Keepalive(0.03, owner, hooks));
  // Whichever is given up first stops all the others (a server closing more on one failure).
  owners.forEach((owner, self) => {
    owner.onDead = () => keepalives.forEach((keepalive, i) => i !== self && keepalive.stop());
  });
  try {
    while (!owners.some((owner) => owner.deadAfter !== undefined)) await sleep(5);
    await sleep(100); // a few more periods, had anything been left running
    const dead = owners.filter((owner) => owner.deadAfter !== undefined);
    assert.deepEqual(dead.map((owner) => owner.name), ["peer0"]);
    assert.equal(owners[10].pings, 1);
  } finally {
    keepalives.forEach((keepalive) => keepalive.stop());
  }
  assert.equal(Keepalive.watched, 0);
  assert.equal(Keepalive.timers, 0); // the round's interval timer went with its last member
});

Deno.test("Keepalive spreads the pings to many quiet peers over the period", async () => {
  const pingedAt: number[] = [];
  const spread: KeepaliveHooks<null> = {
    sendPing: () => void pingedAt.push(performance.now()),
    paused: () => false,
    dead: () => {},
  };
  const keepalives = Array.from({ length: 40 }, () => new Keepalive(0.2, null, spread));
  try {
    while (pingedAt.length < 40) await sleep(10);
  } finally {
    keepalives.forEach((keepalive) => keepalive.stop());
  }
  // Ten slices of four: the pings went out over most of a period, not all in one tick.
  const span = Math.max(...pingedAt) - Math.min(...pingedAt);
  assert.ok(span >= 100, `the 40 pings went out within ${span.toFixed(0)} ms`);
});

Deno.test("Keepalive with no period, or an endless one, does nothing, and stops any number of times", async () => {
  for (const seconds of [0, -1, NaN, Infinity]) {
    const idle = peer("idle");
    const keepalive = new Keepalive(seconds, idle, hooks);
    assert.equal(Keepalive.timers, 0, `${seconds}`);
    await sleep(30);
    keepalive.stop();
    keepalive.stop();
    assert.equal(idle.pings, 0);
  }
  // A period past what a timer takes (2^31 - 1 ms) waits the longest a timer can, not 1 ms.
  const patient = peer("patient");
  const long = new Keepalive(1e9, patient, hooks);
  await sleep(50);
  long.stop();
  assert.equal(patient.pings, 0);
  const running = new Keepalive(0.02, peer("running"), hooks);
  assert.equal(Keepalive.watched, 1);
  running.stop();
  running.stop();
  assert.equal(Keepalive.watched, 0);
  assert.equal(Keepalive.timers, 0);
});

Deno.test("Keepalive: a hook that throws is reported and costs the others of its tick nothing", async () => {
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    reported.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  const failing: KeepaliveHooks<Peer> = {
    ...hooks,
    sendPing: (owner) => {
      owner.pings++;
      if (owner.name === "peer0") throw new Error("a broken socket");
    },
  };
  // Eleven in ten slices: the first and the eleventh share a tick.
  const owners = Array.from({ length: 11 }, (_, i) => peer(`peer${i}`));
  const keepalives = owners.map((owner) => new Keepalive(0.03, owner, failing));
  try {
    while (owners[0].pings === 0) await sleep(2);
    assert.equal(owners[10].pings, 1, "the eleventh was pinged in the same tick");
    assert.equal((reported[0] as Error).message, "a broken socket");
    assert.equal(reported.length, 1);
  } finally {
    keepalives.forEach((keepalive) => keepalive.stop());
    globalThis.removeEventListener("error", onError);
  }
});
