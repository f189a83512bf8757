/**
 * Helpers of the browser tests: the bundle built into a temporary folder, a local `Deno.serve`
 * that serves it (pages loaded from `file://` cannot import modules), Debian's `chromium` driven
 * by `playwright-core` (`tools/chromium.ts`: never a downloaded browser), and `deno task start`
 * as a subprocess.
 * @module
 */
import { bundle } from "../../tools/bundle.ts";
import { Chromium } from "../../tools/chromium.ts";
import { StartProcess } from "../server_start_helpers.ts";
import { within } from "../tcp_helpers.ts";

export { Chromium };

/** The repository root. */
export const ROOT: string = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".css": "text/css; charset=utf-8",
};

/** The page the tests drive: it imports the bundle and exposes it as `globalThis.lime`. */
const TEST_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>lime.web.js test page</title>
<script type="module">
  globalThis.lime = await import("/dist/lime.web.js");
  globalThis.state = {};
  globalThis.limeReady = true;
</script>
`;

/**
 * A local static server: `/` is the test page, `/dist/…` the bundle folder, `/examples/browser/…`
 * the example. It counts the requests for each path (to see what a page loaded).
 */
export class StaticServer implements AsyncDisposable {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** Requests per path. */
  readonly requests: Map<string, number> = new Map();

  /** Serves `distDir` under `/dist/`. */
  constructor(distDir: string) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const path = new URL(request.url).pathname;
        this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
        if (path === "/favicon.ico") return new Response(null, { status: 204 });
        if (path === "/") {
          return new Response(TEST_PAGE, { headers: { "content-type": CONTENT_TYPES[".html"] } });
        }
        let file: string | undefined;
        if (path.startsWith("/dist/")) file = `${distDir}/${path.slice(6)}`;
        else if (path.startsWith("/examples/browser/")) file = `${ROOT}${path}`;
        if (file === undefined || path.includes("..")) {
          return new Response("not found", { status: 404 });
        }
        if (file.endsWith("/")) file += "index.html";
        try {
          const body = await Deno.readFile(file);
          const type = CONTENT_TYPES[file.slice(file.lastIndexOf("."))] ??
            "application/octet-stream";
          return new Response(body, { headers: { "content-type": type } });
        } catch {
          return new Response("not found", { status: 404 });
        }
      },
    );
  }

  /** `http://127.0.0.1:port` */
  get origin(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Stops serving. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

/** Builds the bundles into a fresh temporary folder (removed on dispose). */
export async function buildBundle(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "lime_dist_" });
  await bundle(dir);
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Opens the test page and waits for the bundle to load. */
export async function openTestPage(browser: Chromium, origin: string, errors: string[]) {
  const page = await browser.newPage(errors);
  await page.goto(`${origin}/`);
  await page.waitForFunction(
    () => (globalThis as { limeReady?: boolean }).limeReady === true,
    undefined,
    {
      timeout: 10_000,
    },
  );
  return page;
}

/** Options of {@link LimeServerProcess.start}. */
export interface LimeServerStart {
  /** The WebSocket port; 0 (default) for any free one. */
  port?: number;
  /** `name@domain:password` entries (given in `LIME_ACCOUNTS`). */
  accounts?: string[];
  /** The data folder (kept across a restart); default `:memory:`. */
  data?: string;
}

/** `deno task start`, WebSocket only on 127.0.0.1; accounts from `LIME_ACCOUNTS`. */
export class LimeServerProcess implements AsyncDisposable {
  private constructor(readonly process: StartProcess, readonly url: string) {}

  /** Starts it and waits for its WebSocket address. */
  static async start(options: LimeServerStart = {}): Promise<LimeServerProcess> {
    const process = new StartProcess(
      [`--data=${options.data ?? ":memory:"}`, "--tcp=off", `--ws=127.0.0.1:${options.port ?? 0}`],
      { LIME_ACCOUNTS: (options.accounts ?? []).join("\n") },
    );
    try {
      const match = await within(
        process.stdout.find(/WebSocket\s+(ws:\/\/127\.0\.0\.1:\d+)/, () => process.exited),
        20_000,
        "the WebSocket address line",
      );
      return new LimeServerProcess(process, match[1]);
    } catch (error) {
      await process[Symbol.asyncDispose]();
      throw new Error(`deno task start did not start: ${process.stderr.lines.join("\n")}`, {
        cause: error,
      });
    }
  }

  /** The port it listens on. */
  get port(): number {
    return Number(this.url.slice(this.url.lastIndexOf(":") + 1));
  }

  /** SIGTERM (a graceful shutdown), then waits for the exit. */
  async stop(): Promise<void> {
    if (!this.process.exited) this.process.child.kill("SIGTERM");
    await within(this.process.status, 10_000, "the server's exit");
    await this.process[Symbol.asyncDispose]();
  }

  /** Kills it if still running. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.process[Symbol.asyncDispose]();
  }
}
