/**
 * Addressing helpers the modules share: whether an envelope is for this node, and who a reply
 * goes to (`pp ?? from`, lime-protocol §1.1).
 * @module
 */
import type { Envelope } from "../../envelope.ts";
import { Node } from "../../node.ts";

/** Whether `to` is absent or names the identity of `localNode` (case-insensitive, §2.3). */
export function isForLocalNode(to: string | undefined, localNode: string | undefined): boolean {
  if (!to) return true;
  if (!localNode) return false;
  const target = Node.tryParse(to);
  const local = Node.tryParse(localNode);
  return !!target && !!local && target.identity.equals(local.identity);
}

/** Where a reply to `envelope` goes: its delegate when it has one, else its sender. */
export function replyTarget(envelope: Envelope): string | undefined {
  return envelope.pp ?? envelope.from;
}
