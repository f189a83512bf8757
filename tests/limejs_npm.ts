/**
 * The npm packages `lime-js@3.0.1` and `lime-transport-websocket@2.0.3`, installed with npm into
 * `.tmp/npm-interop/` (gitignored) the first time and reused afterwards, for the tests that run
 * them under Node (`interop_limejs_test.ts`, `browser/chromium_limejs_test.ts`). Fails with a
 * clear message when node or npm is missing.
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** The lime-js package, pinned. */
export const LIME_JS = "lime-js@3.0.1";
/** Its WebSocket transport, pinned. */
export const LIME_TRANSPORT_WEBSOCKET = "lime-transport-websocket@2.0.3";
/** Where the packages are installed (`node_modules/` inside); scripts are written here too. */
export const LIMEJS_DIR: string = fileURLToPath(new URL("../.tmp/npm-interop/", import.meta.url));
/** How long npm may take to install the packages on a cold cache. */
const INSTALL_TIMEOUT_MS = 180_000;

/** Runs a command with piped output; a missing command is a clear error. */
export async function run(
  command: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Promise<Deno.CommandOutput> {
  try {
    return await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options })
      .output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `this test needs \`${command}\` on PATH (Node.js with npm) to run ${LIME_JS} + ` +
          `${LIME_TRANSPORT_WEBSOCKET}; install Node.js (>= 18) and run the test again`,
      );
    }
    throw error;
  }
}

/** Runs a command, killing it after `ms`. */
export async function runWithin(
  command: string,
  args: string[],
  ms: number,
  cwd?: string,
): Promise<Deno.CommandOutput> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await run(command, args, { signal: controller.signal, cwd });
  } finally {
    clearTimeout(timer);
  }
}

async function installedVersion(name: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(`${LIMEJS_DIR}node_modules/${name}/package.json`);
    return JSON.parse(text).version;
  } catch {
    return undefined;
  }
}

async function installed(): Promise<boolean> {
  return await installedVersion("lime-js") === "3.0.1" &&
    await installedVersion("lime-transport-websocket") === "2.0.3";
}

async function install(): Promise<void> {
  // When Node.js is missing, Deno.Command("node") runs Deno itself: check it is really Node.
  const node = await run("node", ["--version"]);
  const version = new TextDecoder().decode(node.stdout).trim();
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!node.success || !(major >= 18)) {
    throw new Error(
      `this test needs Node.js >= 18 with npm on PATH to run ${LIME_JS} + ` +
        `${LIME_TRANSPORT_WEBSOCKET}; \`node --version\` gave ${JSON.stringify(version)}`,
    );
  }
  if (await installed()) return;
  await Deno.mkdir(LIMEJS_DIR, { recursive: true });
  const npm = await runWithin("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefix",
    LIMEJS_DIR,
    LIME_JS,
    LIME_TRANSPORT_WEBSOCKET,
  ], INSTALL_TIMEOUT_MS);
  const decoder = new TextDecoder();
  assert.ok(
    npm.success && await installed(),
    `npm install ${LIME_JS} ${LIME_TRANSPORT_WEBSOCKET} into ${LIMEJS_DIR} failed ` +
      `(code ${npm.code}, signal ${npm.signal}):\n${decoder.decode(npm.stdout)}\n` +
      decoder.decode(npm.stderr),
  );
}

let installing: Promise<void> | undefined;

/** Installs the packages once per test process (reusing `.tmp/npm-interop/` across runs). */
export function installLimeJs(): Promise<void> {
  return installing ??= install();
}
