/**
 * Calls an application handler without letting it break the caller: a throw or a rejection is
 * logged, not propagated.
 * @module
 */
import type { Handler } from "../channel/channel.ts";

/** Calls `handler` with `value`; logs what it throws or rejects with. */
export function callHandler<T>(handler: Handler<T>, value: T): void {
  try {
    const result = handler(value);
    if (result instanceof Promise) {
      result.catch((error) => console.error("LIME client: a handler rejected", error));
    }
  } catch (error) {
    console.error("LIME client: a handler threw", error);
  }
}
