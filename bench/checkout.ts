/**
 * `--root=DIR` of the benchmarks that compare two commits from one script: a loader of modules
 * from that checkout (`src/…` relative to its root), or from this one when `root` is undefined.
 * @module
 */

/** Imports `path` (relative to the checkout's root) from `root`, or from this checkout. */
export function checkoutLoader(root: string | undefined): (path: string) => Promise<unknown> {
  const base = root === undefined
    ? new URL("../", import.meta.url).href
    : `file://${Deno.realPathSync(root)}/`;
  return (path) => import(new URL(path, base).href);
}
