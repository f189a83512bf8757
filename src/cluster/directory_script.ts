/**
 * The one Lua script that changes the directory: it applies a list of operations to one
 * identity's hash atomically, bumps its version (monotonic across the hash's life: never below
 * Redis's clock in microseconds), and, when something changed, tells every other live server
 * holding a session of the identity (and every server whose session it evicts) through their
 * inboxes: a snapshot of the hash (`t=d`), and the evictions (`t=x`). `NOMKSTREAM`: an inbox is
 * never created here, only by its server. With an expected version, nothing is applied unless
 * the hash is still at it (the caller judged a snapshot of that version: optimistic locking).
 *
 * Operations (four arguments each: kind, field, a, b):
 * - `set field value`: writes the entry.
 * - `del field`: removes it.
 * - `mine field tag value`: writes `value` (or removes the entry when `value` is empty) only
 *   when the entry is this server's session with `tag` (a release, a presence change).
 * - `reclaim field tag value`: writes it when the field is empty, this session's, or held by a
 *   server that is gone (re-registration after a reconnection); else reports `taken`.
 *
 * Returns `{ "ok", version, statuses, snapshot }` or `{ "conflict", version }`.
 * @module
 */
import type { RedisScript } from "./redis_link.ts";

/** KEYS[1]: the identity's hash. ARGV: see the module doc and `DirectoryMutation`. */
export const DIRECTORY_SCRIPT: RedisScript = {
  source: `
local key = KEYS[1]
local prefix, me, ttl, expected, identity = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local function serverOf(value) return string.match(value, '^([^|]*)') end
local function tagOf(value) return string.match(value, '^[^|]*|([^|]*)') end
local function alive(server) return redis.call('EXISTS', prefix .. 'srv:' .. server) == 1 end
local version = tonumber(redis.call('HGET', key, '#v') or '0')
if expected ~= '' and tonumber(expected) ~= version then
  return { 'conflict', tostring(version) }
end
local i = 6
local nops = tonumber(ARGV[i]); i = i + 1
local changed = false
local statuses = {}
for n = 1, nops do
  local kind, field, a, b = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  local current = redis.call('HGET', key, field)
  local status = 'ok'
  if kind == 'set' then
    redis.call('HSET', key, field, a)
    changed = true
  elseif kind == 'del' then
    if current then redis.call('HDEL', key, field); changed = true end
  elseif kind == 'mine' then
    if current and serverOf(current) == me and tagOf(current) == a then
      if b == '' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, b) end
      changed = true
    else
      status = 'gone'
    end
  elseif kind == 'reclaim' then
    if (not current) or (serverOf(current) == me and tagOf(current) == a)
      or not alive(serverOf(current)) then
      redis.call('HSET', key, field, b)
      changed = true
    else
      status = 'taken'
    end
  end
  statuses[n] = status
end
local nevict = tonumber(ARGV[i]); i = i + 1
local evictions = {}
for n = 1, nevict do
  evictions[n] = { ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4] }
  i = i + 5
end
if changed then
  local t = redis.call('TIME')
  version = math.max(version + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('HSET', key, '#v', string.format('%d', version))
end
local snapshot = redis.call('HGETALL', key)
if #snapshot <= 2 then
  redis.call('DEL', key)
else
  redis.call('PEXPIRE', key, ttl)
end
if changed then
  local servers = {}
  for j = 1, #snapshot, 2 do
    if snapshot[j] ~= '#v' then servers[serverOf(snapshot[j + 1])] = true end
  end
  for _, e in ipairs(evictions) do servers[e[1]] = true end
  servers[me] = nil
  local encoded = '[]'
  if #snapshot > 0 then encoded = cjson.encode(snapshot) end
  for server in pairs(servers) do
    if alive(server) then
      redis.call('XADD', prefix .. 'inbox:' .. server, 'NOMKSTREAM', '*',
        't', 'd', 'i', identity, 'b', encoded)
    end
  end
  for _, e in ipairs(evictions) do
    if alive(e[1]) then
      redis.call('XADD', prefix .. 'inbox:' .. e[1], 'NOMKSTREAM', '*',
        't', 'x', 'n', e[2], 'g', e[3], 'c', e[4], 'd', e[5])
    end
  end
end
return { 'ok', string.format('%d', version), statuses, snapshot }
`,
};

/** One operation of {@link DIRECTORY_SCRIPT}. */
export type DirectoryOp =
  | { kind: "set"; field: string; value: string }
  | { kind: "del"; field: string }
  | { kind: "mine"; field: string; tag: string; value: string }
  | { kind: "reclaim"; field: string; tag: string; value: string };

/** A session of another server that a change ends: that server is told to end it. */
export interface Eviction {
  /** The server holding it. */
  server: string;
  /** Its node (lower case). */
  nodeKey: string;
  /** Its tag there (a later session of the same node is left alone). */
  tag: string;
  /** The reason its session gets. */
  code: number;
  /** The reason's description. */
  description: string;
}

/** The script's arguments after KEYS: prefix, me, ttl, expected, identity, ops, evictions. */
export function directoryArgs(
  context: { prefix: string; me: string; ttl: number; identityKey: string },
  expected: number | undefined,
  ops: readonly DirectoryOp[],
  evictions: readonly Eviction[] = [],
): string[] {
  const args = [
    context.prefix,
    context.me,
    String(context.ttl),
    expected === undefined ? "" : String(expected),
    context.identityKey,
    String(ops.length),
  ];
  for (const op of ops) {
    switch (op.kind) {
      case "set":
        args.push("set", op.field, op.value, "");
        break;
      case "del":
        args.push("del", op.field, "", "");
        break;
      default:
        args.push(op.kind, op.field, op.tag, op.value);
    }
  }
  args.push(String(evictions.length));
  for (const e of evictions) {
    args.push(e.server, e.nodeKey, e.tag, String(e.code), e.description);
  }
  return args;
}

/** What the script answered. */
export type DirectoryReply =
  | { ok: true; version: number; statuses: string[]; snapshot: string[] }
  | { ok: false; version: number };

/** Reads the script's reply. */
export function readDirectoryReply(reply: unknown): DirectoryReply {
  const [status, version, statuses, snapshot] = reply as [string, string, string[], string[]];
  if (status === "conflict") return { ok: false, version: Number(version) };
  return { ok: true, version: Number(version), statuses, snapshot };
}
