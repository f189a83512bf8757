/**
 * `deno task start` runs the server with the V8 flags the benchmarks' server processes use
 * (`START_V8_FLAGS`, bench/server_process.ts), so that what README measures is what ships.
 * @module
 */
import assert from "node:assert/strict";
import { START_V8_FLAGS } from "../bench/server_process.ts";

Deno.test("deno task start passes the V8 flags the benchmarks measure the server with", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const start: string = config.tasks.start;
  const flags = start.match(/--v8-flags=(\S+)/)?.[1]?.split(",") ?? [];
  assert.deepEqual(flags, [...START_V8_FLAGS], start);
  assert.ok(START_V8_FLAGS.includes("--no-incremental-marking-task"));
});
