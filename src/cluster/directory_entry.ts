/**
 * One session in the cluster directory, as a field of its identity's Redis hash: the field is
 * the node's instance (lower case), the value `server|tag|scheme|status|rule|priority` (the
 * server holding it, the session's tag on that server, one letter for the scheme, the presence
 * as two digits and a number). Compact on purpose: a million of them fit in Redis's memory. A
 * hash holds one identity's sessions, and `#v`, the version of its last change.
 * @module
 */
import type { AuthenticationScheme } from "../generated/enums.generated.ts";
import type { PresenceRoutingRule, PresenceStatus } from "../generated/types.generated.ts";
import type { LiveSession, SessionView } from "../server/identity_rules.ts";
import type { RouteCandidate } from "../server/router.ts";

const SCHEMES: Readonly<Record<AuthenticationScheme, string>> = {
  guest: "g",
  plain: "p",
  key: "k",
  transport: "t",
  external: "e",
};
const SCHEME_OF: Readonly<Record<string, AuthenticationScheme>> = Object.fromEntries(
  Object.entries(SCHEMES).map(([scheme, letter]) => [letter, scheme as AuthenticationScheme]),
);
const STATUSES: readonly PresenceStatus[] = [
  "unavailable",
  "available",
  "busy",
  "away",
  "invisible",
];
const RULES: readonly PresenceRoutingRule[] = [
  "instance",
  "identity",
  "identityByPriority",
  "promiscuous",
  "domain",
  "rootDomain",
];

/** The field of a hash that holds its version. */
export const VERSION_FIELD = "#v";

/** A session as the directory knows it. */
export interface DirectoryEntry extends LiveSession, RouteCandidate {
  /** The lower-cased node. */
  readonly nodeKey: string;
  /** The server id holding it. */
  readonly server: string;
  /** The session's tag on that server (tells a session from a later one of the same node). */
  readonly tag: string;
  /** Its presence, as last published. */
  readonly presence: { status: PresenceStatus; routingRule: PresenceRoutingRule; priority: number };
}

/** What an entry is made of. */
export interface EntryFields {
  /** The server id. */
  server: string;
  /** The session's tag. */
  tag: string;
  /** The scheme it authenticated with. */
  scheme: AuthenticationScheme;
  /** Presence. */
  presence: { status: PresenceStatus; routingRule: PresenceRoutingRule; priority: number };
}

/** The hash value of an entry. */
export function encodeEntry(fields: EntryFields): string {
  const { status, routingRule, priority } = fields.presence;
  return `${fields.server}|${fields.tag}|${SCHEMES[fields.scheme]}|${STATUSES.indexOf(status)}|${
    RULES.indexOf(routingRule)
  }|${Number.isFinite(priority) ? priority : 0}`;
}

/** An entry from its identity, field and value; undefined when the value is not one. */
export function decodeEntry(
  identityKey: string,
  field: string,
  value: string,
): DirectoryEntry | undefined {
  const parts = value.split("|");
  if (parts.length !== 6) return undefined;
  const [server, tag, letter, status, rule, priority] = parts;
  const scheme = SCHEME_OF[letter];
  const presence = {
    status: STATUSES[Number(status)],
    routingRule: RULES[Number(rule)],
    priority: Number(priority),
  };
  if (!server || !scheme || !presence.status || !presence.routingRule) return undefined;
  if (!Number.isFinite(presence.priority)) return undefined;
  return {
    nodeKey: `${identityKey}/${field}`,
    server,
    tag,
    scheme,
    guest: scheme === "guest",
    presence,
  };
}

/** The server id of an encoded entry. */
export function serverOf(value: string): string {
  const bar = value.indexOf("|");
  return bar < 0 ? value : value.slice(0, bar);
}

/** One identity's entries at one version, as read from its hash. */
export class IdentitySnapshot implements SessionView<DirectoryEntry> {
  /** The lower-cased identity. */
  readonly identityKey: string;
  /** The version of the hash (0 for none). */
  readonly version: number;
  /** The entries by field (instance). */
  readonly entries: ReadonlyMap<string, DirectoryEntry>;

  /** A snapshot of `identityKey` from a flat HGETALL reply (`field, value, field, value…`). */
  constructor(identityKey: string, flat: readonly string[]) {
    this.identityKey = identityKey;
    let version = 0;
    const entries = new Map<string, DirectoryEntry>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i];
      if (field === VERSION_FIELD) {
        version = Number(flat[i + 1]) || 0;
        continue;
      }
      const entry = decodeEntry(identityKey, field, flat[i + 1]);
      if (entry) entries.set(field, entry);
    }
    this.version = version;
    this.entries = entries;
  }

  /** The same snapshot without the entries of servers `alive` says are gone. */
  live(alive: (server: string) => boolean): IdentitySnapshot {
    const kept: string[] = [VERSION_FIELD, String(this.version)];
    for (const [field, entry] of this.entries) {
      if (alive(entry.server)) kept.push(field, encodeEntry(entry));
    }
    return new IdentitySnapshot(this.identityKey, kept);
  }

  /** The entry of a node (lower case) of this identity. */
  byNodeKey(key: string): DirectoryEntry | undefined {
    const slash = key.indexOf("/");
    if (slash < 0 || key.slice(0, slash) !== this.identityKey) return undefined;
    return this.entries.get(key.slice(slash + 1));
  }

  /** Every entry, when `key` is this identity. */
  byIdentityKey(key: string): readonly DirectoryEntry[] {
    return key === this.identityKey ? [...this.entries.values()] : [];
  }
}
