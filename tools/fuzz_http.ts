/**
 * The HTTP part of the live-server fuzz (`deno task fuzz --http-requests=N`): hostile requests to
 * LimeServer's HTTP API (`POST /messages`, `/notifications`, `/commands`; `src/http/`), made with
 * `fetch` so that what is fuzzed is the server's own code, not Deno's HTTP parser.
 *
 * Each request picks a method, a path (the API's, others, odd spellings), an `Authorization`
 * (a valid `Basic` of a real account, a wrong password, unknown identities, reserved ones, broken
 * base64, other schemes, huge headers, none), a `Content-Type`, and a body: a valid envelope of
 * the path's kind or another, the live fuzz's hostile payloads (fuzzed JSON, random bytes, deep
 * nesting, over `maxEnvelopeSize`), nothing, or one sent slowly in pieces (past the body timeout
 * for some).
 *
 * The answer must be one the API documents: a status of its list (never another 5xx), a refusal
 * a JSON `{"reason": {"code", "description"}}`, a 401 with `WWW-Authenticate`, a 202 a JSON
 * `{"id"}`, a `/commands` 200 a valid response command with the request's id; within a bound.
 * @module
 */
import { parseEnvelope } from "../src/codec.ts";
import {
  bump,
  describe,
  hostilePayload,
  int,
  itemRng,
  mutateBytes,
  pick,
  randomBytes,
  type Rng,
  SERVER_MAX_ENVELOPE,
  sessionEnvelope,
  type StreamContext,
  toHex,
  uuid,
} from "./fuzz.ts";

/** Figures of the HTTP requests. */
export interface HttpFuzzReport {
  requests: number;
  bytesSent: number;
  /** The requests by path and method. */
  targets: Record<string, number>;
  /** The Authorization headers sent, by kind. */
  authorizations: Record<string, number>;
  /** The bodies sent, by kind. */
  bodies: Record<string, number>;
  /** The answers by status (and reason code for refusals). */
  answers: Record<string, number>;
}

export function emptyHttpReport(): HttpFuzzReport {
  return { requests: 0, bytesSent: 0, targets: {}, authorizations: {}, bodies: {}, answers: {} };
}

/** The account whose password the valid `Basic` headers carry. */
export const HTTP_BOT = { identity: "httpbot@localhost", password: "fuzz-password-1" };
/** The HTTP API's limits in the fuzz: short, so that slow bodies and lost commands end soon. */
export const HTTP_FUZZ_OPTIONS = { commandTimeout: 1000, bodyTimeout: 1000, idleTimeout: 300 };
/** An answer later than this (its body read too) is a hang. */
const REQUEST_BOUND_MS = 5000;
/** Statuses the API answers with (lime-protocol §15 and the README's list). */
const API_PATHS = new Set(["/messages", "/notifications", "/commands"]);
const STATUSES = new Set([200, 202, 400, 401, 403, 404, 405, 408, 409, 413, 415, 429, 503, 504]);

const encoder = new TextEncoder();
const b64 = (text: string) => btoa(String.fromCharCode(...encoder.encode(text)));

function authorization(rng: Rng): { kind: string; value?: string } {
  const { identity, password } = HTTP_BOT;
  const kind = pick(rng, [
    "valid",
    "valid",
    "valid",
    "valid",
    "wrong-password",
    "unknown-identity",
    "reserved-identity",
    "other-domain",
    "no-colon",
    "bad-base64",
    "key-garbage",
    "bearer",
    "empty",
    "huge",
    "none",
  ]);
  const value = ((): string | undefined => {
    switch (kind) {
      case "valid":
        return `Basic ${b64(`${identity}:${password}`)}`;
      case "wrong-password":
        return `Basic ${b64(`${identity}:not-${password}`)}`;
      case "unknown-identity":
        return `Basic ${b64(`nobody${int(rng, 5)}@localhost:${password}`)}`;
      case "reserved-identity":
        return `Basic ${b64(`postmaster@localhost:${password}`)}`;
      case "other-domain":
        return `Key ${b64(`${identity.replace("localhost", "elsewhere.org")}:${password}`)}`;
      case "no-colon":
        return `Basic ${b64(identity)}`;
      case "bad-base64":
        return `Basic ${pick(rng, ["%%%", "YWJj=ZGVm", "=", "a"])}`;
      case "key-garbage":
        return `Key ${b64(String.fromCharCode(...randomBytes(rng, 1 + int(rng, 60))))}`;
      case "bearer":
        return `Bearer ${uuid(rng)}`;
      case "empty":
        return pick(rng, ["", "Basic", "Basic ", "Key"]);
      case "huge":
        return `Basic ${"QUFB".repeat(2000 + int(rng, 2000))}`;
      default:
        return undefined;
    }
  })();
  return { kind, value };
}

