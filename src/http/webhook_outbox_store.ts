/**
 * Where the webhook outbox keeps its deliveries in Deno KV: an entry per delivery
 * (`lime_webhook_outbox`, identity, seq) and its envelope in parts of 60 KiB
 * (`lime_webhook_body`, identity, seq, part), written together in one atomic operation and
 * removed together once the delivery is done.
 * @module
 */
import { httpLog } from "../observability/log.ts";
import type { OutboxEntry } from "./webhook_outbox.ts";

const ENTRY = "lime_webhook_outbox";
const BODY = "lime_webhook_body";
const PART = 60 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The outbox's records in one Deno KV database. */
export class OutboxStore {
  readonly #kv: Deno.Kv;

  /** The records in `kv`. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Every stored delivery, with the identity (lower case) it is for. */
  async *entries(): AsyncGenerator<{ identity: string; entry: OutboxEntry }> {
    for await (const { value } of this.#kv.list<OutboxEntry>({ prefix: [ENTRY] })) {
      const identity = (value as OutboxEntry & { identity?: string }).identity;
      if (typeof identity === "string") yield { identity, entry: value };
    }
  }

  /** Stores a delivery and its body (sets `entry.parts`); false when the write failed. */
  async add(identityKey: string, entry: OutboxEntry, body: string): Promise<boolean> {
    const bytes = encoder.encode(body);
    const op = this.#kv.atomic();
    entry.parts = Math.max(1, Math.ceil(bytes.length / PART));
    for (let i = 0; i < entry.parts; i++) {
      op.set([BODY, identityKey, entry.seq, i], bytes.subarray(i * PART, (i + 1) * PART));
    }
    op.set([ENTRY, identityKey, entry.seq], { ...entry, identity: identityKey });
    try {
      return (await op.commit()).ok;
    } catch (error) {
      httpLog.error("The webhook outbox could not store an envelope: {error}", { error });
      return false;
    }
  }

  /** The body of a stored delivery. */
  async body(identityKey: string, entry: OutboxEntry): Promise<string> {
    const keys = Array.from({ length: entry.parts }, (_, i) => [BODY, identityKey, entry.seq, i]);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      for (const { value } of await this.#kv.getMany<Uint8Array[]>(keys.slice(i, i + 10))) {
        if (value) parts.push(value);
      }
    }
    const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    return decoder.decode(all);
  }

  /** Writes a delivery's entry again (its attempts and next time changed). */
  async update(identityKey: string, entry: OutboxEntry): Promise<void> {
    await this.#kv.set([ENTRY, identityKey, entry.seq], { ...entry, identity: identityKey })
      .catch(() => {});
  }

  /** Removes a delivery and its body. */
  async remove(identityKey: string, entry: OutboxEntry): Promise<void> {
    const op = this.#kv.atomic().delete([ENTRY, identityKey, entry.seq]);
    for (let i = 0; i < entry.parts; i++) op.delete([BODY, identityKey, entry.seq, i]);
    await op.commit().catch((error) => {
      httpLog.error("The webhook outbox could not remove a delivery: {error}", { error });
    });
  }
}
