/**
 * When and to what the TCP transport switches compression and encryption: recognising the
 * negotiation confirmation (the point after which TLS and gzip apply, lime-protocol §4.4),
 * checking that a switch is possible, holding sends at the switch point and applying it.
 * @module
 */
import { type Envelope, isSession } from "../envelope.ts";
import type { SessionCompression, SessionEncryption } from "../generated/enums.generated.ts";
import { TransportError } from "./errors.ts";
import type { EnvelopeFramer } from "./framing.ts";
import { afterWhitespace } from "./tcp_connection.ts";
import type { TcpConnection } from "./tcp_connection.ts";
import type { TlsRole } from "./tcp_tls.ts";

/** Compression and encryption of a connection. */
export interface ConnectionModes {
  /** Compression. */
  compression: SessionCompression;
  /** Encryption. */
  encryption: SessionEncryption;
}

/**
 * The modes a negotiation confirmation switches to (a `negotiating` session carrying the chosen
 * `compression`/`encryption` and no option lists), or undefined for any other envelope. The
 * server sends the confirmation and the client receives it; the client's own choice has the same
 * shape, which is why the role decides which direction is looked at.
 */
export function confirmedModes(
  envelope: Envelope,
  current: ConnectionModes,
): ConnectionModes | undefined {
  if (!isSession(envelope) || envelope.state !== "negotiating") return undefined;
  if (envelope.compressionOptions !== undefined || envelope.encryptionOptions !== undefined) {
    return undefined;
  }
  if (envelope.compression === undefined && envelope.encryption === undefined) return undefined;
  return {
    compression: envelope.compression ?? current.compression,
    encryption: envelope.encryption ?? current.encryption,
  };
}

/**
 * Why the connection cannot go from `current` to `target`, as an `unsupported` TransportError,
 * or undefined when it can. gzip runs inside TLS, so TLS cannot start once gzip is on; neither
 * can be turned off.
 */
export function switchProblem(
  current: ConnectionModes,
  target: ConnectionModes,
  compressions: readonly SessionCompression[],
  encryptions: readonly SessionEncryption[],
): TransportError | undefined {
  if (!compressions.includes(target.compression)) {
    return new TransportError(
      "unsupported",
      `Compression "${target.compression}" is not supported`,
    );
  }
  if (!encryptions.includes(target.encryption)) {
    return new TransportError(
      "unsupported",
      `Encryption "${target.encryption}" is not supported${
        target.encryption === "tls" ? " (no TLS certificate configured)" : ""
      }`,
    );
  }
  if (current.encryption === "tls" && target.encryption !== "tls") {
    return new TransportError("unsupported", "TLS cannot be turned off once started");
  }
  if (current.compression === "gzip" && target.compression !== "gzip") {
    return new TransportError("unsupported", "gzip cannot be turned off once started");
  }
  if (current.compression === "gzip" && target.encryption !== current.encryption) {
    return new TransportError(
      "unsupported",
      "TLS cannot start after gzip: gzip runs inside TLS, so both switch together after the negotiation confirmation or TLS first",
    );
  }
  return undefined;
}

/** Whether two mode pairs are equal. */
export function sameModes(a: ConnectionModes, b: ConnectionModes): boolean {
  return a.compression === b.compression && a.encryption === b.encryption;
}

/**
 * The pending switch of a TCP transport: the modes it goes to, the confirmation still to be
 * written, and the gate that holds later sends back until the switch is done.
 */
export class SwitchPoint {
  #target: ConnectionModes | undefined;
  #confirmation: string | undefined;
  #written: PromiseWithResolvers<void> | undefined;
  #gate: PromiseWithResolvers<void> | undefined;
  // The last step's settling, once there was one.
  #steps: Promise<void> | undefined;

  /** The modes being switched to, while a switch is pending. */
  get target(): ConnectionModes | undefined {
    return this.#target;
  }

  /**
   * Marks the switch point. `confirmation` is the text of the confirmation this side is about
   * to send (server): sends are held once it is written. Without it, they are held at once.
   */
  hold(target: ConnectionModes, confirmation?: string): void {
    this.#target = { compression: target.compression, encryption: target.encryption };
    this.#confirmation = confirmation;
    this.#written = Promise.withResolvers();
    if (confirmation === undefined) {
      this.#written.resolve();
      this.#gate ??= Promise.withResolvers();
    }
  }

