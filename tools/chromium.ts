/**
 * Debian's `chromium` driven by `playwright-core` (pinned in deno.json) for the browser tests and
 * `deno task screenshot`: the binary found on PATH is launched with `executablePath`, so no
 * browser is ever downloaded. playwright-core reads /proc, which Deno allows only with
 * `--allow-all`: run what imports this module with `-A`.
 * @module
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** The flags Chromium is launched with (plus a fresh user-data-dir). */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The path of `chromium` on PATH (Debian: /usr/bin/chromium); throws a clear error without it. */
export async function chromiumPath(): Promise<string> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const path = `${dir}/chromium`;
    try {
      const info = await Deno.stat(path);
      if (info.isFile) return path;
    } catch { /* not here */ }
  }
  throw new Error(
    "The browser tests need Debian's chromium on PATH: run `apt-get install -y chromium` as root " +
      "(.ci/run does it)",
  );
}

/** A headless Chromium with a fresh user-data-dir, removed on dispose. */
export class Chromium implements AsyncDisposable {
  private constructor(
    /** The browser context (every page of a test shares it). */
    readonly context: BrowserContext,
    private readonly userDataDir: string,
  ) {}

  /** Launches Debian's chromium (no download) with {@link CHROMIUM_ARGS}. */
  static async launch(
    options: { viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {},
  ): Promise<Chromium> {
    const executablePath = await chromiumPath();
    const userDataDir = await Deno.makeTempDir({ prefix: "lime_chromium_" });
    try {
      const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath,
        args: [...CHROMIUM_ARGS],
        headless: true,
        timeout: 30_000,
        ...options,
      });
      return new Chromium(context, userDataDir);
    } catch (error) {
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /**
   * A new page; its uncaught exceptions and console errors go to `errors` (but for the browser's
   * own lines about WebSocket connections refused while a server restarts).
   */
  async newPage(errors: string[] = []): Promise<Page> {
    const page = await this.context.newPage();
    page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      const text = message.text();
      if (message.type() === "error" && !/^WebSocket connection to .* failed/.test(text)) {
        errors.push(`console: ${text}`);
      }
    });
    return page;
  }

  /** Closes the browser and removes its user-data-dir. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.context.close();
    await Deno.remove(this.userDataDir, { recursive: true }).catch(() => {});
  }
}
