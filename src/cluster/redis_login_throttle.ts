/**
 * The sign-in throttle of a cluster: the same rules as `LoginThrottle` (free failures, then a
 * delay doubling with every failure up to a cap; attempts in progress count; a success clears
 * the identity), with the counts in Redis, so that guessing an identity's password on several
 * servers at once gains nothing. Per identity and per source address alike. One Lua script per
 * check and per settlement keeps each atomic. Times come from the server's clock (servers' clocks
 * must agree within a second or so). Attempts in progress are forgotten after a minute (a server
 * that died while checking one does not hold the identity's slots longer). While Redis cannot be
 * reached, sign-ins that would be throttled are refused (11): none is checked unthrottled.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Reason } from "../errors.ts";
import { ReasonCode } from "../generated/reasons.generated.ts";
import type {
  LoginThrottleOptions,
  SignInThrottle,
  ThrottleLimits,
} from "../server/guard/login_throttle.ts";
import type { RedisLink, RedisScript } from "./redis_link.ts";

/** How long an attempt in progress counts without being settled, ms. */
const PENDING_TTL = 60_000;

const COMMON = `
local now, forget, pendingTtl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function state(key)
  if key == '' then return 0, 0, 0 end
  local s = redis.call('HMGET', key, 'c', 'l', 'p', 'pt')
  local c, l, p, pt = tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[3]) or 0, tonumber(s[4]) or 0
  if c > 0 and now - l >= forget then c = 0 end
  if p > 0 and now - pt >= pendingTtl then p = 0 end
  return c, l, p
end
local function keep(key)
  redis.call('PEXPIRE', key, math.max(forget, pendingTtl))
end
local function pend(key, by)
  if key == '' then return end
  local c, l, p = state(key)
  redis.call('HSET', key, 'p', math.max(0, p + by), 'pt', now)
  keep(key)
end
`;

const CHECK: RedisScript = {
  source: COMMON + `
local function wait(key, free, base, max)
  local c, l = state(key)
  if c < free or c == 0 then return 0 end
  return l + math.min(max, base * 2 ^ math.min(30, c - free)) - now
end
local wi = wait(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
local wa = wait(KEYS[2], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
if wi > 0 or wa > 0 then
  local which = 'a'
  if wi >= wa then which = 'i' end
  return { 'wait', tostring(math.max(wi, wa)), which }
end
local ci, _, pi = state(KEYS[1])
if pi > 0 and ci + pi >= tonumber(ARGV[4]) then return { 'busy', '0', 'i' } end
local ca, _, pa = state(KEYS[2])
if pa > 0 and ca >= tonumber(ARGV[7]) then return { 'busy', '0', 'a' } end
pend(KEYS[1], 1)
pend(KEYS[2], 1)
return { 'ok', '0', '' }
`,
};

const SETTLE: RedisScript = {
  source: COMMON + `
local verdict = ARGV[4]
pend(KEYS[1], -1)
pend(KEYS[2], -1)
if verdict == 'failed' then
  for _, key in ipairs(KEYS) do
    if key ~= '' then
      local c = state(key)
      redis.call('HSET', key, 'c', c + 1, 'l', now)
      keep(key)
    end
  end
elseif verdict == 'succeeded' then
  redis.call('HDEL', KEYS[1], 'c', 'l')
end
return 1
`,
};

const IDENTITY: ThrottleLimits = { free: 5, baseDelay: 1_000, maxDelay: 60_000 };
const ADDRESS: ThrottleLimits = { free: 20, baseDelay: 1_000, maxDelay: 300_000 };

/** Failure counts in Redis, shared by the servers of a cluster. */
export class RedisLoginThrottle implements SignInThrottle {
  readonly #link: RedisLink;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #identity: ThrottleLimits;
  readonly #address: ThrottleLimits;
  readonly #forgetAfter: number;

  /** A throttle keeping its counts under `prefix` (`maxKeys` is Redis's business: TTLs). */
  constructor(link: RedisLink, prefix: string, clock: Clock, options: LoginThrottleOptions = {}) {
    this.#link = link;
    this.#prefix = prefix;
    this.#clock = clock;
    this.#identity = { ...IDENTITY, ...options.identity };
    this.#address = { ...ADDRESS, ...options.address };
    this.#forgetAfter = options.forgetAfter ?? 15 * 60_000;
  }

  #keys(identity: string, address: string | undefined): string[] {
    return [
      `${this.#prefix}i:${identity.toLowerCase()}`,
      address === undefined ? "" : `${this.#prefix}a:${address}`,
    ];
  }

  #common(): number[] {
    return [this.#clock.now(), this.#forgetAfter, PENDING_TTL];
  }

  /** Why an attempt must wait, or undefined (then it is in progress until settled). */
  async check(identity: string, address: string | undefined): Promise<Reason | undefined> {
    const i = this.#identity;
    const a = this.#address;
    let reply: [string, string, string];
    try {
      reply = await this.#link.eval(CHECK, this.#keys(identity, address), [
        ...this.#common(),
        i.free,
        i.baseDelay,
        i.maxDelay,
        a.free,
        a.baseDelay,
        a.maxDelay,
      ]);
    } catch {
      return {
        code: ReasonCode.SESSION_ERROR,
        description:
          "Sign-ins cannot be checked now (the cluster engine is unreachable); try again",
      };
    }
    const [status, wait, which] = reply;
    const who = which === "i" ? "this identity" : "this address";
    if (status === "wait") {
      return {
        code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
        description: `Too many failed sign-ins for ${who}; try again in ${
          Math.ceil(Number(wait) / 1000)
        } s`,
      };
    }
    if (status === "busy") {
      return {
        code: ReasonCode.AUTHORIZATION_QUOTA_THRESHOLD_EXCEEDED,
        description: `Sign-ins for ${who} are already being checked; try again in 1 s`,
      };
    }
    return undefined;
  }

  #settle(identity: string, address: string | undefined, verdict: string): void {
    this.#link.eval(SETTLE, this.#keys(identity, address), [...this.#common(), verdict]).catch(
      () => {
        // Unreachable: the attempt stops counting as in progress after PENDING_TTL.
      },
    );
  }

  /** Settles a checked attempt as failed. */
  failed(identity: string, address: string | undefined): void {
    this.#settle(identity, address, "failed");
  }

  /** Settles a checked attempt as a success: the identity's failures are forgotten. */
  succeeded(identity: string, address: string | undefined): void {
    this.#settle(identity, address, "succeeded");
  }

  /** Settles a checked attempt that ended without a verdict. */
  abandoned(identity: string, address: string | undefined): void {
    this.#settle(identity, address, "abandoned");
  }
}
