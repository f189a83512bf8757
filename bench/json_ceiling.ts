/**
 * The receiving side of the JSON ceiling in `transport_throughput.ts` (shared by its one-thread
 * and split modes).
 * @module
 */

/**
 * A `data` handler for the JSON ceiling: decodes the stream (UTF-8, streaming) and runs
 * `JSON.parse` on each envelope, cut at the lengths it was told in advance; calls `done` after
 * the last one.
 */
export function parseKnownLengths(
  done: () => void,
  lengths: readonly number[],
): (chunk: Uint8Array) => void {
  const decoder = new TextDecoder();
  let text = "";
  let next = 0;
  return (chunk) => {
    text += decoder.decode(chunk, { stream: true });
    let at = 0;
    while (next < lengths.length && text.length - at >= lengths[next]) {
      JSON.parse(text.slice(at, at += lengths[next]));
      if (++next === lengths.length) done();
    }
    text = text.slice(at);
  };
}
