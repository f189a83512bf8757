/**
 * The gate between a session's connection and the router: every envelope the session sends (and
 * every invalid one the channel answers) is charged to its shaper (session, identity and source
 * address buckets, see `guard/traffic_shaper.ts`), and so are the bytes of the server's answers
 * to its requests. An envelope that puts a bucket in debt is handled, then the connection stops
 * being read and what was read already waits in order until the debt is paid back, envelope by
 * envelope, so the rate is the limit. Where the transport cannot stop reading, what is over the
 * rate is refused with 34 instead. Invalid envelopes (21–27) never reach the router but cost a
 * parse and an answer each: they are charged and wait their turn too.
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { Envelope } from "../envelope.ts";
import type { ValidationError } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import type { SessionShaper, TrafficShaping } from "./guard/traffic_shaper.ts";
import type { Router } from "./router.ts";
import type { Transport } from "../transport/transport.ts";
import type { ServerSession } from "./server_session.ts";
import { guardLog } from "../observability/log.ts";
import { guardActionsCounter } from "../observability/metrics.ts";

const HELD = Object.freeze({ "lime.action": "rate-held" });
const REFUSED = Object.freeze({ "lime.action": "rate-refused" });

type InvalidEnvelopePolicy = NonNullable<Transport["invalidEnvelopePolicy"]>;
/** Who answers a session's invalid input once the gate let it through. */
type InvalidAnswers = { answerInvalid: InvalidEnvelopePolicy };

/** An open gate: `route` takes what the session's channel receives; `close` once it ended. */
export interface SessionGate {
  readonly route: (envelope: Envelope) => void;
  close(): void;
}

/**
 * Opens the gate of `session`: returns the handler its channel's messages, notifications and
 * commands go to, and sets `session.answerCharges` for the server's answers. Its owner closes it
 * when the channel ends.
 */
export function openSessionGate(
  session: ServerSession,
  shaping: TrafficShaping,
  router: Router,
  clock: Clock,
): SessionGate {
  if (!shaping.limited) {
    return { route: (envelope) => router.route(session, envelope), close: () => {} };
  }
  // Invalid input is charged before it is answered: through the channel's own hook when the
  // transport answers the channel's way (no closure per session), else by wrapping its owner's.
  const channel = session.channel;
  const transport = channel.transport;
  const policy = transport.invalidEnvelopePolicy;
  const gated = channel.gatesInvalidInput;
  const answers = gated ? channel : policy && { answerInvalid: policy };
  const gate = new ShapingGate(session, shaping, router, clock, answers);
  // What the server answers costs the session too: a 50-byte request must not buy a megabyte.
  session.answerCharges = gate;
  if (gated) channel.invalidInputGate = gate;
  else if (policy) transport.invalidEnvelopePolicy = (invalid) => gate.invalid(invalid);
  return gate;
}

/** Something read while the session was held back, handled in order once its buckets allow. */
interface Waiting {
  envelope?: Envelope;
  invalid?: ValidationError;
  bytes: number;
}

/** One session's gate (a class, not closures: a server keeps one per session). */
class ShapingGate implements SessionGate {
  readonly #session: ServerSession;
  readonly #router: Router;
  readonly #clock: Clock;
  readonly #transport: Transport;
  readonly #shaper: SessionShaper;
  #counted: number;
  #timer: TimerHandle | undefined;
  // When the running hold ends (clock time).
  #holdUntil = 0;
  // Made when the session is first held back (an envelope to route, or an invalid one to answer).
  #waiting: Waiting[] | undefined;
  // Who answers invalid input: the channel, or the transport owner's policy (see openSessionGate).
  readonly #answers: InvalidAnswers | undefined;
  #refusals = 0;
  /** The channel's handler of messages, notifications and commands. */
  readonly route = (envelope: Envelope): void => this.pass(envelope);

  constructor(
    session: ServerSession,
    shaping: TrafficShaping,
    router: Router,
    clock: Clock,
    answers: InvalidAnswers | undefined,
  ) {
    this.#session = session;
    this.#router = router;
    this.#clock = clock;
    this.#transport = session.channel.transport;
    this.#shaper = shaping.forSession(session.identityKey, session.source);
    this.#counted = this.#transport.receivedBytes ?? 0;
    this.#answers = answers;
  }

