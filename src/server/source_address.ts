/**
 * The "source address" per-address limits count by: the peer's IP address as the connection
 * shows it (`remoteEndpoint`), with IPv6 addresses grouped by their /64 prefix (one host or home
 * network usually owns a whole /64, so counting single IPv6 addresses would let one peer
 * multiply its quota at will) and IPv4-mapped IPv6 addresses read as IPv4. Behind a reverse proxy
 * every connection comes from the proxy; only with the `trustProxy` option does the server take
 * the client's address from the proxy's `X-Forwarded-For` header (`forwardedClientAddress` in
 * `src/transport/forwarded.ts`), and never by default: anyone can send that header.
 * @module
 */

/** The host part of a `host:port` endpoint (brackets removed), or undefined. */
export function endpointHost(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  if (endpoint.startsWith("[")) {
    const close = endpoint.indexOf("]");
    return close < 0 ? undefined : endpoint.slice(1, close);
  }
  const colon = endpoint.lastIndexOf(":");
  return colon < 0 ? endpoint : endpoint.slice(0, colon);
}

/** Expands an IPv6 address to its eight 16-bit groups, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const zone = address.indexOf("%");
  const bare = (zone < 0 ? address : address.slice(0, zone)).toLowerCase();
  const halves = bare.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const v4 = piece.split(".").map(Number);
        if (v4.length !== 4 || v4.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
          return undefined;
        }
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(piece)) return undefined;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array(missing).fill(0), ...tail];
}

/**
 * The key per-address limits count under, for a host (an IP address as the connection reports
 * it): an IPv4 address as is; an IPv6 address as its /64 prefix (`2001:db8:1:2::/64`); an
 * IPv4-mapped IPv6 address as its IPv4 address. Anything else (a hostname, a missing address)
 * is returned lower-cased as is.
 */
export function sourceKey(host: string | undefined): string | undefined {
  if (host === undefined || host === "") return undefined;
  if (!host.includes(":")) return host.toLowerCase();
  const groups = ipv6Groups(host);
  if (!groups) return host.toLowerCase();
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** Whether a host is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  if (sourceKey(host)?.startsWith("127.")) return true;
  return ipv6Groups(host)?.join(",") === "0,0,0,0,0,0,0,1";
}
