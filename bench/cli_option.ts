/**
 * The numeric `--name=value` flags of the benchmarks and tools: the value, or `fallback` when the
 * flag is absent. A value that is not a finite number in range (by default any number ≥ 0) ends
 * the program with `error: …` on stderr and exit code 2, instead of running with `NaN`.
 * @module
 */

/** What a flag's value may be. */
export interface NumberRange {
  /** Smallest value (default 0). */
  min?: number;
  /** Largest value (default none). */
  max?: number;
  /** Whether it must be whole (default: fractions allowed). */
  integer?: boolean;
  /** Whether 0 is refused (a count or a duration that must be above 0). */
  positive?: boolean;
}

/** The value of `--name=…` in `Deno.args`, checked against `range`, or `fallback`. */
export function numberOption(name: string, fallback: number, range: NumberRange = {}): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  const { min = 0, max = Infinity, integer = false, positive = false } = range;
  if (
    !Number.isFinite(value) || value < min || value > max ||
    (integer && !Number.isInteger(value)) ||
    (positive && value <= 0)
  ) {
    const what = `${integer ? "an integer" : "a number"}${positive ? " above 0" : ""} from ${min}` +
      (max < Infinity ? ` to ${max}` : " up");
    console.error(
      `error: --${name} must be ${what}, got ${JSON.stringify(arg.slice(name.length + 3))}`,
    );
    Deno.exit(2);
  }
  return value;
}
