/**
 * The lime-js side of `server_load.ts`: the same routed-message load (sender/receiver pairs, a
 * window of in-flight messages per pair) driven by `lime-js@3.0.1` clients over
 * `lime-transport-websocket@2.0.3` on Node (lime-js has no TCP transport), against the bench
 * server.
 *
 * The packages live in `.tmp/npm-interop/` (gitignored), the cache `tests/interop_limejs_test.ts`
 * uses: installed with npm the first time, reused afterwards. The Node script is written there
 * (next to its `node_modules`) on every run.
 * @module
 */
import { fileURLToPath } from "node:url";

const LIME_JS = "lime-js@3.0.1";
const LIME_TRANSPORT_WEBSOCKET = "lime-transport-websocket@2.0.3";
const CACHE_DIR = fileURLToPath(new URL("../.tmp/npm-interop/", import.meta.url));
const SCRIPT = `${CACHE_DIR}server_load_limejs.cjs`;
const INSTALL_TIMEOUT_MS = 180_000;

/** What the Node script is told (JSON in argv[2]). */
export interface LimeJsLoadConfig {
  /** `ws://host:port` of the server. */
  url: string;
  /** Sender/receiver pairs. */
  pairs: number;
  /** In-flight messages per pair. */
  window: number;
  /** The message content (a string). */
  content: string;
  /** Warm-up before measuring, ms. */
  warmupMs: number;
  /** Measured time, ms. */
  durationMs: number;
}

/** Lines the Node script prints (one JSON object each). */
export type LimeJsLine =
  | { phase: "established" }
  | { phase: "measure-start" }
  | { phase: "measure-end"; received: number; elapsedMs: number; cpuMs: number }
  | { phase: "done"; finished: number; sent: number; received: number }
  | { phase: "error"; message: string };

/** The Node script: N pairs of lime-js channels, a window per pair, counts at the receivers. */
const LOAD_SCRIPT = `"use strict";
// Written by bench/server_load_limejs.ts (overwritten on every run): the routed-message load of
// bench/server_load.ts driven by lime-js clients. Prints one JSON line per phase.
const Lime = require("lime-js");
const WebSocketTransport = require("lime-transport-websocket");

const config = JSON.parse(process.argv[2]);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\\n");
const watchdog = setTimeout(() => {
  print({ phase: "error", message: "watchdog: the run took too long" });
  process.exit(3);
}, config.warmupMs + config.durationMs + 30000);
watchdog.unref();

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    Promise.resolve(promise).finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(what + " did not happen within " + ms + " ms")),
        ms,
      );
    }),
  ]);
}

async function connect(name) {
  const transport = new WebSocketTransport();
  const channel = new Lime.ClientChannel(transport, true, false);
  await within(transport.open(config.url), 10000, name + ": opening the WebSocket");
  await within(
    channel.establishSession(
      "none",
      "none",
      name + "@localhost",
      new Lime.GuestAuthentication(),
      "limejs",
    ),
    10000,
    name + ": establishSession",
  );
  return channel;
}

async function main() {
  const pairs = [];
  for (let i = 0; i < config.pairs; i++) {
    const sender = await connect("ljs-sender-" + i);
    const receiver = await connect("ljs-receiver-" + i);
    pairs.push({ sender, receiver, to: receiver.localNode, sent: 0, received: 0 });
  }
  print({ phase: "established" });
  let stopped = false;
  const low = Math.floor(config.window / 2);
  const pump = (pair) => {
    while (!stopped && pair.sent - pair.received < config.window) {
      pair.sender.sendMessage({ type: "text/plain", content: config.content, to: pair.to });
      pair.sent++;
    }
  };
  for (const pair of pairs) {
    pair.receiver.onMessage = () => {
      pair.received++;
      if (pair.sent - pair.received <= low) pump(pair);
    };
  }
  const total = () => pairs.reduce((n, pair) => n + pair.received, 0);
  for (const pair of pairs) pump(pair);
  await new Promise((resolve) => setTimeout(resolve, config.warmupMs));
  print({ phase: "measure-start" });
  const r0 = total();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, config.durationMs));
  const r1 = total();
  const t1 = performance.now();
  const c1 = process.cpuUsage(c0);
  print({
    phase: "measure-end",
    received: r1 - r0,
    elapsedMs: t1 - t0,
    cpuMs: (c1.user + c1.system) / 1000,
  });
  stopped = true;
  // Let what is in flight arrive (at most 2 s), then finish every session.
  const sent = pairs.reduce((n, pair) => n + pair.sent, 0);
  const drainUntil = Date.now() + 2000;
  while (total() < sent && Date.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let finished = 0;
  await Promise.all(pairs.flatMap((pair) => [pair.sender, pair.receiver]).map((channel) =>
    within(channel.sendFinishingSession(), 5000, "finishing").then(() => finished++, () => {})
  ));
  print({ phase: "done", finished, sent, received: total() });
}

main().then(
  () => process.exit(0),
  (error) => {
    print({ phase: "error", message: String((error && error.stack) || error) });
    process.exit(1);
  },
);
`;

async function run(command: string, args: string[], options: Deno.CommandOptions = {}) {
  try {
    return await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options })
      .output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`\`${command}\` is not on PATH (the lime-js comparison needs Node.js >= 18)`);
    }
    throw error;
  }
}

async function installedVersion(name: string): Promise<string | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${CACHE_DIR}node_modules/${name}/package.json`))
      .version;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure Node.js and the two packages are there (installing them into the cache on the first
 * run) and writes the Node script; resolves with its path and the cache directory (its cwd).
 */
export async function prepareLimeJs(): Promise<{ script: string; cwd: string }> {
  const node = await run("node", ["--version"]);
  const version = new TextDecoder().decode(node.stdout).trim();
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!node.success || !(major >= 18)) {
    throw new Error(
      `the lime-js comparison needs Node.js >= 18; \`node --version\` gave ${version}`,
    );
  }
  const ready = async () =>
    await installedVersion("lime-js") === "3.0.1" &&
    await installedVersion("lime-transport-websocket") === "2.0.3";
  if (!(await ready())) {
    await Deno.mkdir(CACHE_DIR, { recursive: true });
    const npm = await run("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefix",
      CACHE_DIR,
      LIME_JS,
      LIME_TRANSPORT_WEBSOCKET,
    ], { signal: AbortSignal.timeout(INSTALL_TIMEOUT_MS) });
    if (!npm.success || !(await ready())) {
      throw new Error(
        `npm install ${LIME_JS} ${LIME_TRANSPORT_WEBSOCKET} into ${CACHE_DIR} failed:\n` +
          new TextDecoder().decode(npm.stderr),
      );
    }
  }
  await Deno.writeTextFile(SCRIPT, LOAD_SCRIPT);
  return { script: SCRIPT, cwd: CACHE_DIR };
}
