import assert from "node:assert/strict";
import { parseEnvelope, serializeEnvelope } from "../src/codec.ts";
import {
  Command,
  type Envelope,
  type EnvelopeKind,
  envelopeKind,
  isCommand,
  isMessage,
  isNotification,
  isResponse,
  isSession,
  Message,
  Notification,
  Session,
} from "../src/envelope.ts";
import {
  AuthenticationScheme,
  CommandMethod,
  CommandStatus,
  NotificationEvent,
  SessionCompression,
  SessionEncryption,
  SessionState,
} from "../src/generated/enums.generated.ts";
import { ReasonCode } from "../src/generated/reasons.generated.ts";
import { EXPLAINERS } from "../src/generated/explain.generated.ts";
import { DOCUMENT_TYPES, ENVELOPE_KINDS } from "../src/generated/registry.generated.ts";
import { DOCUMENT_SCHEMAS, ENVELOPE_SCHEMAS } from "../src/generated/validators.generated.ts";
import { LimeUri } from "../src/lime_uri.ts";
import { MediaType } from "../src/media_type.ts";
import { Node } from "../src/node.ts";

// ------------------------------------------------------------------------------------------------
// Helpers

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Json = Record<string, unknown>;

/** Asserts the kind by `envelopeKind` and that exactly the matching guard says yes. */
function assertKind(envelope: Envelope, kind: EnvelopeKind): void {
  assert.equal(envelopeKind(envelope), kind);
  assert.deepEqual(
    {
      message: isMessage(envelope),
      notification: isNotification(envelope),
      command: isCommand(envelope),
      session: isSession(envelope),
    },
    {
      message: kind === "message",
      notification: kind === "notification",
      command: kind === "command",
      session: kind === "session",
    },
  );
}

function asMessage(envelope: Envelope): Message {
  assertKind(envelope, "message");
  assert.ok(isMessage(envelope));
  return envelope;
}

function asNotification(envelope: Envelope): Notification {
  assertKind(envelope, "notification");
  assert.ok(isNotification(envelope));
  return envelope;
}

function asCommand(envelope: Envelope): Command {
  assertKind(envelope, "command");
  assert.ok(isCommand(envelope));
  return envelope;
}

function asSession(envelope: Envelope): Session {
  assertKind(envelope, "session");
  assert.ok(isSession(envelope));
  return envelope;
}

function assertNode(
  value: string | undefined,
  name: string | undefined,
  domain: string | undefined,
  instance: string | undefined,
): void {
  assert.equal(typeof value, "string");
  const node = Node.parse(value as string);
  assert.equal(node.name, name);
  assert.equal(node.domain, domain);
  assert.equal(node.instance, instance);
}

function base64Utf8(value: unknown): string {
  assert.equal(typeof value, "string");
  return new TextDecoder().decode(Uint8Array.from(atob(value as string), (c) => c.charCodeAt(0)));
}

/** parse → serialize → JSON.parse gives back the input (key order aside). */
function assertRoundTrip(text: string, expected: unknown = JSON.parse(text)): void {
  const serialized = serializeEnvelope(parseEnvelope(text));
  assert.deepStrictEqual(JSON.parse(serialized), expected);
  // Compact output: no whitespace outside strings is ever added.
  assert.equal(serialized, JSON.stringify(JSON.parse(serialized)));
}

// ------------------------------------------------------------------------------------------------
// lime-protocol.md §8 test vectors, copied verbatim.

