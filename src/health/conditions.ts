/** metav1.Condition bookkeeping: lastTransitionTime moves only when a condition's status changes. */
import type { Condition, ConditionType } from '../crd/types.js';

export interface ConditionCheck {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export const CONDITION_ORDER: readonly ConditionType[] = [
  'Healthy',
  'QuorumAvailable',
  'LeaderElected',
  'Degraded',
  'AlarmActive',
  'ConfigValid',
];

export function buildConditions(
  checks: readonly ConditionCheck[],
  previous: readonly Condition[] | undefined,
  now: string,
  observedGeneration?: number,
): Condition[] {
  const prev = new Map((previous ?? []).map((c) => [c.type, c]));
  const byType = new Map(checks.map((c) => [c.type, c]));
  const out: Condition[] = [];
  for (const type of CONDITION_ORDER) {
    const c = byType.get(type);
    if (!c) continue;
    const before = prev.get(type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now;
    const cond: Condition = { ...c, lastTransitionTime };
    if (observedGeneration !== undefined) cond.observedGeneration = observedGeneration;
    out.push(cond);
  }
  return out;
}
