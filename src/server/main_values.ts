/**
 * The values of `deno task start`'s flags: the error a bad one raises, and the parsers of
 * endpoints and integers (each throws a one-line {@link UsageError} naming the flag).
 * @module
 */
import { quoteForError } from "../formats.ts";

/** A bad flag, flag value, config file or account entry: `main.ts` prints it with the usage. */
export class UsageError extends TypeError {
  /** Creates the error; `message` is one line and holds no secret. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parses `HOST:PORT` (IPv6 in brackets) or `off`. */
export function endpoint(value: string, from: string): false | { hostname: string; port: number } {
  if (value === "off") return false;
  const match = /^(\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new UsageError(`${from} must be HOST:PORT or off, got ${quoteForError(value)}`);
  }
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

/** Parses a decimal integer from `min` to `max`. */
export function integer(value: string, from: string, min: number, max: number): number {
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(
      `${from} must be an integer from ${min} to ${max}, got ${quoteForError(value)}`,
    );
  }
  return n;
}

/** A flag's value as text. */
export const text = (value: string | boolean): string => String(value);
