/**
 * One small check per condition (the model: etcd-druid's internal/health/condition), each reading the
 * round's facts; the phase, `healthy` and `hasLeader` are then read off the conditions, so they can never
 * disagree with them.
 */
import type { Condition, ConditionType, Phase } from '../crd/types.js';
import type { Facts } from './analyse.js';
import type { ConditionCheck } from './conditions.js';
import { latencyReason } from './latency.js';

export type CheckResult = Omit<ConditionCheck, 'type'>;
type Check = (f: Facts) => CheckResult;

/** Healthy = quorum of healthy voting members AND one agreed leader AND no alarm (SPEC §3). */
export function clusterHealthy(f: Facts): boolean {
  return f.quorate && f.leader.hasLeader && f.alarms.list.length === 0 && !f.leader.splitBrain;
}

function leaderText(f: Facts): string {
  return f.leader.name ?? f.leader.agreed ?? '';
}

function unhealthyReasons(f: Facts): string[] {
  const out: string[] = [];
  if (!f.anyAnswer)
    out.push(
      f.firstStatusError ? `no member answered (first error: ${f.firstStatusError})` : 'no member answered',
    );
  if (!f.quorate)
    out.push(`no quorum (${f.healthyVoters}/${f.voters} voting members healthy, ${f.quorumSize} needed)`);
  if (f.leader.splitBrain) out.push('members disagree on the leader within one term');
  else if (!f.leader.hasLeader) out.push('no leader');
  if (f.alarms.list.length > 0) out.push(`alarms active: ${f.alarms.list.map((a) => a.type).join(', ')}`);
  return out;
}

function unhealthyReason(f: Facts): string {
  if (!f.anyAnswer) return 'Unreachable';
  if (!f.quorate) return 'QuorumLost';
  if (f.leader.splitBrain) return 'SplitBrainSuspected';
  if (!f.leader.hasLeader) return 'NoLeader';
  return 'AlarmActive';
}

const healthyCheck: Check = (f) =>
  clusterHealthy(f)
    ? {
        status: 'True',
        reason: 'ClusterHealthy',
        message: `${f.healthyVoters}/${f.voters} voting members healthy, leader ${leaderText(f)}`,
      }
    : { status: 'False', reason: unhealthyReason(f), message: unhealthyReasons(f).join('; ') };

const quorumCheck: Check = (f) => ({
  status: f.quorate ? 'True' : 'False',
  reason: f.quorate ? 'QuorumAvailable' : 'QuorumLost',
  message: `${f.healthyVoters} of ${f.voters} voting members healthy, quorum ${f.quorumSize}`,
});

const leaderCheck: Check = (f) => {
  if (f.leader.splitBrain)
    return {
      status: 'False',
      reason: 'SplitBrainSuspected',
      message: f.leader.splitTerms.map(([t, s]) => `term ${t}: ${s.join(', ')}`).join('; '),
    };
  if (f.leader.hasLeader)
    return {
      status: 'True',
      reason: 'LeaderElected',
      message: `leader ${leaderText(f)} (${f.leader.agreed}) in term ${f.leader.maxTerm}`,
    };
  return {
    status: 'False',
    reason: 'NoLeader',
    message: f.anyAnswer ? 'no leader agreed by the responding members' : 'no member answered',
  };
};

/** Why a quorate cluster is Degraded: members down or lagging, or a threshold crossed. */
export function degradedReasons(f: Facts): string[] {
  const th = f.thresholds;
  const out: string[] = [];
  const down = f.members.filter((m) => !m.healthy).map((m) => m.name);
  if (down.length > 0) out.push(`unhealthy members: ${down.join(', ')}`);
  const lagging = f.members.filter((m) => m.lagging).map((m) => m.name);
  if (lagging.length > 0)
    out.push(
      `lagging behind the leader by more than ${th.raftIndexLagWarning} entries: ${lagging.join(', ')}`,
    );
  const latency = latencyReason(f.latency.verdict, th.latencyWarningMs, f.time);
  if (latency) out.push(latency);
  const pct = f.db.quotaUsedPercent;
  if (pct !== undefined && pct >= th.dbQuotaWarningPercent)
    out.push(`database at ${pct}% of its quota (warning at ${th.dbQuotaWarningPercent}%)`);
  const changes = f.leaderChange.recentTimes.length;
  if (changes > th.leaderChangesWarningPerHour)
    out.push(`${changes} leader changes in the last hour (warning above ${th.leaderChangesWarningPerHour})`);
  return out;
}

const degradedCheck: Check = (f) => {
  if (!clusterHealthy(f))
    return { status: 'False', reason: 'ClusterUnhealthy', message: 'the cluster is unhealthy, not degraded' };
  const reasons = degradedReasons(f);
  if (reasons.length === 0)
    return {
      status: 'False',
      reason: 'AllMembersHealthy',
      message: 'no member down, lagging or over a threshold',
    };
  const reason = f.members.some((m) => !m.healthy)
    ? 'MemberUnhealthy'
    : f.members.some((m) => m.lagging)
      ? 'MemberLagging'
      : 'ThresholdExceeded';
  return { status: 'True', reason, message: reasons.join('; ') };
};

const alarmCheck: Check = (f) => {
  const { known, list } = f.alarms;
  if (list.length > 0) {
    const nameOf = (id: string): string => f.members.find((m) => m.id === id)?.name ?? id;
    return {
      status: 'True',
      reason: list[0]!.type,
      message: list.map((a) => `${a.type} on ${nameOf(a.memberID)}`).join(', '),
    };
  }
  return known
    ? { status: 'False', reason: 'NoAlarm', message: 'no active alarm' }
    : { status: 'Unknown', reason: 'AlarmsUnknown', message: 'no member answered the alarm list' };
};

const configCheck: Check = (f) =>
  f.configError
    ? { status: 'False', reason: f.configError.reason, message: f.configError.message }
    : { status: 'True', reason: 'Valid', message: 'configuration accepted' };

/** Every condition of a probed cluster and the check that decides it, in the status's order. */
export const CONDITION_CHECKS: ReadonlyArray<readonly [ConditionType, Check]> = [
  ['Healthy', healthyCheck],
  ['QuorumAvailable', quorumCheck],
  ['LeaderElected', leaderCheck],
  ['Degraded', degradedCheck],
  ['AlarmActive', alarmCheck],
  ['ConfigValid', configCheck],
];

export function runChecks(f: Facts): ConditionCheck[] {
  return CONDITION_CHECKS.map(([type, check]) => ({ type, ...check(f) }));
}

type ConditionView = Pick<Condition, 'type' | 'status' | 'reason'>;

function find(conditions: readonly ConditionView[], type: ConditionType): ConditionView | undefined {
  return conditions.find((c) => c.type === type);
}

/** The verdict read off the conditions: Unreachable / Unhealthy (Healthy=False), Degraded (Degraded=True), else Healthy. */
export function phaseOf(conditions: readonly ConditionView[]): Phase {
  const healthy = find(conditions, 'Healthy');
  if (healthy?.status !== 'True') return healthy?.reason === 'Unreachable' ? 'Unreachable' : 'Unhealthy';
  return find(conditions, 'Degraded')?.status === 'True' ? 'Degraded' : 'Healthy';
}

export function healthyOf(conditions: readonly ConditionView[]): boolean {
  return find(conditions, 'Healthy')?.status === 'True';
}

export function hasLeaderOf(conditions: readonly ConditionView[]): boolean {
  return find(conditions, 'LeaderElected')?.status === 'True';
}
