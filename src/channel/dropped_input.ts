/**
 * The one place where a server channel reports input it dropped instead of failing the session
 * for it: a `warning` of the `["lime","server","input"]` logger (LogTape; silent until the
 * application configures a sink).
 * @module
 */
import { inputLog } from "../observability/log.ts";

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

/** Reports an envelope dropped as invalid: who sent it and why, not the envelope itself. */
export function reportDroppedInput(input: DroppedInput): void {
  inputLog.warning(
    "Dropped an invalid {kind}{quotedId} from {who}: {problem}",
    () => ({
      kind: input.kind,
      quotedId: input.id ? ` "${input.id}"` : "",
      who: [input.node, input.remote && `(${input.remote})`].filter(Boolean).join(" ") ||
        "a peer",
      ...(input.id ? { id: input.id } : {}),
      ...(input.node ? { node: input.node } : {}),
      ...(input.remote ? { remote: input.remote } : {}),
      problem: input.problem,
    }),
  );
}

/**
 * Reports invalid input from a peer: its category (the envelope kind, or `unframable` for bytes
 * that are not an envelope), the reason code it was answered with, and who sent it; `info` when
 * answered and the session goes on, `warning` when it fails the session. Never the input itself.
 */
export function reportBadInput(
  category: string,
  code: number,
  remote: string | undefined,
  node: string | undefined,
  fatal: boolean,
): void {
  const properties = () => ({
    category,
    code,
    remote: remote ?? "unknown",
    ...(node ? { node } : {}),
    fatal,
  });
  const message = "Bad input ({category}) from {remote}, answered with {code}";
  if (fatal) inputLog.warning(message, properties);
  else inputLog.info(message, properties);
}
