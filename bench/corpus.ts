/**
 * A deterministic mixed corpus of LIME envelopes for the codec benchmarks: messages (short and
 * ~1 KiB text, chat state, select, media link, a contact collection, a reply), notifications
 * (received, consumed, failed with a reason), commands (get `/ping`, set `/presence`, a response
 * with a contact collection, a failure response) and session envelopes (new, negotiating offer,
 * authenticating with plain auth, established, finishing).
 *
 * The same seed always gives the same corpus. Every entry is checked when this module loads: the
 * fast check, the explainer, the zod validator and `parseEnvelope` must all accept it, and
 * `serializeEnvelope(parseEnvelope(text))` must give `text` back, or the module throws.
 * @module
 */
import { parseEnvelope, serializeEnvelope } from "../src/codec.ts";
import type { Envelope } from "../src/envelope.ts";
import { EXPLAINERS } from "../src/generated/explain.generated.ts";
import { ENVELOPE_KINDS } from "../src/generated/registry.generated.ts";
import { ENVELOPE_SCHEMAS } from "../src/generated/validators.generated.ts";
import { mulberry32 as prng } from "../tests/prng.ts";

/** The corpus: each envelope as JSON text, as UTF-8 bytes, and as the plain object it parses to. */
export interface Corpus {
  /** Compact JSON text of each envelope. */
  readonly texts: readonly string[];
  /** UTF-8 bytes of each text. */
  readonly bytes: readonly Uint8Array[];
  /** `JSON.parse` of each text (plain objects, as the encoder sees envelopes from the wire). */
  readonly objects: readonly Envelope[];
  /** The template each envelope came from (`message/text-short`, `command/get-ping`, …). */
  readonly labels: readonly string[];
  /** Sum of the UTF-8 byte lengths of all entries. */
  readonly totalBytes: number;
}

type Json = Record<string, unknown>;

const NAMES = [
  "joao.silva",
  "maria",
  "5531988776655",
  "ana.costa",
  "bot-atendimento",
  "pedro_h",
  "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f",
  "carla",
  "router",
  "suporte.vendas",
];
const DOMAINS = ["msging.net", "limeprotocol.org", "0mn.io", "wa.gw.msging.net", "take.net"];
const INSTANCES = ["default", "web-2f9c1a", "android-8.1", "iris-hosted-3", "#az-iris4", "desk"];
const SHORT_TEXTS = [
  "Hi!",
  "Olá, tudo bem? Gostaria de saber o status do meu pedido.",
  "ok",
  "Can you send me the invoice for last month, please?",
  "Obrigado pelo atendimento 😀",
  "Qual o horário de funcionamento da loja no sábado?",
  "1",
  "Please wait while I transfer you to a human agent.",
];
const LOREM =
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut " +
  "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco " +
  "laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in " +
  "voluptate velit esse cillum dolore eu fugiat pariatur. Excepteur sint occaecat cupidatat " +
  "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ";

