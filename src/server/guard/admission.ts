/**
 * Admission of connections: the global caps (sessions, connections still establishing) and the
 * same caps per source address, which are kept well below the global ones so that no single
 * address can reach a global cap and lock everyone else out. A connection holds an
 * {@link AdmissionTicket} from accept to close.
 * @module
 */
import type { Reason } from "../../errors.ts";
import { ReasonCode } from "../../generated/reasons.generated.ts";
import { type LimeServerOptions, SERVER_DEFAULTS } from "../server_options.ts";

/** The caps. 0 disables a per-address cap. */
export interface AdmissionLimits {
  /** Connections at once (establishing or established). */
  maxSessions: number;
  /** Connections still establishing at once. */
  maxEstablishing: number;
  /** Connections at once from one source address. */
  maxSessionsPerAddress: number;
  /** Connections still establishing at once from one source address. */
  maxEstablishingPerAddress: number;
}

interface Counts {
  connections: number;
  establishing: number;
}

/** One admitted connection's hold on the counts. */
export interface AdmissionTicket {
  /** The source address it counts under (undefined: not counted per address). */
  readonly source: string | undefined;
  /** Establishment ended (either way): it no longer counts as establishing. */
  established(): void;
  /** The connection closed: it no longer counts. Idempotent. */
  release(): void;
}

const refusal = (description: string): Reason => ({
  code: ReasonCode.SESSION_ERROR,
  description,
});

/** What an `Admission` counts, shared with its tickets. */
interface Totals extends Counts {
  readonly bySource: Map<string, Counts>;
}

/** A ticket (an object with methods, not closures: a server keeps one per connection). */
class Ticket implements AdmissionTicket {
  readonly source: string | undefined;
  readonly #totals: Totals;
  readonly #counts: Counts | undefined;
  #establishing = true;
  #held = true;

  constructor(source: string | undefined, totals: Totals, counts: Counts | undefined) {
    this.source = source;
    this.#totals = totals;
    this.#counts = counts;
  }

  established(): void {
    if (!this.#establishing) return;
    this.#establishing = false;
    this.#totals.establishing--;
    if (this.#counts) this.#counts.establishing--;
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.established();
    this.#totals.connections--;
    if (this.#counts && --this.#counts.connections === 0) {
      this.#totals.bySource.delete(this.source!);
    }
  }
}

/** Counts connections globally and per source address. */
export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #totals: Totals = { connections: 0, establishing: 0, bySource: new Map() };

  /** Admission with these caps. */
  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** The caps. */
  get limits(): Readonly<AdmissionLimits> {
    return this.#limits;
  }

  /** Connections counted now. */
  get connections(): number {
    return this.#totals.connections;
  }

  /** Connections establishing now. */
  get establishing(): number {
    return this.#totals.establishing;
  }

  /** Connections and establishing connections of one source address. */
  countsOf(source: string): Readonly<Counts> {
    return this.#totals.bySource.get(source) ?? { connections: 0, establishing: 0 };
  }

  /** Admits a connection from `source`, or says why not (reason 11, refused at once). */
  admit(source: string | undefined): AdmissionTicket | Reason {
    const limits = this.#limits;
    if (this.#totals.connections >= limits.maxSessions) {
      return refusal("The server has reached its maximum number of sessions");
    }
    if (this.#totals.establishing >= limits.maxEstablishing) {
      return refusal("Too many connections are establishing a session; try again later");
    }
    const counts = source === undefined ? undefined : this.countsOf(source);
    if (counts && limits.maxSessionsPerAddress > 0) {
      if (counts.connections >= limits.maxSessionsPerAddress) {
        return refusal("Too many sessions from your address");
      }
    }
    if (counts && limits.maxEstablishingPerAddress > 0) {
      if (counts.establishing >= limits.maxEstablishingPerAddress) {
        return refusal("Too many connections from your address are establishing; try again later");
      }
    }
    return this.#take(source);
  }

  #take(source: string | undefined): AdmissionTicket {
    const totals = this.#totals;
    let counts: Counts | undefined;
    if (source !== undefined) {
      counts = totals.bySource.get(source);
      if (!counts) totals.bySource.set(source, counts = { connections: 0, establishing: 0 });
      counts.connections++;
      counts.establishing++;
    }
    totals.connections++;
    totals.establishing++;
    return new Ticket(source, totals, counts);
  }
}

/**
 * The admission caps of the options. A per-address cap must stay below its global cap (else one
 * address could lock everyone else out): a configured one that does not is a RangeError; a
 * default one that does not (a server configured with a tiny global cap) is left out.
 */
export function admissionLimits(options: LimeServerOptions): AdmissionLimits {
  const maxSessions = options.maxSessions ?? SERVER_DEFAULTS.maxSessions;
  const maxEstablishing = options.maxEstablishing ?? SERVER_DEFAULTS.maxEstablishing;
  const perAddress = (
    name: "maxSessionsPerAddress" | "maxEstablishingPerAddress",
    global: number,
    globalName: string,
  ): number => {
    const configured = options[name];
    if (configured === undefined) {
      return SERVER_DEFAULTS[name] < global ? SERVER_DEFAULTS[name] : 0;
    }
    if (configured !== 0 && configured >= global) {
      throw new RangeError(
        `${name} (${configured}) must be below ${globalName} (${global}), or 0 for no per-address cap`,
      );
    }
    return configured;
  };
  return {
    maxSessions,
    maxEstablishing,
    maxSessionsPerAddress: perAddress("maxSessionsPerAddress", maxSessions, "maxSessions"),
    maxEstablishingPerAddress: perAddress(
      "maxEstablishingPerAddress",
      maxEstablishing,
      "maxEstablishing",
    ),
  };
}