  /** An envelope the session sent: routed, held back, or refused with 34. */
  pass(envelope: Envelope): void {
    const bytes = this.#arrived();
    if (this.#timer !== undefined) {
      (this.#waiting ??= []).push({ envelope, bytes });
      return;
    }
    const wait = this.#admit(this.#shaper.charge(bytes));
    if (wait < 0) return this.#refuse(envelope, bytes);
    this.#router.route(this.#session, envelope);
    if (wait > 0) this.#hold(wait);
  }

  /** An invalid envelope the session sent: answered as the transport's policy says, in turn. */
  invalid(invalid: ValidationError): ReturnType<InvalidEnvelopePolicy> {
    const bytes = this.#arrived();
    if (this.#timer !== undefined) {
      (this.#waiting ??= []).push({ invalid, bytes });
      return "skip";
    }
    const wait = this.#admit(this.#shaper.charge(bytes));
    const policy = this.#answers!.answerInvalid(invalid);
    if (wait > 0) this.#hold(wait);
    return policy;
  }

  /** Bytes the server sends in answer to the session. */
  chargeAnswer(bytes: number): void {
    const wait = this.#shaper.chargeAnswer(bytes);
    // During a hold reading is paused already: the hold is only made longer when it must be.
    if (wait > 0 && (this.#timer !== undefined || this.#admit(wait) > 0)) this.#hold(wait);
  }

  /** The session ended. */
  close(): void {
    this.#shaper.release();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    if (this.#waiting) this.#waiting.length = 0; // a release under way stops too
  }

  /** Bytes received since the previous envelope (this one's). */
  #arrived(): number {
    const total = this.#transport.receivedBytes ?? this.#counted;
    const bytes = total - this.#counted;
    this.#counted = total;
    return bytes;
  }

  /** A charge's wait to hold after handling (reading paused), 0, or -1 (cannot pause). */
  #admit(wait: number): number {
    if (wait <= 0) return 0;
    return this.#transport.pauseReceiving?.() ? wait : -1;
  }

  /**
   * Holds the session back for `wait` ms, or until a hold already running ends if that is later
   * (an envelope's handling can charge an answer, which may hold the session first).
   */
  #hold(wait: number): void {
    const until = this.#clock.now() + wait;
    if (this.#timer !== undefined) {
      if (until <= this.#holdUntil) return;
      this.#clock.clearTimeout(this.#timer);
      this.#session.shapedMs += until - this.#holdUntil;
    } else {
      this.#session.shapedMs += wait;
    }
    guardActionsCounter.add(1, HELD);
    guardLog.debug("Holding {node} for {wait} ms: over its rate", () => ({
      node: this.#session.node,
      wait: Math.ceil(wait),
    }));
    this.#holdUntil = until;
    this.#timer = this.#clock.setTimeout(() => this.#release(), Math.max(1, Math.ceil(wait)));
  }

  #release(): void {
    this.#timer = undefined;
    const waiting = this.#waiting;
    while (waiting && waiting.length > 0) {
      const { envelope, invalid, bytes } = waiting.shift()!;
      const wait = this.#shaper.charge(bytes);
      if (envelope) this.#router.route(this.#session, envelope);
      else {
        // What the transport would have done with the answer: close, skip, or take an envelope
        // in its place (a repaired notification), which goes where the session's envelopes go.
        const answer = this.#answers?.answerInvalid(invalid!);
        if (answer === "close") this.#transport.close().catch(() => {});
        else if (answer && answer !== "skip") this.#router.route(this.#session, answer);
      }
      if (wait > 0) this.#hold(wait);
      // Held (by this charge, or by the answer its handling charged): that hold releases the rest.
      if (this.#timer !== undefined) return;
    }
    this.#transport.resumeReceiving?.();
  }

  #refuse(envelope: Envelope, bytes: number): void {
    guardActionsCounter.add(1, REFUSED);
    // The first refusal of a session at info, the rest at debug: a flood must not flood logs.
    const level = this.#refusals++ === 0 ? "info" : "debug";
    guardLog[level]("Refused an envelope of {node} ({remote}) over its rate (34)", () => ({
      node: this.#session.node,
      remote: this.#transport.remoteEndpoint,
      refusals: this.#refusals,
    }));
    this.#shaper.refund(bytes);
    this.#router.refuse(this.#session, envelope, {
      code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
      description: "The session sends more than it may per second",
    });
  }
}
