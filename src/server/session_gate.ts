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
import type { TrafficShaping } from "./guard/traffic_shaper.ts";
import type { Router } from "./router.ts";
import type { ServerSession } from "./server_session.ts";
import { guardLog } from "../observability/log.ts";
import { guardActionsCounter } from "../observability/metrics.ts";

const HELD = Object.freeze({ "lime.action": "rate-held" });
const REFUSED = Object.freeze({ "lime.action": "rate-refused" });

/**
 * Opens the gate of `session`: returns the handler its channel's messages, notifications and
 * commands go to, and sets `session.chargeAnswer` for the server's answers.
 */
export function openSessionGate(
  session: ServerSession,
  shaping: TrafficShaping,
  router: Router,
  clock: Clock,
): (envelope: Envelope) => void {
  if (!shaping.limited) return (envelope) => router.route(session, envelope);
  const transport = session.channel.transport;
  const shaper = shaping.forSession(session.identityKey, session.source);
  let counted = transport.receivedBytes ?? 0;
  let timer: TimerHandle | undefined;
  // Read while the session was held back: handled in order once its buckets allow (an envelope
  // to route, or an invalid one to answer).
  const waiting: { envelope?: Envelope; invalid?: ValidationError; bytes: number }[] = [];
  const answerInvalid = transport.invalidEnvelopePolicy;
  let refusals = 0;
  const hold = (wait: number) => {
    guardActionsCounter.add(1, HELD);
    guardLog.debug("Holding {node} for {wait} ms: over its rate", () => ({
      node: session.node,
      wait: Math.ceil(wait),
    }));
    session.shapedMs += wait;
    timer = clock.setTimeout(release, Math.max(1, Math.ceil(wait)));
  };
  const release = () => {
    timer = undefined;
    while (waiting.length > 0) {
      const { envelope, invalid, bytes } = waiting.shift()!;
      const wait = shaper.charge(bytes);
      if (envelope) router.route(session, envelope);
      else if (answerInvalid?.(invalid!) === "close") transport.close().catch(() => {});
      if (wait > 0) return hold(wait);
    }
    transport.resumeReceiving?.();
  };
  session.channel.closed.then(() => {
    shaper.release();
    if (timer !== undefined) clock.clearTimeout(timer);
    waiting.length = 0;
  });
  /** Bytes received since the previous envelope (this one's). */
  const arrived = () => {
    const total = transport.receivedBytes ?? counted;
    const bytes = total - counted;
    counted = total;
    return bytes;
  };
  /** A charge's wait to hold after handling (reading paused), 0, or -1 (cannot pause). */
  const admit = (wait: number): number => {
    if (wait <= 0) return 0;
    return transport.pauseReceiving?.() ? wait : -1;
  };
  // What the server answers costs the session too: a 50-byte request must not buy a megabyte.
  session.chargeAnswer = (bytes) => {
    const wait = shaper.chargeAnswer(bytes);
    if (wait > 0 && timer === undefined && admit(wait) > 0) hold(wait);
  };
  if (answerInvalid) {
    transport.invalidEnvelopePolicy = (invalid) => {
      const bytes = arrived();
      if (timer !== undefined) {
        waiting.push({ invalid, bytes });
        return "skip";
      }
      const wait = admit(shaper.charge(bytes));
      const policy = answerInvalid(invalid);
      if (wait > 0) hold(wait);
      return policy;
    };
  }
  return (envelope) => {
    const bytes = arrived();
    if (timer !== undefined) {
      waiting.push({ envelope, bytes });
      return;
    }
    const wait = admit(shaper.charge(bytes));
    if (wait < 0) {
      guardActionsCounter.add(1, REFUSED);
      // The first refusal of a session at info, the rest at debug: a flood must not flood logs.
      const level = refusals++ === 0 ? "info" : "debug";
      guardLog[level]("Refused an envelope of {node} ({remote}) over its rate (34)", () => ({
        node: session.node,
        remote: transport.remoteEndpoint,
        refusals,
      }));
      shaper.refund(bytes);
      router.refuse(session, envelope, {
        code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
        description: "The session sends more than it may per second",
      });
      return;
    }
    router.route(session, envelope);
    if (wait > 0) hold(wait);
  };
}
