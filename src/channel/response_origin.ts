/**
 * Who may answer a command request: a response resolves a waiting request only when it comes
 * from where the request went. A request with a `to` is answered by that node (any instance of
 * it when `to` is an identity); a request without one, or addressed to the channel's peer (on a
 * client, the server: its node, its identity, `postmaster@` its domain, or the bare domain), is
 * answered by the peer, which may leave `from` out. Anyone else who knows (or guesses) the
 * request id cannot complete it.
 * @module
 */

interface Parts {
  name: string;
  domain: string;
  instance: string | undefined;
}

function parts(node: string): Parts {
  const lower = node.toLowerCase();
  const slash = lower.indexOf("/");
  const identity = slash < 0 ? lower : lower.slice(0, slash);
  const at = identity.indexOf("@");
  return {
    name: at < 0 ? "" : identity.slice(0, at),
    domain: at < 0 ? identity : identity.slice(at + 1),
    instance: slash < 0 ? undefined : lower.slice(slash + 1) || undefined,
  };
}

/** Whether `address` names the channel's peer `peer` (its node, identity, postmaster or domain). */
function isPeer(address: string, peer: string | undefined): boolean {
  if (peer === undefined) return false;
  const a = parts(address);
  const p = parts(peer);
  if (a.domain !== p.domain) return false;
  if (a.name === "" || a.name === p.name || a.name === "postmaster") {
    return a.instance === undefined || a.instance === p.instance || a.name !== p.name;
  }
  return false;
}

/** Whether `from` is the node or identity `to` names (an identity matches any of its instances). */
function isAddressee(from: string, to: string): boolean {
  const f = parts(from);
  const t = parts(to);
  return f.name === t.name && f.domain === t.domain &&
    (t.instance === undefined || t.instance === f.instance);
}

/**
 * Whether a response with `from` may answer a request sent with `to` over a channel whose peer
 * is `peer` (undefined while unknown).
 */
export function answersRequest(
  from: string | undefined,
  to: string | undefined,
  peer: string | undefined,
): boolean {
  if (from !== undefined && from === to) return true;
  if (to === undefined || isPeer(to, peer)) {
    return from === undefined || isPeer(from, peer) || (to !== undefined && isAddressee(from, to));
  }
  return from !== undefined && isAddressee(from, to);
}
