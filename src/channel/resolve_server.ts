/**
 * Connecting by domain: finds the LIME servers of a domain through its `_lime._tcp.<domain>`
 * DNS SRV record (RFC 2782) and falls back to static connection info when the domain publishes
 * none. Deno-specific (uses `Deno.resolveDns`).
 * @module
 */

/** The default LIME TCP port, used by the fallback when no port is given. */
export const DEFAULT_LIME_TCP_PORT = 55321;

/** One server address found for a domain. */
export interface LimeServerAddress {
  /** The transport URI, `net.tcp://<hostname>:<port>`. */
  uri: string;
  /** The host name to connect to (no trailing dot). */
  hostname: string;
  /** The TCP port to connect to. */
  port: number;
  /** The SRV priority (lower is tried first); 0 for the fallback. */
  priority: number;
  /** The SRV weight (higher is preferred among equal priorities); 0 for the fallback. */
  weight: number;
  /** Whether the address came from an SRV record or from the fallback. */
  source: "srv" | "fallback";
}

/** Options of {@link resolveLimeServer}. */
export interface ResolveLimeServerOptions {
  /** The DNS server to ask instead of the system's. */
  nameServer?: { ipAddr: string; port?: number };
  /**
   * The static connection info used when the domain has no SRV record; the host defaults to the
   * domain and the port to {@link DEFAULT_LIME_TCP_PORT}.
   */
  fallback?: { hostname?: string; port?: number };
  /** Aborts the lookup; an abort rejects rather than falling back. */
  signal?: AbortSignal;
  /** The resolver to use; defaults to `Deno.resolveDns` (for tests and other runtimes). */
  resolveDns?: typeof Deno.resolveDns;
}

/**
 * Finds the LIME servers of `domain` by looking up the `_lime._tcp.<domain>` SRV record.
 *
 * The records are returned in a deterministic RFC 2782 order: priority ascending, then weight
 * descending, then host name and port ascending (no weighted random selection; callers wanting
 * load spreading may shuffle within a priority). Trailing dots are stripped from targets. A
 * single record whose target is `"."` means the service is decidedly not available at the domain,
 * and the result is `[]`.
 *
 * When the lookup fails (no such name, no records, or any other DNS error), the result is one
 * fallback address built from `options.fallback`, defaulting to the domain itself and port
 * {@link DEFAULT_LIME_TCP_PORT}. An aborted `options.signal` rejects with its reason instead.
 *
 * @param domain The domain to resolve, e.g. `"example.com"`.
 * @param options The name server, fallback, abort signal and resolver.
 * @returns The addresses in the order they should be tried.
 * @throws {TypeError} When `domain` is empty or contains whitespace.
 */
export async function resolveLimeServer(
  domain: string,
  options: ResolveLimeServerOptions = {},
): Promise<LimeServerAddress[]> {
  if (typeof domain !== "string" || domain.length === 0 || /\s/.test(domain)) {
    throw new TypeError(`Invalid domain: ${JSON.stringify(domain)}`);
  }
  const { signal } = options;
  signal?.throwIfAborted();
  const resolve = options.resolveDns ?? Deno.resolveDns;
  const query = `_lime._tcp.${stripDot(domain)}`;
  let records: Deno.SrvRecord[];
  try {
    records = await resolve(query, "SRV", { nameServer: options.nameServer, signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    return [fallbackAddress(domain, options.fallback)];
  }
  if (records.length === 0) return [fallbackAddress(domain, options.fallback)];
  if (records.length === 1 && (records[0].target === "." || records[0].target === "")) {
    return [];
  }
  const addresses: LimeServerAddress[] = records
    .filter((r) => r.target !== "." && r.target !== "")
    .map((r) => {
      const hostname = stripDot(r.target);
      return {
        uri: tcpUri(hostname, r.port),
        hostname,
        port: r.port,
        priority: r.priority,
        weight: r.weight,
        source: "srv",
      };
    });
  addresses.sort((a, b) =>
    a.priority - b.priority || b.weight - a.weight ||
    (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0) || a.port - b.port
  );
  return addresses;
}

function fallbackAddress(
  domain: string,
  fallback: ResolveLimeServerOptions["fallback"],
): LimeServerAddress {
  const hostname = stripDot(fallback?.hostname ?? domain);
  const port = fallback?.port ?? DEFAULT_LIME_TCP_PORT;
  return {
    uri: tcpUri(hostname, port),
    hostname,
    port,
    priority: 0,
    weight: 0,
    source: "fallback",
  };
}

function stripDot(name: string): string {
  return name.length > 1 && name.endsWith(".") ? name.slice(0, -1) : name;
}

function tcpUri(hostname: string, port: number): string {
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return `net.tcp://${host}:${port}`;
}
