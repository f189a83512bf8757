/**
 * The entries of a server's inbox (a Redis stream), read as untrusted input: whoever can write to
 * Redis can write one, so every entry is checked against limits before anything acts on it, and
 * one that is not well-formed is reported (to the log, counted) and acknowledged, never thrown.
 *
 * | `t` | Entry | Fields |
 * | --- | ----- | ------ |
 * | `e` | envelopes for local nodes (what one server routed to this one in one turn) | `o` origin server, `h` hops, `n` JSON array of nodes, `k` JSON array of tracking ids at the origin ("": untracked), `l` their texts' lengths (comma-separated), `b` the envelopes' JSON texts, one after the other |
 * | `o` | outcomes of tracked envelopes this server sent | `b` JSON `[[k, code, description], …]` (code 0: written to the session) |
 * | `d` | an identity's directory snapshot | `i` identity, `b` JSON `[field, value, …]` |
 * | `x` | end a local session | `n` node, `g` tag, `c` reason code, `d` description |
 * @module
 */

/** Limits on what an entry may hold. */
export interface InboxLimits {
  /** Longest envelope text, in UTF-16 units (the envelope size limit). */
  maxEnvelopeChars: number;
  /** Most envelopes in one entry. Default {@link MAX_BATCH}. */
  maxBatch?: number;
  /** Longest JSON of an outcome list or a snapshot. Default 1 MiB. */
  maxJsonChars: number;
}

/** Longest node, identity, server id, tag or description accepted in an entry. */
export const MAX_NAME_CHARS = 1_024;
/** Most outcomes in one entry. */
export const MAX_OUTCOMES = 10_000;
/** Most hops an envelope makes between servers before it is failed. */
export const MAX_HOPS = 3;
/** Most envelopes one entry carries. */
export const MAX_BATCH = 1_024;

/** One envelope of an entry. */
export interface EnvelopeItem {
  /** The node it is for (lower case). */
  readonly node: string;
  /** Its tracking id at the origin ("" when untracked). */
  readonly track: string;
  /** The envelope's JSON text. */
  readonly text: string;
}

/** Envelopes for local nodes. */
export interface EnvelopeEntry {
  /** Kind. */
  readonly type: "e";
  /** The server that routed them first (outcomes go there). */
  readonly origin: string;
  /** Servers they went through before this one. */
  readonly hops: number;
  /** The envelopes. */
  readonly items: readonly EnvelopeItem[];
}

/** One tracked envelope's outcome: code 0 when it was written to its session. */
export type Outcome = readonly [track: string, code: number, description: string];

/** Outcomes of tracked envelopes. */
export interface OutcomeEntry {
  /** Kind. */
  readonly type: "o";
  /** The outcomes. */
  readonly outcomes: readonly Outcome[];
}

/** An identity's directory snapshot. */
export interface SnapshotEntry {
  /** Kind. */
  readonly type: "d";
  /** The identity (lower case). */
  readonly identity: string;
  /** `[field, value, …]` as in the hash. */
  readonly flat: readonly string[];
}

/** End a local session. */
export interface EvictEntry {
  /** Kind. */
  readonly type: "x";
  /** The node (lower case). */
  readonly node: string;
  /** The session's tag. */
  readonly tag: string;
  /** The reason's code. */
  readonly code: number;
  /** The reason's description. */
  readonly description: string;
}

/** A checked inbox entry. */
export type InboxEntry = EnvelopeEntry | OutcomeEntry | SnapshotEntry | EvictEntry;

/** Why an entry was refused. */
export class InboxEntryError extends Error {}

function fieldsOf(raw: unknown): Map<string, string> {
  if (!Array.isArray(raw) || raw.length % 2 !== 0 || raw.length > 32) {
    throw new InboxEntryError("not a list of at most 16 field/value pairs");
  }
  const fields = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) {
    const [name, value] = [raw[i], raw[i + 1]];
    if (typeof name !== "string" || typeof value !== "string") {
      throw new InboxEntryError("a field or value is not a string");
    }
    fields.set(name, value);
  }
  return fields;
}

