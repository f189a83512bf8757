/**
 * The lime-csharp / BLiP profile (lime-protocol §4.3 and §12): lime-csharp's
 * `ServerChannel.EstablishSessionAsync` with its `NodeRegistry`, and what BLiP's clients need.
 * What it reproduces on the wire:
 *
 * - envelopes back to back, nothing between them;
 * - negotiation only when there is a choice: TCP with a certificate offers `[none, tls]`
 *   encryption and `none` compression (no gzip in lime-csharp); WebSocket goes straight from
 *   `new` to `authenticating`;
 * - the TLS handshake asks for a client certificate (`clientCertificateRequired`), optional;
 * - the server's node is `postmaster@domain/#instance` (BLiP's shape), `from` of its session
 *   envelopes and of its command responses;
 * - schemes guest, plain, key (base64 secrets checked against the accounts) and transport (the
 *   TLS client certificate's CN must be the identity);
 * - failures with lime-csharp's codes: 11 (bad session id, establishment), 12 (registration),
 *   13 (authentication), 17 (negotiation option not offered);
 * - registration keeps the client's node, with `default` for a missing instance, and refuses a
 *   node already registered (12); `established` always carries `to`;
 * - `/ping` answered with `type` and `resource`, `set /presence` and `set /receipt` with success
 *   (blip-sdk needs all three), other requests with failure 62; a message with an id for a
 *   destination not connected gets a `failed` notification (42);
 * - on shutdown every established session gets `failed` 11 "The server is being shut down".
 * @module
 */
import type { Profile, WireReason } from "./profile.ts";
import type { Json } from "./wire.ts";

/** Options of the lime-csharp profile. */
export interface LimeCsharpOptions {
  /** The server's domain. Default `localhost`. */
  domain?: string;
  /** Plain accounts: identity name → password. */
  passwords?: Record<string, string>;
  /** Key accounts: identity name → key. */
  keys?: Record<string, string>;
}

const reason = (code: number, description: string): WireReason => ({ code, description });

/** Whether `secret` (base64) decodes to the account's secret. */
const matches = (accounts: Record<string, string> | undefined, name: string, secret: unknown) => {
  const expected = accounts?.[name];
  if (expected === undefined) return false;
  try {
    const bytes = Uint8Array.from(atob(String(secret)), (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes) === expected;
  } catch {
    return false;
  }
};

/** A lime-csharp (BLiP) server's behaviour. */
export function limeCsharpProfile(options: LimeCsharpOptions = {}): Profile {
  const domain = options.domain ?? "localhost";
  const node = `postmaster@${domain}/#server1`;
  const response = (request: Json, client: string, extra: Json): Json => ({
    id: request.id,
    from: node,
    to: client,
    method: request.method,
    ...extra,
  });
  return {
    name: "lime-csharp",
    domain,
    node,
    format: { encode: (envelope) => JSON.stringify(envelope), separator: "" },
    offer: (kind, tlsAvailable) => ({
      compression: ["none"],
      encryption: kind === "tcp" && tlsAvailable ? ["none", "tls"] : ["none"],
    }),
    requestClientCertificate: true,
    schemeOptions: ["guest", "plain", "key", "transport"],
    refusesNewWithId: false,
    reasons: {
      "session-id": reason(11, "Invalid session id"),
      negotiation: reason(17, "An invalid negotiation option was selected"),
      scheme: reason(11, "The session establishment failed"),
      registration: reason(12, "The session instance registration failed"),
      establishment: reason(11, "The session establishment failed"),
    },
    authenticate({ identity, name, scheme, authentication, certificateName }) {
      const accepted = scheme === "guest" ||
        (scheme === "plain" && matches(options.passwords, name, authentication.password)) ||
        (scheme === "key" && matches(options.keys, name, authentication.key)) ||
        (scheme === "transport" && certificateName?.toLowerCase() === identity.toLowerCase());
      return accepted ? undefined : reason(13, "The session authentication failed");
    },
    register(from, taken) {
      const [identity, instance] = from.split("/");
      if (!identity.includes("@")) return undefined;
      const assigned = `${identity}/${instance || "default"}`;
      return taken(assigned) ? undefined : assigned;
    },
    answer(request, client) {
      const path = String(request.uri ?? "").replace(/^lime:\/\/[^/]*/, "");
      if (request.method === "get" && path === "/ping") {
        return response(request, client, {
          status: "success",
          type: "application/vnd.lime.ping+json",
          resource: {},
        });
      }
      if (request.method === "set" && (path === "/presence" || path === "/receipt")) {
        return response(request, client, { status: "success" });
      }
      return response(request, client, {
        status: "failure",
        reason: reason(62, "No command processor available for the request"),
      });
    },
    notDelivered(message, client) {
      if (!message.id) return undefined;
      return {
        id: message.id,
        from: message.to,
        to: client,
        event: "failed",
        reason: reason(42, "Message destination not found"),
      };
    },
    goodbye: { state: "failed", reason: reason(11, "The server is being shut down") },
  };
}
