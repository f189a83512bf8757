/**
 * `deno task example:browser`: serves the chat page (`examples/browser/`) and the bundle
 * (`dist/`, written by `deno task bundle`) on http://127.0.0.1:8000 (pages opened from `file://`
 * cannot import module scripts). Options: `--port=N`.
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  map: "application/json",
};

/** Serves `/examples/browser/…` from the repository and `/dist/…` from `distDir`. */
export function serveExample(
  options: { port?: number; distDir?: string; onListen?: (addr: Deno.NetAddr) => void } = {},
): Deno.HttpServer<Deno.NetAddr> {
  const distDir = options.distDir ?? `${ROOT}/dist`;
  return Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 8000, onListen: options.onListen ?? (() => {}) },
    async (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      if (path === "/") return Response.redirect(new URL("/examples/browser/", request.url), 302);
      let file: string | undefined;
      if (path.startsWith("/dist/")) file = `${distDir}/${path.slice("/dist/".length)}`;
      else if (path.startsWith("/examples/browser/")) file = `${ROOT}${path}`;
      if (file === undefined || path.includes("..")) {
        return new Response("Not found", { status: 404 });
      }
      if (file.endsWith("/")) file += "index.html";
      try {
        const body = await Deno.readFile(file);
        const type = TYPES[file.slice(file.lastIndexOf(".") + 1)] ?? "application/octet-stream";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("Not found", { status: 404 });
      }
    },
  );
}

if (import.meta.main) {
  const port = Number(Deno.args.find((a) => a.startsWith("--port="))?.slice(7) ?? 8000);
  try {
    await Deno.stat(`${ROOT}/dist/lime.web.js`);
  } catch {
    console.error("dist/lime.web.js is missing: run `deno task bundle` first");
    Deno.exit(1);
  }
  serveExample({
    port,
    onListen: ({ port }) =>
      console.log(
        `Chat page: http://127.0.0.1:${port}/examples/browser/ (server: deno task start, ws://127.0.0.1:8080)`,
      ),
  });
}
