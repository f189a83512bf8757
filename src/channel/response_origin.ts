/**
 * Who may answer a command request: a response resolves a waiting request only when it comes
 * from where the request went. A request with a `to` is answered by that node (any instance of
 * it when `to` is an identity); a request without one, or addressed to the channel's peer (on a
 * client, the server: its identity, `postmaster@` its domain, or the bare domain), is answered
 * by the peer, which may leave `from` out. Anyone else who knows (or guesses) the request id
 * cannot complete it.
 * @module
 */

/** `[identity, instance]` of a node string, lower-cased (`""` when there is no instance). */
function split(address: string): [string, string] {
  const lower = address.toLowerCase();
  const slash = lower.indexOf("/");
  return slash < 0 ? [lower, ""] : [lower.slice(0, slash), lower.slice(slash + 1)];
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
  if (from === to) return true;
  const own = peer === undefined ? "" : split(peer)[0];
  const domain = own.slice(own.indexOf("@") + 1);
  const isPeer = (address: string) => {
    const identity = split(address)[0];
    return own !== "" &&
      (identity === own || identity === domain || identity === `postmaster@${domain}`);
  };
  const isAddressee = (address: string) => {
    const [identity, instance] = split(address);
    const [target, targetInstance] = split(to!);
    return identity === target && (!targetInstance || targetInstance === instance);
  };
  if (to === undefined || isPeer(to)) {
    return from === undefined || isPeer(from) || (to !== undefined && isAddressee(from));
  }
  return from !== undefined && isAddressee(from);
}
