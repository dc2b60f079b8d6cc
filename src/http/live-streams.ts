/**
 * Open live-event streams by user, so cutting a user off (disable, delete, sign out everywhere)
 * ends their streams in this process at once; each stream also re-checks its sign-in on every
 * heartbeat, which covers streams held by other web processes.
 */
const open = new Map<number, Set<() => void>>();

export function trackStream(userId: number | null, end: () => void): () => void {
  if (userId === null) return () => {};
  const set = open.get(userId) ?? new Set();
  set.add(end);
  open.set(userId, set);
  return () => {
    set.delete(end);
    if (set.size === 0) open.delete(userId);
  };
}

/** Ends every open stream of this user (in this process); returns how many there were. */
export function endStreams(userId: number): number {
  const set = open.get(userId);
  if (!set) return 0;
  open.delete(userId);
  for (const end of [...set]) end();
  return set.size;
}
