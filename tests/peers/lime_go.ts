/**
 * The lime-go profile (takenet/lime-go, its `Server` with the defaults of `NewServerConfig` and
 * the builder calls of its example server: guest and plain enabled, pings answered, `set
 * /presence` answered). What it reproduces on the wire:
 *
 * - every envelope is followed by `\n` (Go's `json.Encoder`), on TCP and in WebSocket messages
 *   (gorilla/websocket's `WriteJSON`), the TLS confirmation included; `<`, `>`, `&` in strings
 *   are written `\u003c`, `\u003e`, `\u0026` (Go's HTML-safe default);
 * - `schemeOptions` starts with `transport` (the default list, others appended by the builder);
 * - a guest's name must parse as a UUID (`uuid.Parse`), else `failed` with a bare `{"code":1}`
 *   (as issue 17 saw it; lime-go's source at 463631a writes the same code with the description
 *   "The session authentication failed": the bare form is the harder one for a client);
 * - every other session failure is code 1 with a description;
 * - registration keeps the client's name, puts the server's domain and a random UUID instance:
 *   the `to` of `established` is not the node the client asked for;
 * - `new` carrying an id is refused ("Invalid session id");
 * - TCP offers `[none, tls]` encryption and only `none` compression (no gzip in lime-go), so it
 *   negotiates; WebSocket has one option of each, so it goes from `new` to `authenticating`;
 * - the TLS handshake does not ask for a client certificate (Go's default `ClientAuth`);
 * - a response's `from` is the request's `to` and its `to` the request's sender, so a request
 *   without `to`/`from` gets a response without them; `/ping` answered with `type` and
 *   `resource`, `set /presence` (and, minimally, `set /receipt`) with a bare success; anything
 *   else is left unanswered (the example server's catch-all handler only logs);
 * - on shutdown every established session gets `finished`.
 * @module
 */
import type { Profile, WireReason } from "./profile.ts";
import type { Json } from "./wire.ts";

/** Options of the lime-go profile. */
export interface LimeGoOptions {
  /** The server's domain. Default `localhost`. */
  domain?: string;
  /** Plain accounts: name → password. */
  passwords?: Record<string, string>;
  /**
   * `EncryptionOptions` of the server. Default `["none", "tls"]`. lime-go's example server sets
   * `["tls"]` alone: one option left, so it does not negotiate and the session stays unencrypted.
   */
  encryption?: string[];
}

// uuid.Parse: 36 characters with dashes, the same in braces, with `urn:uuid:`, or 32 hex digits.
const UUID =
  /^(?:urn:uuid:|\{)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;

/** Go's `encoding/json`: HTML-safe by default, so `<`, `>`, `&`, U+2028 and U+2029 are escaped. */
const goJson = (value: unknown) =>
  JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

const failure = (description: string): WireReason => ({ code: 1, description });

const decode = (value: unknown) => {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(String(value)), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
};

/** A lime-go server's behaviour. */
export function limeGoProfile(options: LimeGoOptions = {}): Profile {
  const domain = options.domain ?? "localhost";
  const passwords = options.passwords ?? {};
  const response = (request: Json, extra: Json = {}): Json => ({
    id: request.id,
    ...(request.to ? { from: request.to } : {}),
    ...(request.pp ?? request.from ? { to: request.pp ?? request.from } : {}),
    method: request.method,
    status: "success",
    ...extra,
  });
  return {
    name: "lime-go",
    domain,
    node: `postmaster@${domain}/lime-go-host`, // os.Hostname() in lime-go
    format: { encode: goJson, separator: "\n" },
    offer: (kind, tlsAvailable) => ({
      compression: ["none"],
      encryption: (options.encryption ?? ["none", "tls"]).filter((option) =>
        option === "none" || (kind === "tcp" && tlsAvailable)
      ),
    }),
    requestClientCertificate: false,
    schemeOptions: ["transport", "guest", "plain"],
    refusesNewWithId: true,
    reasons: {
      "session-id": failure("Invalid session id"),
      negotiation: failure("An invalid negotiation option was selected"),
      scheme: failure("An invalid authentication scheme was selected"),
      registration: failure("The session establishment failed"),
      establishment: failure("Invalid session state"),
    },
    authenticate(login) {
      if (login.scheme === "guest") return UUID.test(login.name) ? undefined : { code: 1 };
      if (login.scheme === "plain") {
        const password = decode(login.authentication.password);
        if (password !== undefined && passwords[login.name] === password) return undefined;
      }
      return failure("The session authentication failed");
    },
    register: (from) => `${from.split("@")[0]}@${domain}/${crypto.randomUUID()}`,
    answer(request) {
      const path = String(request.uri ?? "").replace(/^lime:\/\/[^/]*/, "");
      if (request.method === "get" && path === "/ping") {
        return response(request, { type: "application/vnd.lime.ping+json", resource: {} });
      }
      if (request.method === "set" && (path === "/presence" || path === "/receipt")) {
        return response(request);
      }
      return undefined;
    },
    notDelivered: () => undefined,
    goodbye: { state: "finished" },
  };
}
