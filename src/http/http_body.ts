/**
 * Reading an HTTP request's body as one LIME envelope, inside its budget: a `Content-Length` over
 * the cap is refused before a byte is read; the body is read as it arrives through the envelope
 * framer (`src/transport/framing.ts`), which refuses a body that is not a JSON object at its
 * first byte, one nested too deeply or with too many members as soon as it says so, and one over
 * the size cap (chunked bodies included) when the cap is passed; the rest is never read. The
 * whole body must arrive within a time limit (a slow body is refused with 408). Only then is it
 * parsed and validated, by the caller.
 * @module
 */
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import { TransportError } from "../transport/errors.ts";
import { EnvelopeFramer } from "../transport/framing.ts";
import { refusal } from "./http_reply.ts";

/** The budget of one request body. */
export interface BodyLimits {
  /** Largest body, in bytes (the envelope size cap). */
  maxBytes: number;
  /** Deepest JSON nesting. */
  maxDepth: number;
  /** Most object members. */
  maxMembers: number;
  /** Milliseconds the whole body has to arrive. */
  timeout: number;
}

/** What reading gave: the envelope's bytes, or the refusal to answer with. */
export type BodyResult = { bytes: Uint8Array } | { response: Response };

const invalid = (description: string): Reason => ({
  code: ReasonCode.VALIDATION_ERROR,
  description,
});

/** Refuses a body over `maxBytes` (413). */
function tooLarge(limit: number, size?: number): Response {
  return refusal(
    413,
    invalid(
      `The body is larger than the maximum of ${limit} bytes` +
        (size === undefined ? "" : ` (${size} bytes)`),
    ),
  );
}

/**
 * Reads the body of `request` as one JSON object within `limits`. Never throws for what the peer
 * sends: every problem is a refusal (400, 408 or 413 with reason 21).
 */
export async function readEnvelopeBody(request: Request, limits: BodyLimits): Promise<BodyResult> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const size = Number(declared);
    if (!Number.isSafeInteger(size) || size < 0) {
      return { response: refusal(400, invalid("The Content-Length header is not a number")) };
    }
    if (size > limits.maxBytes) {
      request.body?.cancel().catch(() => {});
      return { response: tooLarge(limits.maxBytes, size) };
    }
  }
  const body = request.body;
  if (!body) {
    return { response: refusal(400, invalid("The request has no body: send an envelope")) };
  }
  const framer = new EnvelopeFramer({
    maxEnvelopeSize: limits.maxBytes,
    maxDepth: limits.maxDepth,
    maxMembers: limits.maxMembers,
  });
  const reader = body.getReader();
  let frame: Uint8Array | undefined;
  let extra = false;
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), limits.timeout);
  });
  const stop = (response: Response): BodyResult => {
    reader.cancel().catch(() => {});
    return { response };
  };
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "timeout") {
        return stop(
          refusal(408, invalid(`The body did not arrive within ${limits.timeout} ms`), {
            connection: "close",
          }),
        );
      }
      if (next.done) break;
      const chunk = next.value;
      total += chunk.length;
      if (total > limits.maxBytes) return stop(tooLarge(limits.maxBytes));
      try {
        framer.push(chunk, (found) => {
          if (frame) {
            extra = true;
            return false;
          }
          frame = found.slice();
        });
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        return stop(refusal(400, invalid(`Invalid body: ${error.message}`)));
      }
      if (extra) return stop(refusal(400, invalid("The body holds more than one JSON object")));
    }
  } catch (error) {
    return stop(refusal(400, invalid(`The body could not be read: ${(error as Error).message}`)));
  } finally {
    clearTimeout(timer);
  }
  if (framer.inObject) return { response: refusal(400, invalid("The body ends inside an object")) };
  if (!frame) return { response: refusal(400, invalid("The body is empty: send an envelope")) };
  return { bytes: frame };
}