/** Builds the corpus. The default is what the benchmarks use. */
export function buildCorpus(size = 1000, seed = 0x11e5eed): Corpus {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const hex = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[int(16)];
    return s;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[int(4)]}${hex(3)}-${hex(12)}`;
  const identity = () => `${pick(NAMES)}@${pick(DOMAINS)}`;
  const node = () => `${identity()}/${pick(INSTANCES)}`;
  const postmaster = () => `postmaster@${pick(DOMAINS)}/${pick(INSTANCES)}`;
  const isoDate = () => {
    const d = new Date(Date.UTC(2024, int(12), 1 + int(28), int(24), int(60), int(60), int(1000)));
    return d.toISOString();
  };
  const metadata = (): Json | undefined =>
    random() < 0.35
      ? {
        "#date.created": isoDate(),
        "#message.emitter": "application",
        "#tunnel.originator": identity(),
        "#uniqueId": uuid(),
      }
      : undefined;
  const base = (from = node(), to = node()): Json => {
    const meta = metadata();
    return meta ? { id: uuid(), from, to, metadata: meta } : { id: uuid(), from, to };
  };
  // Text of about 1 KiB (a few Unicode characters, so the bytes are a little more).
  const longText = () => {
    let s = `Pedido nº ${int(100000)} — detalhes: `;
    while (s.length < 1000) s += LOREM;
    return s.slice(0, 1024);
  };
  const contact = (): Json => {
    const c: Json = {
      identity: identity(),
      name: pick(["João Silva", "Maria Souza", "Ana Costa", "Pedro Henrique", "Carla Dias"]),
      isPending: random() < 0.2,
      sharePresence: true,
      shareAccountInfo: random() < 0.7,
    };
    if (random() < 0.5) c.email = `contact${int(1000)}@example.com`;
    if (random() < 0.5) c.phoneNumber = `+55 31 9${int(10000)}-${int(10000)}`;
    if (random() < 0.5) c.lastMessageDate = isoDate();
    if (random() < 0.3) c.extras = { plan: "premium", source: "whatsapp" };
    return c;
  };
  const contacts = (): Json => {
    const items = Array.from({ length: 2 + int(5) }, contact);
    return { itemType: "application/vnd.lime.contact+json", total: items.length, items };
  };
  const reason = (code: number, description: string): Json => ({ code, description });

  const templates: [label: string, weight: number, make: () => Json][] = [
    [
      "message/text-short",
      8,
      () => ({ ...base(), type: "text/plain", content: pick(SHORT_TEXTS) }),
    ],
    ["message/text-1k", 2, () => ({ ...base(), type: "text/plain", content: longText() })],
    ["message/chatstate", 4, () => ({
      ...base(),
      type: "application/vnd.lime.chatstate+json",
      content: { state: pick(["composing", "paused", "starting", "gone"]) },
    })],
    ["message/select", 2, () => ({
      ...base(),
      type: "application/vnd.lime.select+json",
      content: {
        scope: "immediate",
        text: "Escolha uma opção:",
        options: [
          { order: 1, text: "Segunda via do boleto" },
          {
            order: 2,
            text: "Falar com atendente",
            type: "application/json",
            value: { action: "handoff" },
          },
          { order: 3, text: "Status do pedido", type: "text/plain", value: "order-status" },
        ],
      },
    })],
    ["message/media-link", 2, () => ({
      ...base(),
      type: "application/vnd.lime.media-link+json",
      content: {
        title: "Comprovante.pdf",
        text: "Segue o comprovante",
        type: "application/pdf",
        uri: `https://cdn.example.com/media/${uuid()}.pdf`,
        previewUri: `https://cdn.example.com/preview/${uuid()}.jpg`,
        previewType: "image/jpeg",
        size: 1024 + int(2_000_000),
        aspectRatio: "1:1",
      },
    })],
    ["message/collection-contacts", 1, () => ({
      ...base(),
      type: "application/vnd.lime.collection+json",
      content: contacts(),
    })],
    ["message/reply", 2, () => ({
      ...base(),
      type: "application/vnd.lime.reply+json",
      content: {
        replied: { type: "text/plain", value: pick(SHORT_TEXTS) },
        inReplyTo: {
          id: uuid(),
          type: "application/vnd.lime.media-link+json",
          value: { type: "image/jpeg", uri: `https://cdn.example.com/media/${uuid()}.jpg` },
          direction: "received",
        },
      },
    })],
    ["notification/received", 6, () => ({ ...base(), event: "received" })],
    ["notification/consumed", 4, () => ({ ...base(), event: "consumed" })],
    ["notification/failed", 1, () => ({
      ...base(postmaster()),
      event: "failed",
      reason: reason(42, "The destination was not found"),
    })],
    ["command/get-ping", 2, () => ({
      ...base(node(), postmaster()),
      method: "get",
      uri: "/ping",
    })],
    ["command/set-presence", 1, () => ({
      ...base(node(), postmaster()),
      method: "set",
      uri: "/presence",
      type: "application/vnd.lime.presence+json",
      resource: { status: "available", routingRule: "identity", echo: false, priority: 0 },
    })],
    ["command/response-contacts", 1, () => ({
      ...base(postmaster(), node()),
      method: "get",
      status: "success",
      type: "application/vnd.lime.collection+json",
      resource: contacts(),
    })],
    ["command/response-failure", 1, () => ({
      ...base(postmaster(), node()),
      method: "set",
      status: "failure",
      reason: reason(67, "The resource was not found"),
    })],
    ["session/new", 1, () => ({ id: uuid(), state: "new" })],
    ["session/negotiating-offer", 1, () => ({
      id: uuid(),
      from: postmaster(),
      state: "negotiating",
      encryptionOptions: ["none", "tls"],
      compressionOptions: ["none"],
    })],
    ["session/authenticating-plain", 1, () => ({
      id: uuid(),
      from: node(),
      to: postmaster(),
      state: "authenticating",
      scheme: "plain",
      authentication: { password: btoa(`p@ss-${hex(12)}`) },
    })],
    ["session/established", 1, () => ({
      id: uuid(),
      from: postmaster(),
      to: node(),
      state: "established",
    })],
    ["session/finishing", 1, () => ({ id: uuid(), from: node(), state: "finishing" })],
  ];
  const totalWeight = templates.reduce((sum, t) => sum + t[1], 0);

  const encoder = new TextEncoder();
  const texts: string[] = [];
  const bytes: Uint8Array[] = [];
  const objects: Envelope[] = [];
  const labels: string[] = [];
  let totalBytes = 0;
  for (let i = 0; i < size; i++) {
    // The first pass takes every template once, so a small corpus still covers them all.
    let template = templates[i];
    if (i >= templates.length) {
      let r = random() * totalWeight;
      template = templates[templates.length - 1];
      for (const t of templates) {
        if ((r -= t[1]) < 0) {
          template = t;
          break;
        }
      }
    }
    const text = JSON.stringify(template[2]());
    checkEntry(template[0], text);
    const encoded = encoder.encode(text);
    texts.push(text);
    bytes.push(encoded);
    objects.push(JSON.parse(text));
    labels.push(template[0]);
    totalBytes += encoded.length;
  }
  return { texts, bytes, objects, labels, totalBytes };
}

/** Throws unless every validation path accepts the entry and it round-trips unchanged. */
function checkEntry(label: string, text: string): void {
  const value = JSON.parse(text) as Json;
  const kind = ENVELOPE_KINDS.find((k) => k.key in value);
  if (!kind || `${kind.kind}/` !== label.slice(0, label.indexOf("/") + 1)) {
    throw new Error(`corpus ${label}: wrong envelope kind ${kind?.kind}: ${text}`);
  }
  if (!kind.check(value)) throw new Error(`corpus ${label}: the fast check refuses ${text}`);
  if (EXPLAINERS[kind.name](value)) {
    throw new Error(`corpus ${label}: the explainer refuses ${text}`);
  }
  const zod = ENVELOPE_SCHEMAS[kind.kind].safeParse(value);
  if (!zod.success) {
    throw new Error(`corpus ${label}: zod refuses ${text}: ${JSON.stringify(zod.error.issues)}`);
  }
  const again = serializeEnvelope(parseEnvelope(text));
  if (again !== text) throw new Error(`corpus ${label}: does not round-trip: ${text} → ${again}`);
}

/** The benchmark corpus: 1,000 envelopes, seed `0x11e5eed`. */
export const CORPUS: Corpus = buildCorpus();