function name(fields: Map<string, string>, key: string, allowEmpty = false): string {
  const value = fields.get(key);
  if (value === undefined || (!allowEmpty && value === "") || value.length > MAX_NAME_CHARS) {
    throw new InboxEntryError(`field "${key}" is missing, empty or longer than ${MAX_NAME_CHARS}`);
  }
  return value;
}

function json(fields: Map<string, string>, limits: InboxLimits): unknown[] {
  const text = fields.get("b");
  if (text === undefined || text.length > limits.maxJsonChars) {
    throw new InboxEntryError(`field "b" is missing or longer than ${limits.maxJsonChars}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InboxEntryError(`field "b" is not JSON`);
  }
  if (!Array.isArray(value)) throw new InboxEntryError(`field "b" is not a JSON array`);
  return value;
}

function outcomes(list: unknown[]): Outcome[] {
  if (list.length > MAX_OUTCOMES) throw new InboxEntryError(`more than ${MAX_OUTCOMES} outcomes`);
  return list.map((item) => {
    if (
      !Array.isArray(item) || item.length !== 3 || typeof item[0] !== "string" ||
      !Number.isInteger(item[1]) || typeof item[2] !== "string" ||
      item[0].length > MAX_NAME_CHARS || item[2].length > MAX_NAME_CHARS
    ) {
      throw new InboxEntryError("an outcome is not [track, code, description]");
    }
    return item as unknown as Outcome;
  });
}

function strings(fields: Map<string, string>, key: string, count: number): string[] {
  const text = fields.get(key) ?? "";
  if (text.length > count * (MAX_NAME_CHARS + 3) + 2) {
    throw new InboxEntryError(`field "${key}" is too long`);
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw new InboxEntryError(`field "${key}" is not JSON`);
  }
  if (
    !Array.isArray(list) || list.length !== count ||
    !list.every((item) => typeof item === "string" && item.length <= MAX_NAME_CHARS)
  ) {
    throw new InboxEntryError(`field "${key}" is not a list of ${count} names`);
  }
  return list;
}

function envelopes(fields: Map<string, string>, limits: InboxLimits): EnvelopeEntry {
  const hops = Number(fields.get("h") ?? "0");
  if (!Number.isInteger(hops) || hops < 0) throw new InboxEntryError("bad hop count");
  const origin = name(fields, "o");
  const lengths = (fields.get("l") ?? "").split(",").map(Number);
  const max = limits.maxBatch ?? MAX_BATCH;
  if (lengths.length > max) throw new InboxEntryError(`more than ${max} envelopes`);
  const body = fields.get("b") ?? "";
  let total = 0;
  for (const length of lengths) {
    if (!Number.isInteger(length) || length <= 0 || length > limits.maxEnvelopeChars) {
      throw new InboxEntryError("an envelope is empty or over the envelope size limit");
    }
    total += length;
  }
  if (total !== body.length) throw new InboxEntryError("the lengths do not add up to the body");
  const nodes = strings(fields, "n", lengths.length);
  const tracks = strings(fields, "k", lengths.length);
  const items: EnvelopeItem[] = [];
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    if (nodes[i] === "") throw new InboxEntryError("an envelope has no node");
    items.push({ node: nodes[i], track: tracks[i], text: body.slice(at, at += lengths[i]) });
  }
  return { type: "e", origin, hops, items };
}

/** Checks one raw stream entry (its field/value list) against `limits`. */
export function readInboxEntry(raw: unknown, limits: InboxLimits): InboxEntry {
  const fields = fieldsOf(raw);
  switch (fields.get("t")) {
    case "e":
      return envelopes(fields, limits);
    case "o":
      return { type: "o", outcomes: outcomes(json(fields, limits)) };
    case "d": {
      const flat = json(fields, limits);
      if (!flat.every((item) => typeof item === "string")) {
        throw new InboxEntryError("a snapshot holds something else than strings");
      }
      return { type: "d", identity: name(fields, "i"), flat: flat as string[] };
    }
    case "x": {
      const code = Number(fields.get("c"));
      if (!Number.isInteger(code)) throw new InboxEntryError("bad reason code");
      return {
        type: "x",
        node: name(fields, "n"),
        tag: name(fields, "g", true),
        code,
        description: name(fields, "d", true),
      };
    }
    default:
      throw new InboxEntryError(`unknown entry type`);
  }
}
