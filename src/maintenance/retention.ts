/**
 * Backup object names and retention. Pure: plain data in, the decision out.
 *
 * Names: `<cluster>/<UTC time>-r<revision>.db`, time as 20261201T093000Z (sorts as it reads), with
 * `<same>.db.sha256` beside it once the snapshot was verified. Retention keeps at most `keep` snapshots
 * and none older than `maxAge`, but never deletes the newest verified one, whatever the settings.
 */

export interface BackupObject {
  /** Object name relative to the store root (`<cluster>/<time>-r<rev>.db`). */
  name: string;
  time: Date;
  revision: number;
  sizeBytes: number;
  /** Its `.sha256` companion exists. */
  verified: boolean;
}

export interface Retention {
  keep?: number;
  maxAgeMs?: number;
}

function stamp(t: Date): string {
  return t
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Cluster names may hold a slash (`namespace/name`): each part must be a safe path segment. */
export function clusterPath(cluster: string): string {
  const parts = cluster.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9._-]+$/.test(p))) {
    throw new Error(
      `cluster name "${cluster}" cannot name a backup folder (letters, digits, ".", "_", "-", one "/")`,
    );
  }
  return parts.join('/');
}

export function objectName(cluster: string, time: Date, revision: number): string {
  return `${clusterPath(cluster)}/${stamp(time)}-r${revision}.db`;
}

const NAME = /^(\d{8}T\d{6}Z)-r(\d+)\.db$/;

/** Parse the file part of an object name written by objectName (undefined for anything else). */
export function parseObjectName(base: string): { time: Date; revision: number } | undefined {
  const m = NAME.exec(base);
  if (!m) return undefined;
  const s = m[1]!;
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`;
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? undefined : { time, revision: Number(m[2]) };
}

/** Which objects to delete under the policy at `now`; the rest stay. */
export function retentionPlan(
  objects: BackupObject[],
  policy: Retention,
  now: Date,
): { keep: BackupObject[]; remove: BackupObject[] } {
  const sorted = [...objects].sort((a, b) => b.time.getTime() - a.time.getTime() || b.revision - a.revision);
  const newestVerified = sorted.find((o) => o.verified);
  const keep: BackupObject[] = [];
  const remove: BackupObject[] = [];
  let kept = 0;
  for (const o of sorted) {
    const tooMany = policy.keep !== undefined && kept >= policy.keep;
    const tooOld = policy.maxAgeMs !== undefined && now.getTime() - o.time.getTime() > policy.maxAgeMs;
    if (o === newestVerified || (!tooMany && !tooOld)) {
      keep.push(o);
      kept++;
    } else {
      remove.push(o);
    }
  }
  return { keep, remove };
}
