/** Leader agreement and leader changes of one round (pure). */
import type { ClusterObservation } from '../etcd/observation.js';

export interface LeaderAgreement {
  /** The leader the responding members name at the highest term, when they name exactly one. */
  agreed?: string;
  /** Terms in which responding members name different leaders: split brain suspected. */
  splitTerms: Array<[term: number, leaders: string[]]>;
  maxTerm: number;
}

export function leaderAgreement(obs: ClusterObservation): LeaderAgreement {
  const byTerm = new Map<number, Set<string>>();
  let maxTerm = 0;
  for (const m of obs.members) {
    const s = m.status;
    if (!s) continue;
    maxTerm = Math.max(maxTerm, s.raftTerm);
    if (s.leaderId === '0') continue;
    const set = byTerm.get(s.raftTerm) ?? new Set<string>();
    set.add(s.leaderId);
    byTerm.set(s.raftTerm, set);
  }
  const splitTerms: LeaderAgreement['splitTerms'] = [...byTerm.entries()]
    .filter(([, s]) => s.size > 1)
    .map(([t, s]) => [t, [...s]]);
  const atMax = byTerm.get(maxTerm);
  const out: LeaderAgreement = { splitTerms, maxTerm };
  if (atMax && atMax.size === 1) out.agreed = [...atMax][0]!;
  return out;
}

export const HOUR_MS = 3_600_000;

export interface LeaderChange {
  /** The leader changed since the last round that had one (lastLeaderId). */
  changed: boolean;
  from?: string;
  /** Times of the changes within the last hour, this one included. */
  recentTimes: number[];
}

/** Compare this round's leader with the last known one (kept across leaderless rounds). */
export function leaderChange(
  leader: string | undefined,
  lastLeaderId: string | undefined,
  times: readonly number[],
  now: number,
): LeaderChange {
  const changed = leader !== undefined && lastLeaderId !== undefined && lastLeaderId !== leader;
  const recentTimes = [...times, ...(changed ? [now] : [])].filter((t) => now - t <= HOUR_MS);
  const out: LeaderChange = { changed, recentTimes };
  if (changed) out.from = lastLeaderId;
  return out;
}
