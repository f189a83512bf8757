/**
 * Where a server channel reports invalid input (what it answered, what it dropped instead of
 * failing the session for it) without this room importing a logging library: the server's
 * logging (`src/observability/input_log.ts`, installed by `LimeServer`'s module, so by `mod.ts`)
 * fills {@link inputReports}; the browser entries leave it empty, and nothing is reported.
 * @module
 */

/** What was dropped, from whom, and why. */
export interface DroppedInput {
  /** The kind of envelope (`notification`). */
  kind: string;
  /** The session's remote node, when established. */
  node?: string;
  /** The peer's address (`host:port`), when the transport knows it. */
  remote?: string;
  /** The envelope id, when it had one. */
  id?: string;
  /** Why it was invalid (the validation error's message, with its reason code). */
  problem: string;
}

/** Invalid input from a peer: never the input itself. */
export interface BadInput {
  /** The envelope kind, or `unframable` for bytes that are not an envelope. */
  category: string;
  /** The reason code it was answered with. */
  code: number;
  /** The peer's address. */
  remote?: string;
  /** The session's remote node, when known. */
  node?: string;
  /** Whether it fails the session (else it was answered and the session goes on). */
  fatal: boolean;
}

/** The reporters a server channel calls. */
export interface InputReporters {
  /** An envelope dropped as invalid. */
  dropped(input: DroppedInput): void;
  /** Invalid input answered, or failing the session. */
  bad(input: BadInput): void;
}

/** The installed reporters, if any. */
export const inputReports: { current?: InputReporters } = {};
