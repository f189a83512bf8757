/**
 * Where webhooks may point: a webhook URL is a way out of the server that any account holder
 * chooses, so it is checked as a careful operator would (server-side request forgery): `http` or
 * `https` only, no credentials in it, at most 2,048 characters; and unless its host is listed in
 * `allowedHosts`, it must not reach the server's own networks: loopback, private (RFC 1918, ULA),
 * link-local (cloud metadata at 169.254.169.254), CGNAT, multicast and reserved addresses are
 * refused, for an address written in the URL and for every address its name resolves to. The
 * check runs when the webhook is set and before each delivery (cached for a minute per host).
 *
 * Limit: the name is resolved again by `fetch`; a DNS server that answers differently between
 * the check and the connection (DNS rebinding) can still point a delivery inward. Where that
 * matters, list the allowed hosts (`allowedHosts`): then nothing else is reached.
 * @module
 */
import { AgedMap } from "../aged_map.ts";

/** Options of the destination check. */
export interface DestinationPolicy {
  /**
   * Hosts (`name` or `name:port`, lower case) webhooks may point to; when given, only these,
   * and their addresses are not checked. Default: any public host.
   */
  allowedHosts?: readonly string[];
  /**
   * Accept loopback and private addresses (tests, a development machine). Default false.
   */
  allowPrivateAddresses?: boolean;
  /** Resolves a name to its addresses. Default `Deno.resolveDns` (A and AAAA). */
  resolve?: (hostname: string) => Promise<string[]>;
}

/** The longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** The URL, or why it cannot be a webhook URL. */
export function parseWebhookUrl(text: string): URL | string {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    return `A webhook URL has at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "The webhook URL is not a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "A webhook URL is http(s)";
  if (url.username || url.password) return "A webhook URL carries no credentials";
  return url;
}

function ipv4(host: string): number[] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => /^\d{1,3}$/.test(part) ? Number(part) : NaN);
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

function privateIpv4([a, b]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) ||
    (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19));
}

/** Whether an address (IPv4 or IPv6, no brackets) is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const v4 = ipv4(address);
  if (v4) return privateIpv4(v4);
  const lower = address.toLowerCase().replace(/%.*$/, "");
  if (!lower.includes(":")) return true; // not an address: refuse
  // An IPv4 address inside (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d) is judged as IPv4.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (tail && ipv4(tail)) return privateIpv4(ipv4(tail)!);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return privateIpv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  if (lower === "::" || lower === "::1") return true;
  const first = parseInt(lower.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

async function resolveDns(hostname: string): Promise<string[]> {
  const answers = await Promise.allSettled([
    Deno.resolveDns(hostname, "A"),
    Deno.resolveDns(hostname, "AAAA"),
  ]);
  return answers.flatMap((answer) => answer.status === "fulfilled" ? answer.value : []);
}

/** Checks destinations against a policy, caching what names resolved to for a minute. */
export class DestinationCheck {
  readonly #policy: DestinationPolicy;
  readonly #allowed: ReadonlySet<string>;
  readonly #resolved = new AgedMap<string, { at: number; problem: string | undefined }>();

  /** A check with `policy`. */
  constructor(policy: DestinationPolicy = {}) {
    this.#policy = policy;
    this.#allowed = new Set((policy.allowedHosts ?? []).map((host) => host.toLowerCase()));
  }

  /** Why `url` may not be delivered to, or undefined when it may. */
  async problem(url: URL): Promise<string | undefined> {
    const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
    if (this.#allowed.size > 0) {
      const listed = this.#allowed.has(host) || this.#allowed.has(url.host.toLowerCase());
      return listed ? undefined : `The host ${host.slice(0, 64)} is not among the allowed hosts`;
    }
    if (this.#policy.allowPrivateAddresses) return undefined;
    const refused = `The webhook URL points to a private or reserved address (${
      host.slice(0, 64)
    })`;
    if (host === "localhost" || host.endsWith(".localhost")) return refused;
    if (ipv4(host) || host.includes(":")) return isPrivateAddress(host) ? refused : undefined;
    const cached = this.#resolved.get(host);
    if (cached && Date.now() - cached.at < 60_000) return cached.problem;
    const addresses = await (this.#policy.resolve ?? resolveDns)(host).catch(() => []);
    const problem = addresses.length === 0
      ? `The host ${host.slice(0, 64)} does not resolve`
      : addresses.some(isPrivateAddress)
      ? refused
      : undefined;
    if (!this.#resolved.has(host) && this.#resolved.size >= 1024) this.#resolved.deleteOldest();
    this.#resolved.set(host, { at: Date.now(), problem });
    return problem;
  }
}
