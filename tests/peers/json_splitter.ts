/**
 * The scripted peers' own framer, kept apart from the module's (`src/transport/framing.ts`) so a
 * peer does not share the bugs it is meant to find: lime-csharp's JsonBuffer algorithm (count
 * braces outside strings; an object ends when the count returns to zero), with anything between
 * objects discarded, as lime-csharp and Go's `json.Decoder` do.
 * @module
 */

/** Splits a stream of text chunks into parsed JSON objects. */
export class JsonSplitter {
  readonly #decoder = new TextDecoder();
  #text = "";
  #scan = 0;
  #start = -1;
  #depth = 0;
  #inString = false;
  #escaping = false;

  /** Adds a chunk and returns the objects it completes, in order. */
  push(chunk: Uint8Array | string): Record<string, unknown>[] {
    this.#text += typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    const objects: Record<string, unknown>[] = [];
    for (; this.#scan < this.#text.length; this.#scan++) {
      const c = this.#text[this.#scan];
      if (this.#inString) {
        if (this.#escaping) this.#escaping = false;
        else if (c === "\\") this.#escaping = true;
        else if (c === '"') this.#inString = false;
      } else if (c === '"' && this.#depth > 0) this.#inString = true;
      else if (c === "{" && this.#depth++ === 0) this.#start = this.#scan;
      else if (c === "}" && this.#depth > 0 && --this.#depth === 0) {
        objects.push(JSON.parse(this.#text.slice(this.#start, this.#scan + 1)));
        this.#text = this.#text.slice(this.#scan + 1);
        this.#scan = -1;
      }
    }
    if (this.#depth === 0) {
      this.#text = "";
      this.#scan = 0;
    }
    return objects;
  }
}
