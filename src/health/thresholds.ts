/** spec.thresholds (or the standalone flags of the same names) → the Thresholds the verdict and the advice use. */
import { parseDuration } from '../crd/duration.js';
import type { EtcdMonitorSpec, SizeTier } from '../crd/types.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './analyse.js';

export type SpecThresholds = NonNullable<EtcdMonitorSpec['thresholds']>;

export class ThresholdError extends Error {}

const TIERS: readonly SizeTier[] = ['small', 'medium', 'large', 'xlarge'];

/** The fields spec.thresholds and Thresholds share, as plain numbers. */
const NUMERIC = [
  'latencyWarningMs',
  'dbQuotaWarningPercent',
  'leaderChangesWarningPerHour',
  'defragFragmentationPercent',
  'defragReclaimableBytes',
  'quotaExhaustionMinPercent',
  'walFsyncP99Ms',
  'backendCommitP99Ms',
  'heartbeatIntervalMs',
] as const satisfies ReadonlyArray<keyof SpecThresholds & keyof Thresholds>;

function ms(field: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  try {
    return parseDuration(text);
  } catch (e) {
    throw new ThresholdError(`thresholds.${field}: ${(e as Error).message}`);
  }
}

export function resolveThresholds(t: SpecThresholds | undefined): Thresholds {
  const d = DEFAULT_THRESHOLDS;
  const s = t ?? {};
  if (s.hardwareTier !== undefined && !TIERS.includes(s.hardwareTier))
    throw new ThresholdError(
      `thresholds.hardwareTier: "${String(s.hardwareTier)}" is not one of ${TIERS.join(', ')}`,
    );
  const out: Thresholds = {
    ...d,
    quotaExhaustionWarningMs: ms(
      'quotaExhaustionWarning',
      s.quotaExhaustionWarning,
      d.quotaExhaustionWarningMs,
    ),
    quotaExhaustionCriticalMs: ms(
      'quotaExhaustionCritical',
      s.quotaExhaustionCritical,
      d.quotaExhaustionCriticalMs,
    ),
    learnerPromotionTimeoutMs: ms(
      'learnerPromotionTimeout',
      s.learnerPromotionTimeout,
      d.learnerPromotionTimeoutMs,
    ),
    adviceWindowMs: ms('adviceWindow', s.adviceWindow, d.adviceWindowMs),
  };
  for (const k of NUMERIC) {
    const v = s[k];
    if (v !== undefined) out[k] = v;
  }
  if (out.adviceWindowMs < 10_000) throw new ThresholdError('thresholds.adviceWindow: must be at least 10s');
  if (s.hardwareTier) out.hardwareTier = s.hardwareTier;
  return out;
}