/** An envelope of `kind` (valid or nearly: an id or not, a `from` of another, a response, …). */
function envelopeOf(rng: Rng, kind: string): string {
  const id = uuid(rng);
  const to = pick(rng, [
    "healthy@localhost/fuzz",
    "nobody@localhost",
    HTTP_BOT.identity,
    "x@elsewhere.org",
  ]);
  const variants: Record<string, string[]> = {
    message: [
      `{"id":"${id}","to":"${to}","type":"text/plain","content":"hello"}`,
      `{"to":"${to}","type":"text/plain","content":"no id"}`,
      `{"id":"${id}","to":"${to}","from":"someone@localhost/x","type":"text/plain","content":"spoof"}`,
      `{"id":"${id}","to":"${to}","pp":"someone@localhost/x","type":"text/plain","content":"pp"}`,
      `{"id":"${id}","type":"text/plain","content":"to nobody"}`,
    ],
    notification: [
      `{"id":"${id}","to":"${to}","event":"received"}`,
      `{"id":"${id}","to":"${to}","event":"failed","reason":{"code":1}}`,
      `{"to":"${to}","event":"consumed"}`,
    ],
    command: [
      `{"id":"${id}","method":"get","uri":"/ping"}`,
      `{"id":"${id}","to":"${to}","method":"get","uri":"/ping"}`,
      `{"id":"${id}","method":"get","uri":"/account"}`,
      `{"id":"${id}","method":"get","uri":"/contacts"}`,
      `{"id":"${id}","method":"get","uri":"/nope"}`,
      `{"method":"get","uri":"/ping"}`,
      `{"id":"${id}","method":"get","uri":"/ping","status":"success"}`,
      `{"id":"fixed-id","method":"get","uri":"/ping","to":"healthy@localhost/fuzz"}`,
    ],
  };
  return pick(rng, variants[kind] ?? variants.message);
}

/** One request's body, and its kind. */
function body(
  rng: Rng,
  ctx: StreamContext,
  pathKind: string,
): { kind: string; bytes?: Uint8Array; slow?: boolean } {
  const kind = pick(rng, [
    "right-kind",
    "right-kind",
    "right-kind",
    "right-kind",
    "other-kind",
    "hostile",
    "hostile",
    "session-envelope",
    "too-big",
    "deep",
    "empty",
    "none",
    "random-bytes",
    "two-envelopes",
    "slow",
  ]);
  const text = (s: string) => encoder.encode(s);
  switch (kind) {
    case "right-kind":
      return { kind, bytes: text(envelopeOf(rng, pathKind)) };
    case "other-kind":
      return {
        kind,
        bytes: text(envelopeOf(rng, pick(rng, ["message", "notification", "command"]))),
      };
    case "hostile": {
      let bytes = hostilePayload(rng, ctx.seeds, uuid(rng), HTTP_BOT.identity + "/http");
      if (rng() < 0.3) bytes = mutateBytes(rng, bytes, ctx.seeds, true);
      return { kind, bytes };
    }
    case "session-envelope":
      return { kind, bytes: text(sessionEnvelope(rng, uuid(rng), `${HTTP_BOT.identity}/http`)) };
    case "too-big":
      return {
        kind,
        bytes: text(
          `{"id":"big","to":"nobody@localhost","type":"text/plain","content":"${
            "x".repeat(SERVER_MAX_ENVELOPE)
          }"}`,
        ),
      };
    case "deep": {
      const n = 60 + int(rng, 200);
      return {
        kind,
        bytes: text(
          `{"id":"d","to":"nobody@localhost","type":"application/json","content":${"[".repeat(n)}${
            "]".repeat(n)
          }}`,
        ),
      };
    }
    case "empty":
      return { kind, bytes: new Uint8Array(0) };
    case "none":
      return { kind };
    case "random-bytes":
      return { kind, bytes: randomBytes(rng, 1 + int(rng, 200)) };
    case "two-envelopes":
      return { kind, bytes: text(envelopeOf(rng, pathKind) + envelopeOf(rng, pathKind)) };
    default:
      return { kind, bytes: text(envelopeOf(rng, pathKind)), slow: true };
  }
}

