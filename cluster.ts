/**
 * The cluster engine on Redis: several `LimeServer` processes serve one domain through one
 * Redis (node-redis, `npm:redis`). Deno and Node only: not part of `web.ts`.
 *
 * @example Two servers of one domain
 * ```ts ignore
 * import { LimeServer } from "./mod.ts";
 * import { RedisAccountStore, RedisEngine } from "./cluster.ts";
 *
 * const store = await RedisAccountStore.open("redis://127.0.0.1:6379", "lime:localhost:");
 * const server = new LimeServer({
 *   store,
 *   engine: new RedisEngine({ url: "redis://127.0.0.1:6379" }),
 *   tcp: { port: 55321 },
 * });
 * await server.start();
 * ```
 * @module
 */
export {
  RedisEngine,
  type RedisEngineOptions,
  type RedisEngineStats,
} from "./src/cluster/redis_engine.ts";
export { RedisAccountStore } from "./src/cluster/redis_account_store.ts";
export { RedisLoginThrottle } from "./src/cluster/redis_login_throttle.ts";
export {
  type RedisArg,
  type RedisBackoff,
  RedisLink,
  type RedisScript,
} from "./src/cluster/redis_link.ts";
export { ServerLiveness } from "./src/cluster/server_liveness.ts";
