import assert from "node:assert/strict";
import { Command } from "../src/envelope.ts";
import { ManualClock } from "../src/clock.ts";
import { ChannelError } from "../src/channel/errors.ts";
import { PendingCommands } from "../src/channel/pending_commands.ts";

const response = (id: string) => new Command("get", undefined, { id, status: "success" });

Deno.test("PendingCommands resolves the waiting request and removes its entry and timer", async () => {
  const clock = new ManualClock();
  const table = new PendingCommands(clock);
  const waiting = table.wait("1", { timeout: 1000 });
  assert.equal(clock.pending, 1);
  assert.equal(table.resolve(response("1")), true);
  assert.equal((await waiting).status, "success");
  assert.equal(table.size, 0);
  // Timeouts share one timer: it stays armed until its deadline, finds nothing due, and ends.
  assert.equal(clock.pending, 1);
  clock.advance(1000);
  assert.equal(clock.pending, 0);
  assert.equal(table.resolve(response("1")), false);
});

Deno.test("PendingCommands refuses a duplicate pending id at once", async () => {
  const table = new PendingCommands(new ManualClock());
  const first = table.wait("dup");
  assert.throws(
    () => table.wait("dup"),
    (e) => e instanceof ChannelError && e.code === "duplicate-id",
  );
  table.rejectAll(() => new Error("done"));
  await first.catch(() => {});
});

Deno.test("PendingCommands times out, removing the entry and the timer", async () => {
  const clock = new ManualClock();
  const table = new PendingCommands(clock);
  const waiting = table.wait("t", { timeout: 500 });
  clock.advance(499);
  assert.equal(table.size, 1);
  clock.advance(1);
  await assert.rejects(
    waiting,
    (e) => e instanceof ChannelError && e.code === "timeout" && /500 ms/.test(e.message),
  );
  assert.equal(table.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("PendingCommands aborts through the signal, removing entry, timer and listener", async () => {
  const clock = new ManualClock();
  const table = new PendingCommands(clock);
  const controller = new AbortController();
  const waiting = table.wait("a", { timeout: 500, signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(waiting, (e) => e instanceof ChannelError && e.code === "aborted");
  assert.equal(table.size, 0);
  clock.advance(500); // the shared timer finds nothing due and is not re-armed
  assert.equal(clock.pending, 0);
  // An already-aborted signal rejects without registering.
  await assert.rejects(
    table.wait("b", { signal: controller.signal }),
    (e) => e instanceof ChannelError && e.code === "aborted",
  );
  assert.equal(table.size, 0);
});

Deno.test("PendingCommands rejects every waiting request on close", async () => {
  const clock = new ManualClock();
  const table = new PendingCommands(clock);
  const all = [table.wait("x", { timeout: 10 }), table.wait("y")];
  table.rejectAll(() => new ChannelError("closed", "gone"));
  for (const w of all) {
    await assert.rejects(w, (e) => e instanceof ChannelError && e.code === "closed");
  }
  assert.equal(clock.pending, 0);
});

Deno.test("ManualClock fires due timers in order, including ones scheduled while firing", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimeout(() => {
    fired.push("b");
    clock.setTimeout(() => fired.push("c"), 5);
  }, 10);
  clock.setTimeout(() => fired.push("a"), 5);
  clock.advance(20);
  assert.deepEqual(fired, ["a", "b", "c"]);
  assert.equal(clock.now(), 20);
});

Deno.test("PendingCommands times out each request at its own deadline with one shared timer", async () => {
  const clock = new ManualClock();
  const table = new PendingCommands(clock);
  const late = table.wait("late", { timeout: 300 });
  const early = table.wait("early", { timeout: 100 });
  const never = table.wait("never");
  assert.equal(clock.pending, 1);
  const outcomes: string[] = [];
  late.catch((e) => outcomes.push(`late:${e.code}@${clock.now()}`));
  early.catch((e) => outcomes.push(`early:${e.code}@${clock.now()}`));
  clock.advance(99);
  await Promise.resolve();
  assert.deepEqual(outcomes, []);
  clock.advance(1);
  await Promise.resolve();
  assert.deepEqual(outcomes, ["early:timeout@100"]);
  assert.equal(table.size, 2);
  clock.advance(200);
  await Promise.resolve();
  assert.deepEqual(outcomes, ["early:timeout@100", "late:timeout@300"]);
  assert.equal(clock.pending, 0);
  assert.equal(table.size, 1);
  assert.throws(() => table.wait("never"), (e) => e instanceof ChannelError);
  table.rejectAll(() => new Error("closed"));
  await never.catch(() => {});
});