/** One hostile HTTP request to `ctx.httpPort`. */
export async function hostileHttpRequest(
  ctx: StreamContext & { httpPort: number; http: HttpFuzzReport; httpClient: Deno.HttpClient },
  index: number,
): Promise<void> {
  const { report, http } = ctx;
  const rng = itemRng(ctx.seed, index, 0x477e);
  const t0 = performance.now();
  // A third are proper requests (so that the paths past sign-in and parsing are reached often).
  const proper = rng() < 0.3;
  const method = proper ? "POST" : pick(rng, [
    "POST",
    "POST",
    "POST",
    "POST",
    "POST",
    "POST",
    "GET",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
  ]);
  const path = proper ? pick(rng, [...API_PATHS]) : pick(rng, [
    "/messages",
    "/messages",
    "/notifications",
    "/notifications",
    "/commands",
    "/commands",
    "/commands?x=1",
    "/messages/",
    "/MESSAGES",
    "/",
    "/healthz",
    "/readyz",
    "/%2e%2e/messages",
    `/${uuid(rng)}`,
  ]);
  const pathKind = path.startsWith("/notifications")
    ? "notification"
    : path.startsWith("/commands")
    ? "command"
    : "message";
  const auth = proper
    ? { kind: "valid", value: `Basic ${b64(`${HTTP_BOT.identity}:${HTTP_BOT.password}`)}` }
    : authorization(rng);
  const sent: { kind: string; bytes?: Uint8Array; slow?: boolean } = proper
    ? { kind: "right-kind", bytes: encoder.encode(envelopeOf(rng, pathKind)) }
    : method === "GET" || method === "OPTIONS"
    ? { kind: "none" }
    : body(rng, ctx, pathKind);
  bump(http.targets, `${method} ${path.length > 20 ? "/(random)" : path}`);
  bump(http.authorizations, auth.kind);
  bump(http.bodies, sent.kind);
  const headers = new Headers();
  if (auth.value !== undefined) headers.set("authorization", auth.value);
  const contentType = proper ? "application/json" : pick(rng, [
    "application/json",
    "application/json",
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    undefined,
  ]);
  if (contentType !== undefined) headers.set("content-type", contentType);
  let requestBody: BodyInit | undefined = sent.bytes as Uint8Array<ArrayBuffer> | undefined;
  // A slow body's pause, ended with the request (an answer may come before the body is sent).
  let pauseTimer: ReturnType<typeof setTimeout> | undefined;
  let endPause = () => {};
  if (sent.slow && sent.bytes) {
    // In pieces, a pause between them: sometimes past the body timeout (1 s).
    const bytes = sent.bytes;
    const pause = pick(rng, [10, 50, 1500]);
    requestBody = new ReadableStream<Uint8Array>({
      async start(controller) {
        const half = bytes.length >> 1;
        controller.enqueue(bytes.slice(0, half));
        await new Promise<void>((resolve) => {
          endPause = resolve;
          pauseTimer = setTimeout(resolve, pause);
        });
        try {
          controller.enqueue(bytes.slice(half));
          controller.close();
        } catch { /* the request was given up */ }
      },
    });
  }
  http.bytesSent += sent.bytes?.length ?? 0;
  const fail = (kind: string, message: string) =>
    ctx.fail({
      part: "server",
      index,
      kind: `http ${kind}`,
      message: `${method} ${path} (${auth.kind}, ${contentType}, ${sent.kind}): ${message}`,
      hex: sent.bytes ? toHex(sent.bytes, 4096) : undefined,
    });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), REQUEST_BOUND_MS);
  try {
    const response = await fetch(`http://${ctx.hostname}:${ctx.httpPort}${path}`, {
      method,
      headers,
      body: requestBody,
      signal: abort.signal,
      client: ctx.httpClient,
    });
    const text = await response.text();
    const status = response.status;
    let reasonCode: unknown;
    const problem = (() => {
      if (!STATUSES.has(status)) return `status ${status}`;
      // Other paths are the WebSocket endpoint's (a plain-text 400 to what is not an upgrade),
      // or the health checks'.
      if (!API_PATHS.has(new URL(path, "http://host").pathname)) return undefined;
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text);
      } catch {
        return method === "HEAD"
          ? undefined
          : `a ${status} whose body is not JSON: ${text.slice(0, 200)}`;
      }
      if (status >= 400) {
        const reason = json.reason as { code?: unknown; description?: unknown } | undefined;
        reasonCode = reason?.code;
        if (typeof reason?.code !== "number" || typeof reason.description !== "string") {
          return `a ${status} without a reason: ${text.slice(0, 200)}`;
        }
        if (status === 401 && !response.headers.get("www-authenticate")) {
          return "a 401 without WWW-Authenticate";
        }
      } else if (status === 202) {
        if (typeof json.id !== "string" || !json.id) return `a 202 without an id: ${text}`;
      } else if (status === 200) {
        try {
          const envelope = parseEnvelope(text) as unknown as Record<string, unknown>;
          if (!("status" in envelope)) return `a 200 that is not a response command: ${text}`;
        } catch (error) {
          return `a 200 that is not a valid envelope (${describe(error)}): ${text.slice(0, 200)}`;
        }
      }
      return undefined;
    })();
    bump(http.answers, reasonCode === undefined ? String(status) : `${status}/${reasonCode}`);
    if (problem) {
      report.crashes++;
      fail("bad answer", problem);
    }
  } catch (error) {
    if (abort.signal.aborted) {
      report.hangs++;
      fail("hang", `no answer within ${REQUEST_BOUND_MS} ms`);
    } else {
      // A refusal before the whole body was sent may reset the request: fine for a slow one.
      bump(http.answers, "connection error");
      if (!sent.slow && !(sent.bytes && sent.bytes.length > SERVER_MAX_ENVELOPE)) {
        report.crashes++;
        fail("connection", describe(error));
      }
    }
  } finally {
    clearTimeout(timer);
    clearTimeout(pauseTimer);
    endPause();
    const ms = performance.now() - t0;
    if (ms > report.slowestMs) {
      report.slowestMs = ms;
      report.slowestIndex = index;
    }
    http.requests++;
  }
}
