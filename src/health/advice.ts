/**
 * status.advice[] (SPEC §10): the checks' verdicts → the advice list, with hysteresis and Events.
 *
 * - Raised when its check holds RAISE_ROUNDS judged rounds in a row (one odd round is not advice), and
 *   told once as an AdviceRaised Event; kept with its `since` while it holds.
 * - Cleared when its check, judging against the clear level (adviceChecks.ts), says it no longer holds:
 *   an AdviceCleared Event. A round that cannot judge it (no figures) keeps it, unless the member it is
 *   about has left the cluster.
 * - The previous status is the memory of what is active, so an operator restart raises nothing twice.
 * - Advice never changes the phase or a condition.
 */
import type { Advice, AdviceCode, AdviceSeverity } from '../crd/types.js';
import { FIGURE_CHECKS, type AdviceInputs, type Finding, type Verdict } from './adviceChecks.js';
import { SHAPE_CHECKS } from './adviceShapeChecks.js';

export const RAISE_ROUNDS = 2;
const ALL_CHECKS = [...FIGURE_CHECKS, ...SHAPE_CHECKS];

export interface AdviceMemory {
  /** Advice key → judged rounds in a row it has held without being raised yet. */
  pending: Record<string, number>;
  /** Member key → since when it has been seen as a learner (epoch ms). */
  learnerSince: Record<string, number>;
}

export function emptyAdviceMemory(): AdviceMemory {
  return { pending: {}, learnerSince: {} };
}

export interface AdviceEvent {
  type: 'Normal' | 'Warning';
  reason: 'AdviceRaised' | 'AdviceCleared';
  message: string;
}

const SEVERITY_RANK: Record<AdviceSeverity, number> = { critical: 0, warning: 1, info: 2 };

function keyOf(code: AdviceCode, member?: string): string {
  return member ? `${code}/${member}` : code;
}

function about(a: { code: AdviceCode; member?: string }): string {
  return a.member ? `${a.code} (member ${a.member})` : a.code;
}

function raised(f: Finding): AdviceEvent {
  return {
    type: f.severity === 'info' ? 'Normal' : 'Warning',
    reason: 'AdviceRaised',
    message: `${f.severity} advice ${about(f)}: ${f.message}`,
  };
}

function cleared(a: Advice, why: string): AdviceEvent {
  return { type: 'Normal', reason: 'AdviceCleared', message: `advice ${about(a)} cleared: ${why}` };
}

/** The learners seen this round, with the time each was first seen as one. */
export function learnerSince(
  inputs: Pick<AdviceInputs, 'members' | 'time'>,
  mem: AdviceMemory,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of inputs.members) if (m.isLearner) out[m.key] = mem.learnerSince[m.key] ?? inputs.time;
  return out;
}

export function judgeAdvice(
  inputs: AdviceInputs,
  previous: readonly Advice[] | undefined,
  mem: AdviceMemory,
): { advice: Advice[]; events: AdviceEvent[]; memory: AdviceMemory } {
  const nowIso = new Date(inputs.time).toISOString();
  const active = new Map((previous ?? []).map((a) => [keyOf(a.code, a.member), a]));
  const isActive = (code: AdviceCode, member?: string): boolean => active.has(keyOf(code, member));
  const verdicts: Verdict[] = ALL_CHECKS.flatMap((c) => c(inputs, isActive));
  const judged = new Set<string>();
  const advice: Advice[] = [];
  const events: AdviceEvent[] = [];
  const pending: Record<string, number> = {};
  for (const v of verdicts) {
    const k = keyOf(v.code, v.member);
    judged.add(k);
    const was = active.get(k);
    if (v.finding && was) advice.push({ ...v.finding, since: was.since });
    else if (v.finding) {
      const n = (mem.pending[k] ?? 0) + 1;
      if (n >= RAISE_ROUNDS) {
        advice.push({ ...v.finding, since: nowIso });
        events.push(raised(v.finding));
      } else pending[k] = n;
    } else if (was) events.push(cleared(was, 'no longer holds'));
  }
  const names = new Set(inputs.members.map((m) => m.name));
  for (const [k, a] of active) {
    if (judged.has(k)) continue;
    if (a.member && !names.has(a.member)) events.push(cleared(a, 'the member left the cluster'));
    else advice.push(a);
  }
  advice.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      a.code.localeCompare(b.code) ||
      (a.member ?? '').localeCompare(b.member ?? ''),
  );
  return { advice, events, memory: { pending, learnerSince: inputs.learnerSince } };
}

/** "0", or "3 (1 warning)": the count and the worst severity, for printer columns. */
export function adviceSummary(advice: readonly Advice[]): string {
  if (advice.length === 0) return '0';
  const worst = advice.reduce(
    (w, a) => (SEVERITY_RANK[a.severity] < SEVERITY_RANK[w] ? a.severity : w),
    'info' as AdviceSeverity,
  );
  const n = advice.filter((a) => a.severity === worst).length;
  return `${advice.length} (${n} ${worst})`;
}