  /** Changes the pending target. */
  retarget(change: Partial<ConnectionModes>): void {
    if (this.#target) Object.assign(this.#target, change);
  }

  /** Waits while sends are held. */
  async beforeWrite(): Promise<void> {
    while (this.#gate) await this.#gate.promise;
  }

  /** After each write: once the confirmation is out, later sends are held. */
  afterWrite(text: string): void {
    if (this.#confirmation === undefined || this.#confirmation !== text) return;
    this.#confirmation = undefined;
    this.#gate ??= Promise.withResolvers();
    this.#written?.resolve();
  }

  /** Resolves once the confirmation is written (at once without one). */
  confirmed(): Promise<void> {
    return this.#written?.promise ?? Promise.resolve();
  }

  /** Runs `step` once the earlier steps have settled. */
  run(step: () => Promise<void>): Promise<void> {
    const run = (this.#steps ?? Promise.resolve()).then(step);
    this.#steps = run.catch(() => {});
    return run;
  }

  /** The switch is done, or abandoned because the transport closes: sends flow again. */
  release(): void {
    this.#target = undefined;
    this.#confirmation = undefined;
    this.#written?.resolve();
    this.#written = undefined;
    const gate = this.#gate;
    this.#gate = undefined;
    gate?.resolve();
  }
}

/** What {@link applySwitch} needs from the TCP transport. */
export interface SwitchHost {
  /** The pending switch. */
  readonly point: SwitchPoint;
  /** The connection to switch. */
  connection(): TcpConnection;
  /** The framer of the bytes read so far (nothing may be half-read at the switch). */
  framer(): EnvelopeFramer;
  /** Whether the transport is closing. */
  closing(): boolean;
  /** Takes the bytes that arrived after the confirmation (read first after the switch). */
  takeStash(): Uint8Array | undefined;
  /** How this side starts TLS. */
  tlsRole(): TlsRole;
  /** Records the modes now on. */
  switched(modes: Partial<ConnectionModes>): void;
  /** Fails the transport with `error`; returns it. */
  fail(error: TransportError): TransportError;
}

/**
 * Applies the pending switch once the confirmation is out and no write is in flight: TLS first,
 * then gzip inside it; then reading resumes, the bytes that came after the confirmation first.
 * A failure fails the transport (and rejects).
 */
export async function applySwitch(host: SwitchHost, signal?: AbortSignal): Promise<void> {
  if (!host.point.target) return; // an earlier call applied it
  await host.point.confirmed();
  await host.connection().idle();
  const target = host.point.target;
  if (!target || host.closing()) {
    throw closedError();
  }
  const connection = host.connection();
  const framer = host.framer();
  // Whitespace after the confirmation (lime-go writes `}\n`) is not the next layer's.
  const taken = host.takeStash();
  let stash = taken && afterWhitespace(taken);
  if (framer.inObject) {
    throw host.fail(
      new TransportError(
        "framing",
        `${framer.buffered} bytes of an incomplete envelope arrived before the switch`,
      ),
    );
  }
  if (target.encryption === "tls" && !connection.secure) {
    // Also what arrived since (a later segment), up to the client's hello on a server.
    if (!stash?.length) {
      stash = await connection.skipWhitespace(host.tlsRole().server, signal);
      // A server's first byte is the client's hello: it goes to TLS, where it was put back.
      if (host.tlsRole().server) stash = undefined;
    }
    if (stash?.length) {
      throw host.fail(
        new TransportError(
          "tls",
          `${stash.length} bytes arrived after the negotiation confirmation, before the TLS handshake`,
        ),
      );
    }
    try {
      await connection.startTls(host.tlsRole(), signal);
    } catch (error) {
      throw host.fail(
        error instanceof TransportError ? error : new TransportError(
          "tls",
          `Cannot start TLS: ${(error as Error).message}`,
          { cause: error },
        ),
      );
    }
    host.switched({ encryption: "tls" });
  }
  if (target.compression === "gzip" && !connection.compressed) {
    connection.startGzip();
    host.switched({ compression: "gzip" });
  }
  host.point.release();
  connection.start(stash);
}

/** What {@link requestSwitch} also needs: the modes, what may be chosen, and how to hold. */
export interface SwitchRequestHost extends SwitchHost {
  /** The modes on now. */
  current(): ConnectionModes;
  /** The compression modes offered. */
  compressions(): readonly SessionCompression[];
  /** The encryption modes offered. */
  encryptions(): readonly SessionEncryption[];
  /** Stops reading (and sending, without a confirmation still to write) until the switch. */
  hold(target: ConnectionModes): void;
}

/**
 * A `setCompression`/`setEncryption` call: after a negotiation confirmation it applies everything
 * the confirmation announced (with `change` on top); without one it switches at once. Rejects with
 * the problem when the switch is not possible; resolves at once when nothing changes.
 */
export function requestSwitch(
  host: SwitchRequestHost,
  change: Partial<ConnectionModes>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const current = host.current();
  const point = host.point;
  const target = { ...(point.target ?? current), ...change };
  const problem = switchProblem(current, target, host.compressions(), host.encryptions());
  if (problem) return Promise.reject(problem);
  if (!point.target) {
    if (sameModes(target, current)) return Promise.resolve();
    host.hold(target);
  } else {
    point.retarget(change);
  }
  return point.run(() => applySwitch(host, signal));
}

/** Whether a confirmation's modes are a switch this side can make (not the modes it has). */
export function canSwitch(
  target: ConnectionModes,
  current: ConnectionModes,
  compressions: readonly SessionCompression[],
  encryptions: readonly SessionEncryption[],
): boolean {
  return !sameModes(target, current) &&
    !switchProblem(current, target, compressions, encryptions);
}

/** The error of a step that cannot go on: the transport is closed (or not open yet). */
export function closedError(state = "closed"): TransportError {
  const code = state === "closed" ? "closed" : "not-open";
  return new TransportError(code, `Cannot continue: the transport is ${state}`);
}
