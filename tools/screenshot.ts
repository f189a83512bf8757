/**
 * `deno task screenshot`: the README's picture of the browser example, taken in Chromium. It
 * bundles (`dist/`), starts `deno task start` (in memory, WebSocket only, a free port), serves
 * `examples/browser/`, opens the chat page twice (ann and bob), has them exchange a message each
 * and saves ann's page as `docs/browser-chat.png`. Options: `--out=FILE`.
 *
 * Runs with `-A` (playwright-core reads /proc, which Deno allows only with `--allow-all`).
 * @module
 */
import type { Page } from "playwright-core";
import { serveExample } from "../examples/browser/serve.ts";
import { bundle, ROOT } from "./bundle.ts";
import { Chromium } from "./chromium.ts";

/**
 * Opens the example page at `url`, connects as `name`, writing to `to`, and waits for
 * `established`; the page's errors go to `errors`.
 */
export async function openChat(
  browser: Chromium,
  url: string,
  name: string,
  to: string,
  errors: string[] = [],
): Promise<Page> {
  const page = await browser.newPage(errors);
  await page.goto(url);
  await page.fill("#name", name);
  await page.fill("#to", to);
  await page.click("#connect button");
  await page.waitForFunction(
    () =>
      (globalThis as unknown as {
        document: { getElementById(id: string): { textContent: string } };
      })
        .document.getElementById("status").textContent === "established",
    undefined,
    { timeout: 10_000 },
  );
  return page;
}

/** The texts of the chat log of a page, in order (a `✓` marks a message its receiver got). */
export function chatLog(page: Page): Promise<string[]> {
  return page.$$eval("#log li", (items) => items.map((item) => item.textContent ?? ""));
}

/** Sends `text` from `page` and waits until `peer` shows it. */
export async function say(page: Page, peer: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.click("#send button");
  await peer.waitForFunction(
    (expected) =>
      [...(globalThis as unknown as {
        document: { querySelectorAll(s: string): Iterable<{ textContent: string }> };
      }).document.querySelectorAll("#log li")].some((li) => li.textContent.endsWith(expected)),
    text,
    { timeout: 10_000 },
  );
}

/** Waits until every message `page` sent is marked received (`✓`). */
export async function allReceived(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      [...(globalThis as unknown as {
        document: { querySelectorAll(s: string): Iterable<{ textContent: string }> };
      }).document.querySelectorAll("#log li.mine small")].every((s) => s.textContent.endsWith("✓")),
    undefined,
    { timeout: 10_000 },
  );
}

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}/src/server/main.ts`,
      "--data=:memory:",
      "--tcp=off",
      "--ws=127.0.0.1:0",
      "--http=off",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`deno task start exited early:\n${text}`);
    text += value;
    const match = /WebSocket\s+(ws:\/\/127\.0\.0\.1:\d+)/.exec(text);
    if (match) {
      // Keep reading so the child never blocks on a full pipe.
      const drained = (async () => {
        while (!(await lines.read()).done) { /* discard */ }
      })();
      return {
        url: match[1],
        stop: async () => {
          child.kill("SIGTERM");
          await child.status;
          await drained;
        },
      };
    }
  }
}

async function main(args: string[]): Promise<void> {
  const out = args.find((a) => a.startsWith("--out="))?.slice("--out=".length) ??
    `${ROOT}/docs/browser-chat.png`;
  await bundle(`${ROOT}/dist`);
  const server = await startServer();
  const web = serveExample({ port: 0 });
  try {
    await using browser = await Chromium.launch({
      viewport: { width: 640, height: 440 },
      deviceScaleFactor: 1,
    });
    const page = `http://127.0.0.1:${web.addr.port}/examples/browser/?server=${server.url}`;
    const ann = await openChat(browser, page, "ann", "bob");
    const bob = await openChat(browser, page, "bob", "ann");
    await say(ann, bob, "Hi Bob! Lunch at noon?");
    await say(bob, ann, "Sure, see you there.");
    await say(ann, bob, "Great!");
    await allReceived(ann);
    await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
    await ann.screenshot({ path: out });
    console.log(`wrote ${out}: ${(await chatLog(ann)).join(" | ")}`);
  } finally {
    await web.shutdown();
    await server.stop();
  }
}

if (import.meta.main) await main(Deno.args);
