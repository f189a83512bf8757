/**
 * One attempt of a webhook delivery: a signed POST of the envelope, within a time limit,
 * redirects not followed, at most `maxResponseBytes` of the answer read (the rest is dropped),
 * and the outcome classified: a 2xx delivered it; a timeout, a network error, 408, 425, 429 or a
 * 5xx may succeed later (retried); any other answer (a 3xx included) will not.
 * @module
 */
import { webhookHeaders } from "./webhook_signature.ts";

/** How an attempt ended. */
export type PostOutcome =
  | { kind: "delivered" }
  | {
    kind: "retry" | "failed";
    /** What happened, for the sender's `failed` reason. */
    problem: string;
    /** Milliseconds the endpoint asked to wait (`Retry-After` of a 429 or 503). */
    retryAfter?: number;
  };

/** Limits of one attempt. */
export interface PostLimits {
  /** Milliseconds for the whole attempt, the answer included. */
  timeout: number;
  /** Most bytes of the answer read. */
  maxResponseBytes: number;
}

const RETRIED = new Set([408, 425, 429]);

/** Reads and drops at most `max` bytes of a body, then cancels the rest. */
async function drain(body: ReadableStream<Uint8Array> | null, max: number): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read <= max) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.length;
    }
    await reader.cancel();
  } catch {
    // The connection went; nothing to keep.
  } finally {
    reader.releaseLock();
  }
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** POSTs `body` to `url`, signed with `secret` as delivery `delivery`; `stop` aborts it. */
export async function postWebhook(
  url: string,
  secret: string,
  delivery: string,
  body: string,
  limits: PostLimits,
  stop?: AbortSignal,
): Promise<PostOutcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeout);
  const abort = () => controller.abort();
  stop?.addEventListener("abort", abort, { once: true });
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: await webhookHeaders(secret, delivery, body),
      body,
      redirect: "manual",
      signal: controller.signal,
    });
    await drain(response.body, limits.maxResponseBytes);
    const status = response.status;
    if (status >= 200 && status < 300) return { kind: "delivered" };
    const problem = `the webhook answered HTTP ${status}`;
    if (status >= 500 || RETRIED.has(status)) {
      const wait = retryAfter(response.headers.get("retry-after"));
      return { kind: "retry", problem, ...(wait !== undefined ? { retryAfter: wait } : {}) };
    }
    if (status >= 300 && status < 400) {
      return { kind: "failed", problem: `${problem} (a redirect, not followed)` };
    }
    return { kind: "failed", problem };
  } catch (error) {
    const problem = controller.signal.aborted
      ? `the webhook did not answer within ${limits.timeout} ms`
      : `the webhook could not be reached (${(error as Error).message.slice(0, 120)})`;
    return { kind: "retry", problem };
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener("abort", abort);
  }
}
