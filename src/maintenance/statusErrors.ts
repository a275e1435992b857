/**
 * Which of a member's Status errors make it unfit for a backup or a defragmentation. etcd lists every
 * active alarm there too (`memberID:… alarm:NOSPACE`). A NOSPACE member still serves reads, snapshots,
 * compaction and defragmentation (the way out of NOSPACE is compact, defragment, disarm), so that alarm
 * does not count; anything else (CORRUPT, no leader, …) does.
 */
export function blockingErrors(errors: readonly string[]): string[] {
  return errors.filter((e) => !/\balarm:NOSPACE\b/.test(e));
}
