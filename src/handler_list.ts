/**
 * Lists of callbacks that are never changed in place: adding or removing one makes a new,
 * exactly-sized array, so a callback may remove itself or add another while the list is being
 * called. As with `EventTarget`: one added meanwhile gets the next call, not the current one, and
 * one removed meanwhile is not called any more, even by the current call (see {@link stillListed}).
 * An array of one costs a quarter of a `Set`, and the empty list is shared: a server keeps a few
 * such lists per session, most of them empty or of one.
 * @module
 */

/** The empty list (shared: nothing changes it). */
export const NO_HANDLERS: readonly never[] = Object.freeze([]);

/** `list` with `handler` at the end; `list` itself when it has it already (a set's semantics). */
export function withHandler<T>(list: readonly T[], handler: T): readonly T[] {
  // `concat`, not a spread: a spread leaves room for 16 more.
  return list.includes(handler) ? list : list.concat([handler]);
}

/** `list` without `handler`. */
export function withoutHandler<T>(list: readonly T[], handler: T): readonly T[] {
  return list.filter((h) => h !== handler);
}

/**
 * Whether `handler`, taken from `snapshot` (the list when a call began), is to be called: yes
 * unless the list changed since (`current`) and no longer has it.
 */
export function stillListed<T>(snapshot: readonly T[], current: readonly T[], handler: T): boolean {
  return snapshot === current || current.includes(handler);
}
