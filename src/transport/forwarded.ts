/**
 * Reading the client's address from the headers a reverse proxy adds, for servers told to trust
 * their proxy (never by default: any client can send these headers itself).
 * @module
 */

/** The right-most element of a comma-separated header (only its end is looked at). */
function lastElement(value: string): string {
  return value.slice(value.lastIndexOf(",") + 1);
}

/**
 * The client address a trusted reverse proxy reports: the right-most entry of
 * `X-Forwarded-For` (the one the proxy next to the server appended; entries to its left were
 * written by the client or by proxies nobody vouches for), or, when there is no such header, the
 * right-most `for=` of the standard `Forwarded` header. Undefined when the header gives no
 * usable address. A client-written part is never read instead: however long the client made the
 * header, only its right-most entry counts, and a `Forwarded` header (which the client may also
 * send) is not consulted when `X-Forwarded-For` is there.
 */
export function forwardedClientAddress(headers: Headers): string | undefined {
  const xff = headers.get("x-forwarded-for");
  if (xff !== null) {
    const last = lastElement(xff).trim();
    return last ? stripPort(last) : undefined;
  }
  const forwarded = headers.get("forwarded");
  if (forwarded) {
    const last = lastElement(forwarded);
    for (const pair of last.split(";")) {
      const [key, value] = pair.split("=", 2).map((part) => part?.trim());
      if (key?.toLowerCase() === "for" && value) {
        return stripPort(value.replace(/^"|"$/g, ""));
      }
    }
  }
  return undefined;
}

/**
 * The protocol a trusted TLS-terminating proxy says the client used (`https`, `http`, lower
 * case): the right-most `X-Forwarded-Proto` entry, or, when there is none, the right-most
 * `proto=` of `Forwarded`. Undefined when neither says. Only for servers told to trust their
 * proxy on this (`trustProxyTls`): a client can send these headers itself.
 */
export function forwardedProtocol(headers: Headers): string | undefined {
  const proto = headers.get("x-forwarded-proto");
  if (proto !== null) return lastElement(proto).trim().toLowerCase() || undefined;
  const forwarded = headers.get("forwarded");
  if (!forwarded) return undefined;
  for (const pair of lastElement(forwarded).split(";")) {
    const [key, value] = pair.split("=", 2).map((part) => part?.trim());
    if (key?.toLowerCase() === "proto" && value) return value.replace(/^"|"$/g, "").toLowerCase();
  }
  return undefined;
}

function stripPort(address: string): string | undefined {
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    return close < 0 ? undefined : address.slice(1, close);
  }
  // IPv4 with a port (`1.2.3.4:5678`); a bare IPv6 address has several colons.
  const colons = address.split(":").length - 1;
  const host = colons === 1 ? address.slice(0, address.indexOf(":")) : address;
  return /^[0-9a-fA-F.:]+$/.test(host) ? host : undefined;
}
