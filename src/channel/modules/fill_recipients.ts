/**
 * Fills envelope recipients (lime-protocol §6.5): on receive, a missing `from` becomes the remote
 * node and a `from` without domain gets the remote domain (likewise `to` with the local node); on
 * send (clients only), a `from` other than the local node gets `pp` = the local node, and a `pp`
 * without domain gets the local domain.
 * @module
 */
import type { Envelope } from "../../envelope.ts";
import { Node } from "../../node.ts";
import type { Channel } from "../channel.ts";
import type { ChannelModule } from "../channel_module.ts";

function fill(value: string | undefined, node: string | undefined): string | undefined {
  if (!node) return value;
  if (!value) return node;
  const parsed = Node.tryParse(value);
  if (!parsed || parsed.domain) return value;
  const domain = Node.tryParse(node)?.domain;
  return domain ? new Node(parsed.name, domain, parsed.instance).toString() : value;
}

/** Fills `from`, `to` and `pp`. */
export class FillRecipientsModule implements ChannelModule {
  readonly #fillSent: boolean;

  /** `fillSent`: also set `pp` on sent envelopes (client channels). */
  constructor(fillSent: boolean) {
    this.#fillSent = fillSent;
  }

  /** Fills `from` and `to` of a received envelope. */
  onReceiving(envelope: Envelope, channel: Channel): Envelope | null {
    const from = fill(envelope.from, channel.remoteNode);
    const to = fill(envelope.to, channel.localNode);
    if (from === envelope.from && to === envelope.to) return envelope;
    return { ...envelope, ...(from ? { from } : {}), ...(to ? { to } : {}) } as Envelope;
  }

  /** Sets `pp` of a sent envelope sent on behalf of another node. */
  onSending(envelope: Envelope, channel: Channel): Envelope | null {
    const local = channel.localNode;
    if (!this.#fillSent || !local) return envelope;
    if (envelope.pp === undefined) {
      if (envelope.from && !Node.tryParse(envelope.from)?.equals(local)) {
        return { ...envelope, pp: local } as Envelope;
      }
      return envelope;
    }
    const pp = fill(envelope.pp, local);
    return pp === envelope.pp ? envelope : { ...envelope, pp } as Envelope;
  }
}