const VECTORS: [string, string, (e: Envelope) => void][] = [
  [
    "T1 (client new session)",
    `{"state":"new"}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.New);
      assert.equal(s.id, undefined);
      assert.equal(s.from, undefined);
      assert.equal(s.to, undefined);
      assert.deepEqual(Object.keys(s), ["state"]);
    },
  ],
  [
    "T2 (negotiating offer)",
    `{"id":"d35ad2be-9aa9-4825-9096-d6332655ed1d","from":"server@breakingbad.com/server1","state":"negotiating","encryptionOptions":["none","tls"],"compressionOptions":["none","gzip"]}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Negotiating);
      assert.equal(s.id, "d35ad2be-9aa9-4825-9096-d6332655ed1d");
      assertNode(s.from, "server", "breakingbad.com", "server1");
      assert.deepEqual(s.encryptionOptions, [SessionEncryption.None, SessionEncryption.Tls]);
      assert.deepEqual(s.compressionOptions, [SessionCompression.None, SessionCompression.Gzip]);
      assert.equal(s.encryption, undefined);
      assert.equal(s.compression, undefined);
    },
  ],
  [
    "T3 (negotiating choice)",
    `{"id":"d35ad2be-9aa9-4825-9096-d6332655ed1d","state":"negotiating","encryption":"tls","compression":"none"}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Negotiating);
      assert.equal(s.id, "d35ad2be-9aa9-4825-9096-d6332655ed1d");
      assert.equal(s.encryption, SessionEncryption.Tls);
      assert.equal(s.compression, SessionCompression.None);
      assert.equal(s.encryptionOptions, undefined);
      assert.equal(s.from, undefined);
    },
  ],
  [
    "T4 (authenticating offer)",
    `{"id":"d35ad2be-9aa9-4825-9096-d6332655ed1d","from":"server@breakingbad.com/server1","state":"authenticating","schemeOptions":["guest","plain"]}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Authenticating);
      assert.deepEqual(s.schemeOptions, [AuthenticationScheme.Guest, AuthenticationScheme.Plain]);
      assert.equal(s.scheme, undefined);
      assert.equal(s.authentication, undefined);
      assertNode(s.from, "server", "breakingbad.com", "server1");
    },
  ],
  [
    "T5 (plain authentication)",
    `{"id":"d35ad2be-9aa9-4825-9096-d6332655ed1d","from":"gale@breakingbad.com/lab","state":"authenticating","scheme":"plain","authentication":{"password":"aWxvdmV1d3c="}}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Authenticating);
      assert.equal(s.scheme, AuthenticationScheme.Plain);
      assert.deepEqual(s.authentication, { password: "aWxvdmV1d3c=" });
      assert.equal(base64Utf8(s.authentication?.password), "iloveuww");
      assertNode(s.from, "gale", "breakingbad.com", "lab");
    },
  ],
  [
    "T6 (established)",
    `{"id":"d35ad2be-9aa9-4825-9096-d6332655ed1d","from":"server@breakingbad.com","to":"gale@breakingbad.com/lab","state":"established"}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Established);
      assertNode(s.from, "server", "breakingbad.com", undefined);
      assertNode(s.to, "gale", "breakingbad.com", "lab");
    },
  ],
  [
    "T7 (finishing)",
    `{"id":"d35ad2be-9aa9-4825-9096-d6332655ed1d","state":"finishing"}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Finishing);
      assert.equal(s.id, "d35ad2be-9aa9-4825-9096-d6332655ed1d");
      assert.equal(s.from, undefined);
    },
  ],
  [
    "T8 (finished)",
    `{"id":"d35ad2be-9aa9-4825-9096-d6332655ed1d","from":"server@breakingbad.com/server1","state":"finished"}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Finished);
      assertNode(s.from, "server", "breakingbad.com", "server1");
    },
  ],
  [
    "T10 (guest scheme without authentication)",
    `{"state":"authenticating","scheme":"guest","id":"feeb88e2-c209-40cd-b8ab-e14aeebe57ab","from":"ca6829ff-1ac8-4dad-ad78-c25a3e4f8f7b@takenet.com.br/MINELLI-NOTE"}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.state, SessionState.Authenticating);
      assert.equal(s.scheme, AuthenticationScheme.Guest);
      assert.equal(s.authentication, undefined);
      assert.equal(s.id, "feeb88e2-c209-40cd-b8ab-e14aeebe57ab");
      assertNode(s.from, "ca6829ff-1ac8-4dad-ad78-c25a3e4f8f7b", "takenet.com.br", "MINELLI-NOTE");
    },
  ],
  [
    "T11 (external authentication)",
    `{"state":"authenticating","scheme":"external","authentication":{"token":"dFJZMTRXOE03NHBtcmZRNGY3NFo=","issuer":"take.net"},"id":"ec9c196c-da09-43b0-923b-8ec162705c32","from":"andre@takenet.com.br/MINELLI-NOTE"}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.scheme, AuthenticationScheme.External);
      assert.deepEqual(s.authentication, {
        token: "dFJZMTRXOE03NHBtcmZRNGY3NFo=",
        issuer: "take.net",
      });
      assert.equal(s.id, "ec9c196c-da09-43b0-923b-8ec162705c32");
      assertNode(s.from, "andre", "takenet.com.br", "MINELLI-NOTE");
    },
  ],
  [
    "T12 (key authentication)",
    `{"id":"4609d0a3-00eb-4e16-9d44-27d115c6eb31","from":"golang@limeprotocol.org/default","to":"postmaster@limeprotocol.org/#server1","state":"authenticating","scheme":"key","authentication":{"key":"bXl2ZXJ5c2VjcmV0cGFzc3dvcmQ="}}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.scheme, AuthenticationScheme.Key);
      assert.deepEqual(s.authentication, { key: "bXl2ZXJ5c2VjcmV0cGFzc3dvcmQ=" });
      assert.equal(base64Utf8(s.authentication?.key), "myverysecretpassword");
      assertNode(s.from, "golang", "limeprotocol.org", "default");
      assertNode(s.to, "postmaster", "limeprotocol.org", "#server1");
    },
  ],
  [
    "T13 (transport authentication)",
    `{"id":"4609d0a3-00eb-4e16-9d44-27d115c6eb31","from":"golang@limeprotocol.org/default","to":"postmaster@limeprotocol.org/#server1","state":"authenticating","scheme":"transport","authentication":{}}`,
    (e) => {
      const s = asSession(e);
      assert.equal(s.scheme, AuthenticationScheme.Transport);
      assert.deepEqual(s.authentication, {});
    },
  ],
  [
    "T15 (fire-and-forget text message)",
    `{"from":"skyler@breakingbad.com/bedroom","to":"ww@breakingbad.com","type":"text/plain","content":"Walter, are you in danger?"}`,
    (e) => {
      const m = asMessage(e);
      assert.equal(m.id, undefined);
      assert.equal(m.type, "text/plain");
      assert.equal(m.content, "Walter, are you in danger?");
      assertNode(m.from, "skyler", "breakingbad.com", "bedroom");
      assertNode(m.to, "ww", "breakingbad.com", undefined);
    },
  ],
  [
    "T17 (unknown text type)",
    `{"id":"4609d0a3-00eb-4e16-9d44-27d115c6eb31","to":"golang@limeprotocol.org/default","type":"text/unknown","content":"Hello world"}`,
    (e) => {
      const m = asMessage(e);
      assert.equal(m.id, "4609d0a3-00eb-4e16-9d44-27d115c6eb31");
      const type = MediaType.parse(m.type);
      assert.equal(type.type, "text");
      assert.equal(type.subtype, "unknown");
      assert.equal(type.suffix, undefined);
      assert.equal(type.isJson, false);
      assert.equal(m.content, "Hello world");
    },
  ],
  [
    "T18 (unknown +json type)",
    `{"id":"4609d0a3-00eb-4e16-9d44-27d115c6eb31","to":"golang@limeprotocol.org/default","type":"application/x-unknown+json","content":{"property1":"value1", "property2":2,"property3":{"subproperty1":"subvalue1"},"property4":false,"property5":12.3}}`,
    (e) => {
      const m = asMessage(e);
      assert.equal(m.type, "application/x-unknown+json");
      assert.equal(MediaType.parse(m.type).suffix, "json");
      assert.deepEqual(m.content, {
        property1: "value1",
        property2: 2,
        property3: { subproperty1: "subvalue1" },
        property4: false,
        property5: 12.3,
      });
    },
  ],
  [
    "T19 (received notification)",
    `{"id":"48600604-ce09-479c-b985-1195b196fe8e","from":"skyler@breakingbad.com/bedroom","to":"heisenberg@breakingbad.com/bedroom","event":"received"}`,
    (e) => {
      const n = asNotification(e);
      assert.equal(n.id, "48600604-ce09-479c-b985-1195b196fe8e");
      assert.equal(n.event, NotificationEvent.Received);
      assert.equal(n.reason, undefined);
      assertNode(n.from, "skyler", "breakingbad.com", "bedroom");
      assertNode(n.to, "heisenberg", "breakingbad.com", "bedroom");
    },
  ],
  [
    "T20 (failed notification)",
    `{"id":"9d0c4fea-75c7-432a-a164-c1a219bc17a8","to":"skyler@breakingbad.com/bedroom","event":"failed","reason":{"code":42,"description":"The message destination was not found"}}`,
    (e) => {
      const n = asNotification(e);
      assert.equal(n.event, NotificationEvent.Failed);
      assert.equal(n.from, undefined);
      assert.deepEqual(n.reason, {
        code: ReasonCode.ROUTING_DESTINATION_NOT_FOUND,
        description: "The message destination was not found",
      });
      assert.equal(n.reason?.code, 42);
    },
  ],
  [
    "T21 (set presence request)",
    `{"id":"9cbe5fe1-b6b2-4afe-ab12-0675aa139f36","from":"jesse@breakingbad.com/home","method":"set","uri":"/presence","type":"application/vnd.lime.presence+json","resource":{"status":"available","message":"Yo 148, 3-to-the-3-to-the-6-to-the-9. Representin' the ABQ. What up, biatch?"}}`,
    (e) => {
      const c = asCommand(e);
      assert.equal(c.id, "9cbe5fe1-b6b2-4afe-ab12-0675aa139f36");
      assert.equal(c.method, CommandMethod.Set);
      assert.equal(c.uri, "/presence");
      assert.equal(LimeUri.parse(c.uri as string).path, "/presence");
      assert.equal(c.status, undefined);
      assert.equal(isResponse(c), false);
      assert.equal(c.type, "application/vnd.lime.presence+json");
      assert.deepEqual(c.resource, {
        status: "available",
        message: "Yo 148, 3-to-the-3-to-the-6-to-the-9. Representin' the ABQ. What up, biatch?",
      });
    },
  ],
  [
    "T22 (success response without resource)",
    `{"id":"9cbe5fe1-b6b2-4afe-ab12-0675aa139f36","from":"server@breakingbad.com","method":"set","status":"success"}`,
    (e) => {
      const c = asCommand(e);
      assert.equal(c.id, "9cbe5fe1-b6b2-4afe-ab12-0675aa139f36");
      assert.equal(c.method, CommandMethod.Set);
      assert.equal(c.status, CommandStatus.Success);
      assert.equal(isResponse(c), true);
      assert.equal(c.uri, undefined);
      assert.equal(c.resource, undefined);
      assert.equal(c.type, undefined);
    },
  ],
  [
    "T24 (collection of contacts)",
    `{"id":"2","from":"postmaster@localhost/server1","method":"get","status":"success","type":"application/vnd.lime.collection+json","resource":{"total":2,"itemType":"application/vnd.lime.contact+json","items":[{"identity":"john@localhost","name":"John Doe"},{"identity":"mary@localhost","name":"Mary Jane"}]}}`,
    (e) => {
      const c = asCommand(e);
      assert.equal(c.id, "2");
      assert.equal(c.method, CommandMethod.Get);
      assert.equal(c.status, CommandStatus.Success);
      assert.equal(c.type, "application/vnd.lime.collection+json");
      const collection = c.resource as { total: number; itemType: string; items: Json[] };
      assert.equal(collection.total, 2);
      assert.equal(collection.itemType, "application/vnd.lime.contact+json");
      assert.deepEqual(collection.items, [
        { identity: "john@localhost", name: "John Doe" },
        { identity: "mary@localhost", name: "Mary Jane" },
      ]);
      const contact = DOCUMENT_TYPES.get(collection.itemType);
      assert.ok(contact);
      for (const item of collection.items) assert.ok(contact.check(item));
    },
  ],
  [
    "T25 (failure response)",
    `{"id":"4609d0a3-00eb-4e16-9d44-27d115c6eb31","from":"postmaster@limeprotocol.org/#server1","to":"golang@limeprotocol.org/default","method":"set","status":"failure","reason":{"code":101,"description":"The resource was not found"}}`,
    (e) => {
      const c = asCommand(e);
      assert.equal(c.method, CommandMethod.Set);
      assert.equal(c.status, CommandStatus.Failure);
      assert.deepEqual(c.reason, { code: 101, description: "The resource was not found" });
      assert.equal(c.reason?.code, ReasonCode.APPLICATION_ERROR);
    },
  ],
  [
    "T26 (ping request with type and no resource)",
    `{"id":"4609d0a3-00eb-4e16-9d44-27d115c6eb31","to":"golang@limeprotocol.org/default","type":"text/plain","method":"get","uri":"/ping"}`,
    (e) => {
      const c = asCommand(e);
      assert.equal(c.method, CommandMethod.Get);
      assert.equal(c.uri, "/ping");
      assert.equal(c.type, "text/plain");
      assert.equal("resource" in c, false);
      assert.equal(c.status, undefined);
      assert.equal(isResponse(c), false);
    },
  ],
  [
    "T29 (collection of plain-text items)",
    `{"from":"ww@breakingbad.com","to":"jesse@breakingbad.com","type":"application/vnd.lime.collection+json","content":{"itemType":"text/plain","items":["methylamine","acetic acid","phenyl acetic acid"]}}`,
    (e) => {
      const m = asMessage(e);
      assert.equal(m.id, undefined);
      assert.equal(m.type, "application/vnd.lime.collection+json");
      assert.deepEqual(m.content, {
        itemType: "text/plain",
        items: ["methylamine", "acetic acid", "phenyl acetic acid"],
      });
    },
  ],
];

for (const [name, text, check] of VECTORS) {
  Deno.test(`parseEnvelope reads vector ${name}`, () => {
    check(parseEnvelope(text));
  });

  Deno.test(`serializeEnvelope round-trips vector ${name}`, () => {
    assertRoundTrip(text);
  });
}

Deno.test("parseEnvelope reads every §8 vector with the same result from bytes", () => {
  for (const [name, text] of VECTORS) {
    const bytes = new TextEncoder().encode(text);
    assert.deepStrictEqual(parseEnvelope(bytes), parseEnvelope(text), name);
  }
});

// ------------------------------------------------------------------------------------------------
// Constructed envelopes

Deno.test("serializeEnvelope writes new Message('text/plain', 'Hello!') compactly", () => {
  const message = new Message("text/plain", "Hello!");
  assert.equal(serializeEnvelope(message), `{"type":"text/plain","content":"Hello!"}`);
  assertKind(message, "message");
  const parsed = asMessage(parseEnvelope(serializeEnvelope(message)));
  assert.equal(parsed.type, "text/plain");
  assert.equal(parsed.content, "Hello!");
});

Deno.test("serializeEnvelope round-trips a Message with base fields and a JSON content", () => {
  const message = new Message(
    MediaType.parse("application/vnd.lime.chatstate+json"),
    { state: "composing" },
    {
      id: "m1",
      from: Node.parse("ww@breakingbad.com/lab"),
      to: "jesse@breakingbad.com",
      pp: "saul@breakingbad.com/office",
      metadata: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    },
  );
  const text = serializeEnvelope(message);
  assert.deepStrictEqual(JSON.parse(text), {
    id: "m1",
    from: "ww@breakingbad.com/lab",
    to: "jesse@breakingbad.com",
    pp: "saul@breakingbad.com/office",
    metadata: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    type: "application/vnd.lime.chatstate+json",
    content: { state: "composing" },
  });
  assertRoundTrip(text);
});

Deno.test("new Command gets a UUID v4 id and serializes a request", () => {
  const command = new Command(CommandMethod.Get, "/ping");
  assert.match(command.id as string, UUID_V4);
  assert.notEqual(new Command(CommandMethod.Get, "/ping").id, command.id);
  assertKind(command, "command");
  const text = serializeEnvelope(command);
  assert.deepStrictEqual(JSON.parse(text), { id: command.id, method: "get", uri: "/ping" });
  const parsed = asCommand(parseEnvelope(text));
  assert.equal(parsed.id, command.id);
  assert.equal(isResponse(parsed), false);
  assertRoundTrip(text);
});

Deno.test("new Command keeps a given id and serializes a response with a resource", () => {
  const command = new Command(CommandMethod.Get, undefined, {
    id: "c1",
    to: "golang@limeprotocol.org/default",
    status: CommandStatus.Success,
    type: "application/vnd.lime.ping+json",
    resource: {},
  });
  assert.equal(command.id, "c1");
  const text = serializeEnvelope(command);
  assert.deepStrictEqual(JSON.parse(text), {
    id: "c1",
    to: "golang@limeprotocol.org/default",
    method: "get",
    status: "success",
    type: "application/vnd.lime.ping+json",
    resource: {},
  });
  assert.equal(isResponse(asCommand(parseEnvelope(text))), true);
  assertRoundTrip(text);
});

Deno.test("new Session with options serializes and round-trips", () => {
  const session = new Session(SessionState.Negotiating, {
    id: "d35ad2be-9aa9-4825-9096-d6332655ed1d",
    from: "server@breakingbad.com/server1",
    encryptionOptions: [SessionEncryption.None, SessionEncryption.Tls],
    compressionOptions: [SessionCompression.None],
  });
  const text = serializeEnvelope(session);
  assert.deepStrictEqual(JSON.parse(text), {
    id: "d35ad2be-9aa9-4825-9096-d6332655ed1d",
    from: "server@breakingbad.com/server1",
    state: "negotiating",
    encryptionOptions: ["none", "tls"],
    compressionOptions: ["none"],
  });
  const parsed = asSession(parseEnvelope(text));
  assert.deepEqual(parsed.encryptionOptions, ["none", "tls"]);
  assert.deepEqual(parsed.compressionOptions, ["none"]);
  assertRoundTrip(text);
});

Deno.test("new Session with authentication serializes and round-trips", () => {
  const session = new Session(SessionState.Authenticating, {
    id: "s1",
    from: "gale@breakingbad.com/lab",
    scheme: AuthenticationScheme.Plain,
    authentication: { password: btoa("iloveuww") },
  });
  const text = serializeEnvelope(session);
  assert.deepStrictEqual(JSON.parse(text), {
    id: "s1",
    from: "gale@breakingbad.com/lab",
    state: "authenticating",
    scheme: "plain",
    authentication: { password: "aWxvdmV1d3c=" },
  });
  assertRoundTrip(text);
});

Deno.test("new Notification with a reason serializes and round-trips", () => {
  const notification = new Notification(NotificationEvent.Failed, {
    id: "m1",
    to: "skyler@breakingbad.com/bedroom",
    reason: { code: 42, description: "The message destination was not found" },
  });
  assertKind(notification, "notification");
  const text = serializeEnvelope(notification);
  assert.deepStrictEqual(JSON.parse(text), {
    id: "m1",
    to: "skyler@breakingbad.com/bedroom",
    event: "failed",
    reason: { code: 42, description: "The message destination was not found" },
  });
  assertRoundTrip(text);
});

Deno.test("serializeEnvelope leaves out null and undefined envelope fields", () => {
  const message = new Message("text/plain", "x", { id: "1" });
  (message as unknown as Json).from = null;
  (message as unknown as Json).to = undefined;
  assert.deepStrictEqual(JSON.parse(serializeEnvelope(message)), {
    id: "1",
    type: "text/plain",
    content: "x",
  });
});

// ------------------------------------------------------------------------------------------------
// Wire tolerance

Deno.test("parseEnvelope accepts explicit nulls and drops them", () => {
  const text = `{"id":"1","from":null,"to":null,"type":"text/plain","content":"x"}`;
  const m = asMessage(parseEnvelope(text));
  assert.equal("from" in m, false);
  assert.equal("to" in m, false);
  assert.deepStrictEqual({ ...m }, { id: "1", type: "text/plain", content: "x" });
  assert.equal(serializeEnvelope(m), `{"id":"1","type":"text/plain","content":"x"}`);
});

Deno.test("parseEnvelope accepts explicit nulls on session options (cs serializer test)", () => {
  const text =
    `{"state":"new","id":null,"from":null,"encryptionOptions":null,"compressionOptions":null,"scheme":null,"authentication":null,"reason":null,"metadata":null}`;
  const s = asSession(parseEnvelope(text));
  assert.deepStrictEqual({ ...s }, { state: "new" });
  assertRoundTrip(text, { state: "new" });
});

Deno.test("parseEnvelope accepts an explicit null uri in a response and a null resource", () => {
  const text =
    `{"id":"1","method":"get","uri":null,"status":"success","type":null,"resource":null,"reason":null}`;
  const c = asCommand(parseEnvelope(text));
  assert.deepStrictEqual({ ...c }, { id: "1", method: "get", status: "success" });
});

Deno.test("parseEnvelope keeps nulls inside documents (they are data)", () => {
  const text = `{"type":"application/json","content":{"a":null,"b":[null,1]}}`;
  const m = asMessage(parseEnvelope(text));
  assert.deepStrictEqual(m.content, { a: null, b: [null, 1] });
  assertRoundTrip(text);
});

Deno.test("parseEnvelope ignores and keeps unknown keys", () => {
  const text =
    `{"id":"1","type":"text/plain","content":"x","mode":"node","x-extra":{"a":[1,2]},"priority":3}`;
  const m = asMessage(parseEnvelope(text)) as unknown as Json;
  assert.equal(m.mode, "node");
  assert.deepEqual(m["x-extra"], { a: [1, 2] });
  assert.equal(m.priority, 3);
  assertRoundTrip(text);
});

Deno.test("parseEnvelope ignores a historic session mode and unknown keys in documents", () => {
  const session = `{"state":"new","mode":"node"}`;
  assert.equal((asSession(parseEnvelope(session)) as unknown as Json).mode, "node");
  assertRoundTrip(session);
  const presence =
    `{"id":"1","method":"set","uri":"/presence","type":"application/vnd.lime.presence+json","resource":{"status":"available","futureField":{"x":1}}}`;
  assertRoundTrip(presence);
});

Deno.test("parseEnvelope accepts authentication with an inner scheme key (lime-js)", () => {
  const text =
    `{"id":"s1","from":"bot@msging.net/default","state":"authenticating","scheme":"plain","authentication":{"scheme":"plain","password":"MTIzNDU2"}}`;
  const s = asSession(parseEnvelope(text));
  assert.equal(s.scheme, AuthenticationScheme.Plain);
  assert.deepEqual(s.authentication, { scheme: "plain", password: "MTIzNDU2" });
  assertRoundTrip(text);
});

Deno.test("parseEnvelope accepts authentication whose scheme is only inside the object", () => {
  const text =
    `{"id":"s1","from":"bot@msging.net/default","state":"authenticating","authentication":{"scheme":"key","key":"a2V5"}}`;
  const s = asSession(parseEnvelope(text));
  assert.equal(s.scheme, undefined);
  assert.deepEqual(s.authentication, { scheme: "key", key: "a2V5" });
  assertRoundTrip(text);
});

Deno.test("parseEnvelope accepts unknown keys in authentication (lime-java sender)", () => {
  const text =
    `{"id":"s1","from":"a@b/c","state":"authenticating","scheme":"key","authentication":{"key":"a2V5","sender":"a@b"}}`;
  assertRoundTrip(text);
});

Deno.test("parseEnvelope accepts a new session with an id (lime-python)", () => {
  const text = `{"id":"5b0ad1d5-3c4a-4b3e-9e2a-6f1c2d3e4f50","state":"new"}`;
  const s = asSession(parseEnvelope(text));
  assert.equal(s.state, SessionState.New);
  assert.equal(s.id, "5b0ad1d5-3c4a-4b3e-9e2a-6f1c2d3e4f50");
  assertRoundTrip(text);
});

Deno.test("parseEnvelope accepts a failed session with a reason", () => {
  const text =
    `{"id":"s1","from":"server@breakingbad.com/server1","state":"failed","reason":{"code":13,"description":"The authentication failed"}}`;
  const s = asSession(parseEnvelope(text));
  assert.equal(s.state, SessionState.Failed);
  assert.deepEqual(s.reason, {
    code: ReasonCode.SESSION_AUTHENTICATION_FAILED,
    description: "The authentication failed",
  });
  assertRoundTrip(text);
});

Deno.test("parseEnvelope accepts metadata with a null value (blip-sdk) and serializeEnvelope drops it", () => {
  const text =
    `{"id":"m1","to":"contact@wa.gw.msging.net","event":"consumed","metadata":{"#message.to":"bot@msging.net/default","#message.uniqueId":null}}`;
  const n = asNotification(parseEnvelope(text));
  assert.equal(n.event, NotificationEvent.Consumed);
  assert.deepStrictEqual(n.metadata, {
    "#message.to": "bot@msging.net/default",
    "#message.uniqueId": null,
  });
  assert.deepStrictEqual(JSON.parse(serializeEnvelope(n)), {
    id: "m1",
    to: "contact@wa.gw.msging.net",
    event: "consumed",
    metadata: { "#message.to": "bot@msging.net/default" },
  });
});

Deno.test("parseEnvelope reads UTF-8 bytes (Uint8Array), non-ASCII text included", () => {
  const text =
    `{"id":"1","from":"josé@exemplo.com.br/café","type":"text/plain","content":"Olá, ☕ 😀 — ação"}`;
  const m = asMessage(parseEnvelope(new TextEncoder().encode(text)));
  assert.equal(m.content, "Olá, ☕ 😀 — ação");
  assertNode(m.from, "josé", "exemplo.com.br", "café");
  assert.deepStrictEqual(JSON.parse(serializeEnvelope(m)), JSON.parse(text));
});

Deno.test("parseEnvelope reads bytes of a subarray view", () => {
  const bytes = new TextEncoder().encode(`xx{"state":"new"}yy`);
  const s = asSession(parseEnvelope(bytes.subarray(2, bytes.length - 2)));
  assert.equal(s.state, SessionState.New);
});

Deno.test("parseEnvelope tolerates whitespace around and inside the object", () => {
  const text = ` \n\t{ "state" : "new" ,\r\n "id" : "1" }\n `;
  assert.deepStrictEqual({ ...asSession(parseEnvelope(text)) }, { state: "new", id: "1" });
});

Deno.test("parseEnvelope tells kinds apart by key presence, content first (§1.6)", () => {
  // A message that also carries event/method/state keys is still a message.
  const m = parseEnvelope(
    `{"state":"new","method":"get","event":"received","type":"text/plain","content":"x"}`,
  );
  assertKind(m, "message");
  // event before method before state.
  assertKind(
    parseEnvelope(`{"id":"1","state":"new","method":"get","event":"received"}`),
    "notification",
  );
  assertKind(parseEnvelope(`{"id":"1","state":"new","method":"get","uri":"/ping"}`), "command");
});

// ------------------------------------------------------------------------------------------------
// Generic documents

Deno.test("parseEnvelope reads an unknown +json type as a generic JSON object", () => {
  const text =
    `{"id":"1","type":"application/vnd.example.thing+json","content":{"list":[1,"two",{"three":3}],"nested":{"deep":{"deeper":true}},"n":-1.5e3}}`;
  const m = asMessage(parseEnvelope(text));
  assert.deepStrictEqual(m.content, {
    list: [1, "two", { three: 3 }],
    nested: { deep: { deeper: true } },
    n: -1500,
  });
  assertRoundTrip(text);
});

Deno.test("parseEnvelope reads an unknown text type as a string", () => {
  for (
    const [type, content] of [
      ["text/markdown", "**bold** _it_"],
      ["text/x-unknown", ""],
      [
        "image/png",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
      ],
      ["application/vnd.example.binary", "AAEC"],
    ]
  ) {
    const text = JSON.stringify({ id: "1", type, content });
    const m = asMessage(parseEnvelope(text));
    assert.equal(m.content, content, type);
    assertRoundTrip(text);
  }
});

Deno.test("parseEnvelope accepts media type parameters (cs drops them)", () => {
  const text = `{"id":"1","type":"text/plain; charset=utf-8","content":"hi"}`;
  const m = asMessage(parseEnvelope(text));
  assert.equal(m.type, "text/plain; charset=utf-8");
  assert.equal(MediaType.parse(m.type).toString(), "text/plain");
  assertRoundTrip(text);
});

Deno.test("parseEnvelope matches registered media types case-insensitively", () => {
  const text =
    `{"id":"1","type":"Application/VND.Lime.Location+JSON","content":{"latitude":-19.9,"longitude":-43.9}}`;
  assertRoundTrip(text);
});

Deno.test("parseEnvelope reads a collection of containers of mixed types", () => {
  const text =
    `{"id":"1","to":"jesse@breakingbad.com","type":"application/vnd.lime.collection+json","content":{"itemType":"application/vnd.lime.container+json","total":4,"items":[{"type":"text/plain","value":"Hello"},{"type":"application/vnd.lime.media-link+json","value":{"type":"image/jpeg","uri":"https://example.com/cat.jpg","size":227791}},{"type":"application/vnd.lime.chatstate+json","value":{"state":"composing"}},{"type":"application/x-custom+json","value":{"any":["thing"]}}]}}`;
  const m = asMessage(parseEnvelope(text));
  const content = m.content as { itemType: string; total: number; items: Json[] };
  assert.equal(content.itemType, "application/vnd.lime.container+json");
  assert.equal(content.total, 4);
  assert.deepEqual(content.items.map((i) => i.type), [
    "text/plain",
    "application/vnd.lime.media-link+json",
    "application/vnd.lime.chatstate+json",
    "application/x-custom+json",
  ]);
  assert.equal(content.items[0].value, "Hello");
  assertRoundTrip(text);
});

Deno.test("parseEnvelope reads a command whose resource is a collection of collections", () => {
  const text =
    `{"id":"1","method":"get","status":"success","type":"application/vnd.lime.collection+json","resource":{"itemType":"application/vnd.lime.collection+json","items":[{"itemType":"text/plain","items":["a"]},{"itemType":"application/vnd.lime.identity","items":["a@b","c@d"]}]}}`;
  assertRoundTrip(text);
});

Deno.test("parseEnvelope reads an empty collection", () => {
  const text =
    `{"id":"1","method":"get","status":"success","type":"application/vnd.lime.collection+json","resource":{"itemType":"application/vnd.lime.contact+json","items":[]}}`;
  assertRoundTrip(text);
});

// ------------------------------------------------------------------------------------------------
// One sample of every registered document type (§2.7), carried as a message content.

const DOCUMENT_SAMPLES: [string, unknown][] = [
  ["text/plain", "Hello, world"],
  ["application/json", { key1: "value1", key2: 2, key3: [true, null], key4: { a: "b" } }],
  [
    "application/vnd.lime.collection+json",
    { itemType: "text/plain", total: 2, items: ["first", "second"] },
  ],
  [
    "application/vnd.lime.container+json",
    {
      type: "application/vnd.lime.media-link+json",
      value: { type: "image/jpeg", uri: "https://example.com/a.jpg" },
    },
  ],
  ["application/vnd.lime.identity", "john@breakingbad.com"],
  ["application/vnd.lime.node", "john@breakingbad.com/home"],
  ["application/vnd.lime.ping+json", {}],
  [
    "application/vnd.lime.message+json",
    { id: "m1", to: "jesse@breakingbad.com", type: "text/plain", content: "inner message" },
  ],
  [
    "application/vnd.lime.notification+json",
    { id: "m1", from: "jesse@breakingbad.com/home", event: "consumed" },
  ],
  [
    "application/vnd.lime.command+json",
    { id: "c1", method: "get", uri: "lime://jesse@breakingbad.com/presence" },
  ],
  ["application/vnd.lime.chatstate+json", { state: "composing", interval: 1000 }],
  [
    "application/vnd.lime.select+json",
    {
      scope: "immediate",
      text: "Choose an option",
      options: [
        { text: "First option" },
        { order: 2, text: "Second option" },
        {
          order: 3,
          text: "Third option",
          type: "application/json",
          value: { key1: "value1", key2: 2 },
        },
        { order: 4, text: "Fourth option", type: "text/plain", value: "four" },
      ],
    },
  ],
  [
    "application/vnd.lime.document-select+json",
    {
      scope: "persistent",
      header: {
        type: "application/vnd.lime.media-link+json",
        value: {
          title: "Welcome to mad hatter",
          text: "Here we have the best hats for your head.",
          type: "image/jpeg",
          uri: "http://petersons.com/hats.jpg",
          aspectRatio: "1:1",
        },
      },
      options: [
        {
          label: {
            type: "application/vnd.lime.web-link+json",
            value: { title: "Go to our store", uri: "http://petersons.com/store" },
          },
        },
        {
          order: 2,
          label: { type: "text/plain", value: "Show me more" },
          value: { type: "application/json", value: { key1: "value1", key2: 2 } },
        },
      ],
    },
  ],
  [
    "application/vnd.lime.media-link+json",
    {
      title: "Cat",
      text: "Here is a cat image for you!",
      type: "image/jpeg",
      uri:
        "http://2.bp.blogspot.com/-pATX0YgNSFs/VP-82AQKcuI/AAAAAAAALSU/Vet9e7Qsjjw/s1600/Cat-hd-wallpapers.jpg",
      aspectRatio: "1:1",
      size: 227791,
      previewUri: "http://www.petshealthinsurance.co.uk/wp-content/uploads/2015/09/cat-thumb.jpg",
      previewType: "image/jpeg",
      authorizationRealm: "blip",
    },
  ],
  [
    "application/vnd.lime.web-link+json",
    {
      uri: "http://limeprotocol.org/content-types.html#web-link",
      target: "selfCompact",
      title: "Web link",
      text: "Here is a documentation weblink",
      previewUri: "http://limeprotocol.org/preview.png",
      previewType: "image/png",
    },
  ],
  [
    "application/vnd.lime.location+json",
    {
      latitude: -22.121944,
      longitude: -45.128889,
      altitude: 1143,
      course: 90,
      speed: 1.5,
      accuracy: 10,
      text: "Cruzeiro, SP",
    },
  ],
  [
    "application/vnd.lime.input+json",
    {
      label: { type: "text/plain", value: "What is your birth date?" },
      validation: { rule: "date", error: "Please type a valid date" },
    },
  ],
  [
    "application/vnd.lime.list+json",
    {
      header: {
        type: "application/vnd.lime.media-link+json",
        value: { title: "Classic T-Shirts", type: "image/jpeg", uri: "https://example.com/t.jpg" },
      },
      items: [
        {
          type: "application/vnd.lime.web-link+json",
          value: { title: "Classic White T-Shirt", uri: "https://example.com/white" },
        },
        { type: "text/plain", value: "Classic Black T-Shirt" },
      ],
    },
  ],
  [
    "application/vnd.lime.tuple+json",
    {
      item1: { type: "text/plain", value: "Here is where we are" },
      item2: { type: "application/vnd.lime.location+json", value: { latitude: 1, longitude: 2 } },
    },
  ],
  [
    "application/vnd.lime.reply+json",
    {
      replied: { type: "text/plain", value: "Sure, see you there" },
      inReplyTo: {
        id: "3a1b9f6e-2c2d-4b8e-9f00-1a2b3c4d5e6f",
        type: "text/plain",
        value: "Lunch at noon?",
        direction: "received",
      },
    },
  ],
  [
    "application/vnd.lime.reaction+json",
    {
      emoji: { values: [128077] },
      inReactionTo: {
        id: "3a1b9f6e-2c2d-4b8e-9f00-1a2b3c4d5e6f",
        type: "application/vnd.lime.media-link+json",
        value: { type: "image/png", uri: "https://example.com/p.png" },
        direction: "sent",
      },
    },
  ],
  [
    "application/vnd.lime.redirect+json",
    {
      address: "attendance@breakingbad.com",
      context: { type: "text/plain", value: "Get help with my order" },
    },
  ],
  ["application/vnd.lime.external+json", { type: "text/plain", content: "original content" }],
  ["application/vnd.lime.sensitive+json", { type: "text/plain", value: "my password is 123" }],
  [
    "application/vnd.lime.ssml-text+json",
    { text: "Hello", ssml: "<speak><emphasis>Hello</emphasis></speak>" },
  ],
  [
    "application/vnd.lime.copy-and-paste+json",
    {
      header: "Pix",
      body: "Copy the code below",
      footer: "Thank you",
      button: { text: "Copy", value: "00020126580014br.gov.bcb.pix" },
    },
  ],
  ["application/vnd.lime.deleted-content+json", {}],
  [
    "application/vnd.lime.invoice+json",
    {
      title: "Order 1234",
      created: "2016-08-26T19:03:37.000Z",
      dueTo: "2016-08-27T19:03:37.000Z",
      methods: [{ name: "Credit Card", account: "01234567890" }],
      currency: "BRL",
      total: 10.85,
      taxes: 0.85,
      items: [
        {
          quantity: 1,
          unit: 10,
          currency: "BRL",
          taxes: 0.85,
          total: 10.85,
          description: "Item 1",
          imageUri: "https://example.com/i1.png",
          imageType: "image/png",
          complement: "Blue",
        },
      ],
      billTo: { identity: "john@breakingbad.com", name: "John", email: "john@example.com" },
    },
  ],
  [
    "application/vnd.lime.invoice-status+json",
    { status: "completed", date: "2016-08-26T19:03:37.000Z", code: "10.085,87" },
  ],
  [
    "application/vnd.lime.payment-receipt+json",
    {
      paidOn: "2016-08-26T19:03:37.000Z",
      code: "XYZ-9",
      method: { name: "Credit Card" },
      currency: "BRL",
      taxes: 0.85,
      total: 10.85,
      address: {
        street: "Rua A, 1",
        city: "Belo Horizonte",
        postalCode: "30000-000",
        state: "MG",
        country: "BR",
      },
      items: [{ quantity: 1, unit: 10, total: 10.85, description: "Item 1" }],
    },
  ],
  [
    "application/vnd.lime.click-tracking+json",
    {
      id: "e1",
      from: "5531999999999@wa.gw.msging.net",
      to: "bot@msging.net",
      fromIdentity: "5531999999999@wa.gw.msging.net",
      toIdentity: "bot@msging.net",
      fromDomain: "wa.gw.msging.net",
      toDomain: "msging.net",
      storageDate: "2024-01-02T03:04:05.678Z",
      contentMediaType: "application/vnd.lime.web-link+json",
      contentHash: "9e107d9d372bb6826bd81d3542a419d6",
      content: "eyJ1cmkiOiJodHRwOi8vZXgifQ==",
      contentLength: 28,
      sequentialId: 0,
      internalId: "i1",
      metadata: {
        correlationId: "c1",
        ipAddress: "10.0.0.1",
        userAgent: "Mozilla/5.0",
        cluster: "c",
      },
    },
  ],
  [
    "application/vnd.lime.account+json",
    {
      fullName: "John Doe",
      email: "john@example.com",
      photoUri: "https://example.com/john.png",
      isTemporary: false,
      allowAnonymousSender: false,
      allowUnknownSender: true,
      storeMessageContent: true,
      encryptMessageContent: false,
      inboxSize: 100,
      password: "MTIzNDU2",
      alternativeAccount: "john@other.com",
      publishToDirectory: true,
      gender: "male",
      offset: -3,
      extras: { plan: "gold" },
      birthDate: "1980-01-02",
      timezone: -3,
    },
  ],
  [
    "application/vnd.lime.contact+json",
    {
      identity: "mary@breakingbad.com",
      name: "Mary",
      isPending: true,
      sharePresence: false,
      shareAccountInfo: true,
      priority: 1,
      group: "friends",
      subscriptionStatus: "not-subscribed",
      lastMessageDate: "2020-01-01T00:00:00Z",
      lastUpdateDate: "2020-01-02T00:00:00.000-03:00",
      extras: { k: "v" },
      gender: "female",
    },
  ],
  [
    "application/vnd.lime.presence+json",
    {
      status: "available",
      message: "Hi there",
      routingRule: "rootDomain",
      lastSeen: "2015-07-12T15:00:00.000Z",
      priority: 1,
      filterByDistance: true,
      roundRobin: false,
      echo: false,
      promiscuous: false,
      instances: ["home", "work"],
    },
  ],
  [
    "application/vnd.lime.receipt+json",
    { events: ["failed", "accepted", "dispatched", "received", "consumed"] },
  ],
  [
    "application/vnd.lime.webhook+json",
    {
      messagesUrl: "https://bot.example.org/messages",
      notificationsUrl: "https://bot.example.org/notifications",
      secret: "0123456789abcdef",
      always: false,
    },
  ],
  [
    "application/vnd.lime.capability+json",
    {
      contentTypes: ["text/plain", "application/vnd.lime.media-link+json"],
      resourceTypes: ["application/vnd.lime.presence+json"],
    },
  ],
  [
    "application/vnd.lime.delegation+json",
    {
      target: "postmaster@msging.net",
      envelopeTypes: ["message", "command"],
      messages: [{ type: "text/plain" }],
      notifications: [{ event: "received" }],
      commands: [{ method: "get", uri: "/contacts", status: "success" }],
    },
  ],
  [
    "application/vnd.lime.group+json",
    {
      identity: "friends@groups.breakingbad.com",
      name: "Friends",
      description: "Old friends",
      type: "private",
      photoUri: "https://example.com/g.png",
      creator: "john@breakingbad.com",
      created: "2020-01-01T00:00:00Z",
      members: "/groups/friends@groups.breakingbad.com/members",
    },
  ],
  [
    "application/vnd.lime.groupmember+json",
    { address: "john@breakingbad.com/home", role: "owner" },
  ],
  ["application/vnd.lime.quota+json", { threshold: 100, throughput: 10, maxEnvelopeSize: 65536 }],
  [
    "application/vnd.iris.builder.checkout+json",
    {
      customer: {
        identity: "5531999999999@wa.gw.msging.net",
        phone: "+5531999999999",
        name: "John",
        surname: "Doe",
        email: "john@example.com",
        documentType: "cpf",
        document: "12345678900",
      },
      products: [{ description: "Pizza", price: 39.9, quantity: 2 }],
      currency: "BRL",
      channel: "WhatsApp",
      source: "bot",
    },
  ],
];

for (const [type, content] of DOCUMENT_SAMPLES) {
  Deno.test(`parseEnvelope reads a message of ${type}`, () => {
    const text = JSON.stringify({ id: "doc-1", to: "jesse@breakingbad.com", type, content });
    const entry = DOCUMENT_TYPES.get(type);
    assert.ok(entry, `${type} is registered`);
    assert.equal(entry.json, typeof content !== "string");
    assert.ok(entry.check(content), `fast check of ${type}`);
    assert.equal(EXPLAINERS[entry.name](content), undefined, `explainer of ${type}`);
    assert.ok(DOCUMENT_SCHEMAS.get(type)!.safeParse(content).success, `zod schema of ${type}`);
    const m = asMessage(parseEnvelope(text));
    assert.equal(m.type, type);
    assert.deepStrictEqual(m.content, content);
    assertRoundTrip(text);
  });
}

Deno.test("DOCUMENT_TYPES has a sample in this file for every registered type", () => {
  const sampled = new Set(DOCUMENT_SAMPLES.map(([type]) => type));
  assert.equal(sampled.size, DOCUMENT_SAMPLES.length, "no duplicate samples");
  assert.deepEqual([...DOCUMENT_TYPES.keys()].filter((t) => !sampled.has(t)), []);
  assert.deepEqual([...sampled].filter((t) => !DOCUMENT_TYPES.has(t)), []);
});

Deno.test("parseEnvelope reads registered documents as command resources", () => {
  for (const [type, resource] of DOCUMENT_SAMPLES) {
    const text = JSON.stringify({ id: "c1", method: "set", uri: "/resource", type, resource });
    const c = asCommand(parseEnvelope(text));
    assert.deepStrictEqual(c.resource, resource, type);
    assertRoundTrip(text);
  }
});

// ------------------------------------------------------------------------------------------------
// The fast check, the explainer and the zod validator agree on every valid sample of this file.

const VALID_TEXTS: string[] = [
  ...VECTORS.map(([, text]) => text),
  `{"id":"1","from":null,"to":null,"type":"text/plain","content":"x"}`,
  `{"state":"new","id":null,"from":null,"encryptionOptions":null,"compressionOptions":null,"scheme":null,"authentication":null,"reason":null,"metadata":null}`,
  `{"id":"s1","state":"authenticating","scheme":"plain","authentication":{"scheme":"plain","password":"MTIzNDU2"}}`,
  `{"id":"s1","state":"authenticating","authentication":{"scheme":"key","key":"a2V5"}}`,
  `{"id":"m1","event":"consumed","metadata":{"#message.to":"bot@msging.net/default","#message.uniqueId":null}}`,
  ...DOCUMENT_SAMPLES.map(([type, content]) => JSON.stringify({ id: "1", type, content })),
  ...DOCUMENT_SAMPLES.map(([type, resource]) =>
    JSON.stringify({ id: "1", method: "set", uri: "/r", type, resource })
  ),
];

Deno.test("ENVELOPE_KINDS check, explainer and schema agree on every valid sample", () => {
  for (const text of VALID_TEXTS) {
    const value = JSON.parse(text) as Json;
    const kind = ENVELOPE_KINDS.find((k) => k.key in value);
    assert.ok(kind, text);
    assert.equal(kind.check(value), true, `check: ${text}`);
    assert.equal(EXPLAINERS[kind.name](value), undefined, `explain: ${text}`);
    assert.equal(ENVELOPE_SCHEMAS[kind.kind].safeParse(value).success, true, `schema: ${text}`);
  }
});
