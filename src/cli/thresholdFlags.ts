/**
 * Standalone threshold flags: spec.thresholds' names in kebab case (SPEC §10), e.g. --wal-fsync-p99-ms,
 * --quota-exhaustion-warning=168h. --defrag-fragmentation-percent and --defrag-reclaimable-bytes also set
 * the scheduled defragmentation's thresholds (maintenanceFlags.ts).
 */
import type { Thresholds } from '../health/evaluate.js';
import { resolveThresholds, ThresholdError, type SpecThresholds } from '../health/thresholds.js';
import { UsageError, str, type Values } from './args.js';

type Kind = 'number' | 'duration' | 'tier';

/** Flag → the spec.thresholds field it sets, and how its text is read. */
const FIELDS: Record<string, [keyof SpecThresholds, Kind]> = {
  'latency-warning-ms': ['latencyWarningMs', 'number'],
  'db-quota-warning-percent': ['dbQuotaWarningPercent', 'number'],
  'leader-changes-warning-per-hour': ['leaderChangesWarningPerHour', 'number'],
  'defrag-fragmentation-percent': ['defragFragmentationPercent', 'number'],
  'defrag-reclaimable-bytes': ['defragReclaimableBytes', 'number'],
  'quota-exhaustion-warning': ['quotaExhaustionWarning', 'duration'],
  'quota-exhaustion-critical': ['quotaExhaustionCritical', 'duration'],
  'quota-exhaustion-min-percent': ['quotaExhaustionMinPercent', 'number'],
  'wal-fsync-p99-ms': ['walFsyncP99Ms', 'number'],
  'backend-commit-p99-ms': ['backendCommitP99Ms', 'number'],
  'heartbeat-interval-ms': ['heartbeatIntervalMs', 'number'],
  'learner-promotion-timeout': ['learnerPromotionTimeout', 'duration'],
  'hardware-tier': ['hardwareTier', 'tier'],
  'advice-window': ['adviceWindow', 'duration'],
};

export const THRESHOLD_FLAGS = Object.fromEntries(
  Object.keys(FIELDS)
    .filter((f) => !f.startsWith('defrag-'))
    .map((f) => [f, { type: 'string' as const }]),
);

/** The flag names that only make sense when monitoring (for the guide's --run-benchmark form). */
export const THRESHOLD_FLAG_NAMES = Object.keys(THRESHOLD_FLAGS);

export function thresholdsFromFlags(v: Values): Thresholds {
  const spec: Record<string, unknown> = {};
  for (const [flag, [field, kind]] of Object.entries(FIELDS)) {
    const text = str(v, flag);
    if (text === undefined) continue;
    if (kind === 'number') {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || n < 0)
        throw new UsageError(`--${flag}: "${text}" is not a number ≥ 0`);
      spec[field] = n;
    } else spec[field] = text;
  }
  try {
    return resolveThresholds(spec as SpecThresholds);
  } catch (e) {
    if (e instanceof ThresholdError)
      throw new UsageError(e.message.replace(/^thresholds\.(\w+)/, (_, f: string) => `--${flagOf(f)}`));
    throw e;
  }
}

function flagOf(field: string): string {
  return Object.entries(FIELDS).find(([, [f]]) => f === field)?.[0] ?? field;
}
