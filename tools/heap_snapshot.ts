/**
 * Reads a V8 heap snapshot (`.heapsnapshot`, as `node:v8` `writeHeapSnapshot` writes it) into
 * totals per kind of object: how many and how many bytes (their own size, not what they retain).
 * Objects are keyed by constructor name, closures by function name, the rest by V8's node type
 * (`array`, `string`, `native`…). Used by `session_heap.ts`.
 * @module
 */

/** How many objects of one kind, and their bytes. */
export interface HeapKind {
  count: number;
  bytes: number;
}

/** A snapshot's objects by kind, with the totals. */
export interface HeapCensus {
  kinds: Map<string, HeapKind>;
  count: number;
  bytes: number;
}

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Counts the objects of the snapshot at `path`. */
export async function heapCensus(path: string): Promise<HeapCensus> {
  const file = JSON.parse(await Deno.readTextFile(path)) as SnapshotFile;
  const fields = file.snapshot.meta.node_fields;
  const types = file.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const kinds = new Map<string, HeapKind>();
  let count = 0;
  let bytes = 0;
  const { nodes, strings } = file;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const name = strings[nodes[i + nameAt]];
    const key = type === "object"
      ? name.slice(0, 40)
      : type === "closure"
      ? `closure ${name.slice(0, 40) || "(anonymous)"}`
      : `(${type})`;
    const size = nodes[i + sizeAt];
    const kind = kinds.get(key) ?? { count: 0, bytes: 0 };
    kind.count++;
    kind.bytes += size;
    kinds.set(key, kind);
    count++;
    bytes += size;
  }
  return { kinds, count, bytes };
}

/** What `after` holds more than `before`, per unit (`per`: e.g. per session), largest first. */
export function censusGrowth(
  before: HeapCensus,
  after: HeapCensus,
  per: number,
): { count: number; bytes: number; kinds: [string, HeapKind][] } {
  const kinds: [string, HeapKind][] = [];
  for (const [key, kind] of after.kinds) {
    const old = before.kinds.get(key) ?? { count: 0, bytes: 0 };
    kinds.push([key, {
      count: (kind.count - old.count) / per,
      bytes: (kind.bytes - old.bytes) / per,
    }]);
  }
  kinds.sort((a, b) => b[1].bytes - a[1].bytes);
  return {
    count: (after.count - before.count) / per,
    bytes: (after.bytes - before.bytes) / per,
    kinds,
  };
}
