/**
 * What a webhook bot remembers of the deliveries it took, to refuse a replay and to run its
 * handler once per delivery: the signatures seen within the timestamp window (a request sent
 * again as it was is a replay: refused), and the ids of deliveries handled recently (a retry of
 * one, signed anew by the server, is answered without running the handler again). Both are
 * bounded (the oldest are forgotten first). One isolate's memory: several instances of a bot
 * (Deno Deploy) each remember their own, so a retry landing on another instance runs the handler
 * again (at least once, as the server promises); dedupe by message id where that matters.
 * @module
 */
import { AgedMap } from "../aged_map.ts";

/** Signatures and delivery ids seen recently. */
export class ReplayGuard {
  readonly #windowMs: number;
  readonly #max: number;
  readonly #signatures = new AgedMap<string, number>();
  readonly #handled = new AgedMap<string, number>();
  readonly #running = new Set<string>();

  /** Remembers for `windowMs` (signatures: until their timestamp leaves the window), at most `max`. */
  constructor(windowMs: number, max = 10_000) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  /** Records a signature; false when it was seen already (a replay). */
  firstSignature(signature: string, timestampMs: number): boolean {
    this.#expire(this.#signatures);
    if (this.#signatures.has(signature)) return false;
    this.#remember(this.#signatures, signature, timestampMs + this.#windowMs);
    return true;
  }

  /** What to do with delivery `id`: run it, answer it as done, or ask for a later retry (busy). */
  begin(id: string): "run" | "done" | "busy" {
    this.#expire(this.#handled);
    if (this.#handled.has(id)) return "done";
    if (this.#running.has(id)) return "busy";
    this.#running.add(id);
    return "run";
  }

  /** Delivery `id` ended: handled (remembered) or not (a retry runs it again). */
  end(id: string, handled: boolean): void {
    this.#running.delete(id);
    if (handled) this.#remember(this.#handled, id, Date.now() + 6 * this.#windowMs);
  }

  #remember(map: AgedMap<string, number>, key: string, until: number): void {
    if (!map.has(key) && map.size >= this.#max) map.deleteOldest();
    map.set(key, until);
  }

  // Oldest first, up to the first that has not expired.
  #expire(map: AgedMap<string, number>): void {
    const now = Date.now();
    for (let oldest = map.oldest(); oldest && oldest[1] <= now; oldest = map.oldest()) {
      map.deleteOldest();
    }
  }
}
