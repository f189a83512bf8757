/**
 * A small line diff for `codegen --check`: prints the lines that differ, with line numbers.
 * @module
 */

/** Lines of `actual` that differ from `expected` (`-` expected, `+` actual), at most `max` hunks. */
export function diffLines(expected: string, actual: string, max = 20): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  // Trim the common prefix and suffix, then show what is left of each side.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length - 1;
  let endB = b.length - 1;
  while (endA >= start && endB >= start && a[endA] === b[endB]) {
    endA--;
    endB--;
  }
  const out = [`@@ line ${start + 1} @@`];
  for (let i = start; i <= endA && out.length <= max; i++) out.push(`- ${a[i]}`);
  for (let i = start; i <= endB && out.length <= 2 * max; i++) out.push(`+ ${b[i]}`);
  return out.join("\n");
}
