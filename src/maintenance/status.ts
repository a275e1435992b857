/**
 * The maintenance part of a cluster's status (pure): `status.backup`, `status.maintenance` and the
 * BackupReady condition laid over the verdict of the last round, with the condition's transition time
 * kept while its status stays the same.
 */
import type { Condition, EtcdMonitorStatus } from '../crd/types.js';
import type { MaintenanceScheduler } from './scheduler.js';

export function withMaintenance(
  status: EtcdMonitorStatus,
  s: MaintenanceScheduler,
  previousReady: Condition | undefined,
  now: Date,
): { status: EtcdMonitorStatus; ready?: Condition } {
  const check = s.backupReady(now);
  const out: EtcdMonitorStatus = {
    ...status,
    conditions: status.conditions.filter((c) => c.type !== 'BackupReady'),
  };
  if (Object.keys(s.backup).length > 0) out.backup = { ...s.backup };
  if (Object.keys(s.maintenance).length > 0) out.maintenance = { ...s.maintenance };
  if (!check) return { status: out };
  const ready: Condition = {
    ...check,
    lastTransitionTime:
      previousReady && previousReady.status === check.status
        ? previousReady.lastTransitionTime
        : now.toISOString(),
    ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
  };
  out.conditions = [...out.conditions, ready];
  return { status: out, ready };
}
