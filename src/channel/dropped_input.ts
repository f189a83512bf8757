/**
 * The one place where a server channel reports input it dropped instead of failing the session
 * for it. It writes a line with `console.warn` until the module has a logging library; swapping
 * this function is all that takes.
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

/** Reports an envelope dropped as invalid: who sent it and why, not the envelope itself. */
export function reportDroppedInput(input: DroppedInput): void {
  const who = [input.node, input.remote && `(${input.remote})`].filter(Boolean).join(" ");
  console.warn(
    `LIME: dropped an invalid ${input.kind}${input.id ? ` "${input.id}"` : ""} from ${
      who || "a peer"
    }: ${input.problem}`,
  );
}
