/** Standalone flags for scheduled backups and defragmentation (SPEC §9) → a MaintenanceConfig. */
import { parseDuration } from '../crd/duration.js';
import type { MaintenanceConfig } from '../maintenance/scheduler.js';
import { findRestoreTools, InProcessRestoreTester } from '../maintenance/restoreTest.js';
import { parseSchedule, ScheduleError } from '../maintenance/schedule.js';
import { LocalStore, S3Store, type SnapshotStore } from '../maintenance/stores.js';
import { UsageError, choiceFlag, numberFlag, str, type Values } from './args.js';

export const MAINTENANCE_FLAGS = {
  'backup-schedule': { type: 'string' },
  'backup-dir': { type: 'string' },
  'backup-keep': { type: 'string' },
  'backup-max-age': { type: 'string' },
  'backup-member': { type: 'string' },
  'backup-s3-endpoint': { type: 'string' },
  'backup-s3-bucket': { type: 'string' },
  'backup-s3-prefix': { type: 'string' },
  'backup-s3-region': { type: 'string' },
  'backup-s3-virtual-hosted': { type: 'boolean' },
  'backup-restore-test': { type: 'boolean' },
  'defrag-schedule': { type: 'string' },
  'defrag-fragmentation-percent': { type: 'string' },
  'defrag-reclaimable-bytes': { type: 'string' },
  'defrag-disarm-nospace': { type: 'boolean' },
} as const;

function schedule(v: Values, name: string): string {
  const text = str(v, name)!;
  try {
    parseSchedule(text);
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as ScheduleError).message}`);
  }
  return text;
}

function backupStore(v: Values, env: NodeJS.ProcessEnv): SnapshotStore {
  const dir = str(v, 'backup-dir');
  const bucket = str(v, 'backup-s3-bucket');
  if ((dir === undefined) === (bucket === undefined))
    throw new UsageError(
      '--backup-schedule needs exactly one destination: --backup-dir=PATH or --backup-s3-bucket=NAME',
    );
  if (dir !== undefined) return new LocalStore(dir);
  // Read from the environment at every request, so a supervisor that rewrites it is picked up.
  const credentials = async (): Promise<{ accessKeyId: string; secretAccessKey: string }> => {
    const accessKeyId = env.ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey)
      throw new Error(
        'no S3 credentials: set ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID and ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)',
      );
    return { accessKeyId, secretAccessKey };
  };
  return new S3Store({
    endpoint: str(v, 'backup-s3-endpoint'),
    bucket: bucket!,
    prefix: str(v, 'backup-s3-prefix'),
    region: str(v, 'backup-s3-region'),
    forcePathStyle: v['backup-s3-virtual-hosted'] !== true,
    credentials,
  });
}

/** undefined when no maintenance flag is given; a UsageError for a half or wrong configuration. */
export function maintenanceConfig(
  v: Values,
  env: NodeJS.ProcessEnv,
  cluster: string,
  timeoutMs: number,
): MaintenanceConfig | undefined {
  const cfg: MaintenanceConfig = { cluster, timeoutMs, idleTimeoutMs: 30_000, overallTimeoutMs: 3_600_000 };
  const backupFlags = Object.keys(MAINTENANCE_FLAGS).filter(
    (k) => k.startsWith('backup-') && v[k] !== undefined,
  );
  if (str(v, 'backup-schedule') !== undefined) {
    let maxAgeMs: number | undefined;
    const maxAge = str(v, 'backup-max-age');
    if (maxAge !== undefined) {
      try {
        maxAgeMs = parseDuration(maxAge);
      } catch (e) {
        throw new UsageError(`--backup-max-age: ${(e as Error).message}`);
      }
    }
    cfg.backup = {
      schedule: schedule(v, 'backup-schedule'),
      member: choiceFlag(v, 'backup-member', ['follower', 'leader', 'any'] as const, 'follower'),
      retention: {
        keep: str(v, 'backup-keep') !== undefined ? numberFlag(v, 'backup-keep', 10, 1, 100_000) : 10,
        maxAgeMs,
      },
      store: backupStore(v, env),
    };
    if (v['backup-restore-test'] === true) {
      const tools = findRestoreTools(env);
      if (!tools)
        throw new UsageError('--backup-restore-test needs etcd and etcdutl (or a 3.4 etcdctl) on PATH');
      cfg.backup.restoreTest = new InProcessRestoreTester(tools, timeoutMs * 12);
    }
  } else if (backupFlags.length > 0) {
    throw new UsageError(`--${backupFlags[0]} needs --backup-schedule`);
  }
  if (str(v, 'defrag-schedule') !== undefined) {
    cfg.defragmentation = {
      schedule: schedule(v, 'defrag-schedule'),
      minFragmentationPercent: numberFlag(v, 'defrag-fragmentation-percent', 50, 0, 100),
      minReclaimableBytes: numberFlag(v, 'defrag-reclaimable-bytes', 104_857_600, 0),
      disarmNoSpace: v['defrag-disarm-nospace'] === true,
    };
  }
  return cfg.backup || cfg.defragmentation ? cfg : undefined;
}
