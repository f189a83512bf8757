/**
 * One session on a scripted server, the part every profile shares: the establishment as
 * lime-protocol §4.3 describes it (negotiation only when there is a choice, the TLS switch right
 * after the confirmation, authentication, registration, `established` with the assigned node),
 * then the established phase: requests to the server answered by the profile, messages,
 * notifications and commands routed to other sessions with `from` set to the sender's node, and
 * `finishing` answered with `finished`. The profile decides wherever servers differ.
 * @module
 */
import type { Hub } from "./hub.ts";
import type { Failure, Profile } from "./profile.ts";
import type { Json, Wire } from "./wire.ts";

/** Options of a session that tests set on the scripted server. */
export interface SessionOptions {
  /** Write the separator after the TLS confirmation in a later segment (TCP). */
  lateSeparatorBeforeTls?: boolean;
  /** Called with every envelope the server receives (tests inspect the client's wire). */
  onReceived?: (envelope: Json) => void;
}

const kindOf = (e: Json) =>
  "content" in e
    ? "message"
    : "event" in e
    ? "notification"
    : "method" in e
    ? "command"
    : "session";

/** Runs one connection's session to its end; closes the wire when done. */
export async function runSession(
  wire: Wire,
  profile: Profile,
  hub: Hub,
  options: SessionOptions = {},
): Promise<void> {
  const id = crypto.randomUUID();
  const from = profile.node;
  const receive = async () => {
    const envelope = await wire.receive();
    if (envelope) options.onReceived?.(envelope);
    return envelope;
  };
  const fail = (failure: Failure | { code: number; description?: string }) => {
    const reason = typeof failure === "string" ? profile.reasons[failure] : failure;
    wire.send({ id, from, state: "failed", reason });
    wire.close();
  };
  const first = await receive();
  if (!first) return;
  if (first.state !== "new" || (profile.refusesNewWithId && first.id)) return fail("session-id");
  const { compression, encryption } = profile.offer(wire.kind, wire.tlsAvailable);
  if (compression.length > 1 || encryption.length > 1) {
    wire.send({
      id,
      from,
      state: "negotiating",
      compressionOptions: compression,
      encryptionOptions: encryption,
    });
    const choice = await receive();
    if (!choice) return;
    if (choice.id !== id) return fail("session-id");
    const chosen = {
      compression: String(choice.compression),
      encryption: String(choice.encryption),
    };
    if (
      choice.state !== "negotiating" || !compression.includes(chosen.compression) ||
      !encryption.includes(chosen.encryption) || chosen.compression !== "none"
    ) return fail("negotiation");
    const tls = chosen.encryption === "tls";
    wire.send(
      { id, from, state: "negotiating", ...chosen },
      { lateSeparator: tls && options.lateSeparatorBeforeTls },
    );
    if (tls) {
      try {
        await wire.startTls({ requestCert: profile.requestClientCertificate });
      } catch {
        return wire.close();
      }
    }
  }
  wire.send({ id, from, state: "authenticating", schemeOptions: profile.schemeOptions });
  const login = await receive();
  if (!login) return;
  if (login.id !== id) return fail("session-id");
  if (login.state !== "authenticating" || typeof login.from !== "string") {
    return fail("establishment");
  }
  const scheme = String(login.scheme);
  if (!profile.schemeOptions.includes(scheme)) return fail("scheme");
  const identity = login.from.split("/")[0];
  const refusal = profile.authenticate({
    identity,
    name: identity.split("@")[0],
    scheme,
    authentication: (login.authentication ?? {}) as Json,
    certificateName: wire.peerCommonName,
  });
  if (refusal) return fail(refusal);
  const node = profile.register(login.from, (candidate) => hub.taken(candidate));
  if (!node) return fail("registration");
  const registered = { node, id, wire };
  hub.add(registered);
  wire.send({ id, from, to: node, state: "established" });
  try {
    await established(wire, profile, hub, node, id, receive);
  } finally {
    hub.remove(registered);
  }
}

/** Whether `to` is the server itself (its node, identity or domain), or absent. */
function forServer(to: unknown, profile: Profile): boolean {
  if (typeof to !== "string") return true;
  const identity = to.split("/")[0].toLowerCase();
  return identity === profile.node.split("/")[0].toLowerCase() ||
    identity === profile.domain.toLowerCase();
}

async function established(
  wire: Wire,
  profile: Profile,
  hub: Hub,
  node: string,
  id: string,
  receive: () => Promise<Json | undefined>,
): Promise<void> {
  for (;;) {
    const envelope = await receive();
    if (!envelope) return;
    const kind = kindOf(envelope);
    if (kind === "session") {
      wire.send({ id, from: profile.node, to: node, state: "finished" });
      return wire.close();
    }
    if (kind === "command" && forServer(envelope.to, profile)) {
      if (envelope.status === undefined) {
        const response = profile.answer(envelope, node);
        if (response) wire.send(response);
      }
      continue;
    }
    const target = typeof envelope.to === "string" ? hub.find(envelope.to) : undefined;
    if (target) target.send({ ...envelope, from: node });
    else if (kind === "message" && !forServer(envelope.to, profile)) {
      const notification = profile.notDelivered(envelope, node);
      if (notification) wire.send(notification);
    }
  }
}
