/**
 * transitions(): what changed since the previous status, told once as Events, and the memory the next
 * round starts from. Apart from the judgement: the conditions say what *is*, this says what *changed*.
 *
 * The previous status is the memory of member health, quorum, split brain and alarms. In operator mode
 * it is the status an earlier operator wrote, so a restart (or a failover to another replica) re-emits
 * nothing that status already shows: a member still down gets no second MemberUnhealthy, one that
 * recovered meanwhile gets its MemberRecovered. A status that never judged a member (none, Pending) makes
 * every problem news once.
 */
import type { EtcdMonitorStatus } from '../crd/types.js';
import { emptyMemory, type Facts, type Memory } from './analyse.js';
import { HOUR_MS } from './leader.js';

export interface ClusterEvent {
  type: 'Normal' | 'Warning';
  reason:
    | 'LeaderChanged'
    | 'MemberUnhealthy'
    | 'MemberRecovered'
    | 'QuorumLost'
    | 'QuorumRestored'
    | 'AlarmRaised'
    | 'AlarmCleared'
    | 'SplitBrainSuspected'
    | 'ConfigInvalid'
    | 'BackupSucceeded'
    | 'BackupFailed'
    | 'DefragmentationCompleted'
    | 'DefragmentationSkipped'
    | 'DefragmentationFailed'
    | 'AdviceRaised'
    | 'AdviceCleared';
  message: string;
}

function memberEvents(prev: EtcdMonitorStatus | undefined, f: Facts): ClusterEvent[] {
  const was = new Map((prev?.members ?? []).map((m) => [m.id || m.endpoint, m.healthy]));
  const out: ClusterEvent[] = [];
  for (const m of f.members) {
    const before = was.get(m.key);
    const who = `member ${m.name} (${m.endpoint})`;
    const why = m.probeErrors.join('; ') || 'not healthy';
    if (before === undefined && !m.healthy)
      out.push({ type: 'Warning', reason: 'MemberUnhealthy', message: `${who} is unhealthy: ${why}` });
    else if (before === true && !m.healthy)
      out.push({ type: 'Warning', reason: 'MemberUnhealthy', message: `${who} became unhealthy: ${why}` });
    else if (before === false && m.healthy)
      out.push({ type: 'Normal', reason: 'MemberRecovered', message: `${who} is healthy again` });
  }
  return out;
}

function wasQuorate(prev: EtcdMonitorStatus | undefined): boolean | undefined {
  const c = prev?.conditions.find((x) => x.type === 'QuorumAvailable');
  return c?.status === 'True' ? true : c?.status === 'False' ? false : undefined;
}

function quorumEvents(prev: EtcdMonitorStatus | undefined, f: Facts): ClusterEvent[] {
  const before = wasQuorate(prev);
  const counts = `${f.healthyVoters}/${f.voters} voting members healthy`;
  if (before === true && !f.quorate)
    return [
      { type: 'Warning', reason: 'QuorumLost', message: `quorum lost: ${counts}, ${f.quorumSize} needed` },
    ];
  if (before === undefined && !f.quorate)
    return [
      { type: 'Warning', reason: 'QuorumLost', message: `no quorum: ${counts}, ${f.quorumSize} needed` },
    ];
  if (before === false && f.quorate)
    return [{ type: 'Normal', reason: 'QuorumRestored', message: `quorum restored: ${counts}` }];
  return [];
}

function splitBrainEvents(prev: EtcdMonitorStatus | undefined, f: Facts): ClusterEvent[] {
  const before = prev?.conditions.find((c) => c.type === 'LeaderElected')?.reason === 'SplitBrainSuspected';
  if (!f.leader.splitBrain || before) return [];
  const detail = f.leader.splitTerms.map(([t, s]) => `term ${t}: leaders ${s.join(', ')}`).join('; ');
  return [
    {
      type: 'Warning',
      reason: 'SplitBrainSuspected',
      message: `members disagree on the leader within one term (${detail})`,
    },
  ];
}

/** Alarms raised and cleared; only judged in a round whose alarm list is known (the status keeps the last known list). */
function alarmEvents(prev: EtcdMonitorStatus | undefined, f: Facts): ClusterEvent[] {
  if (!f.alarms.known) return [];
  const key = (a: { memberID: string; type: string }): string => `${a.memberID}/${a.type}`;
  const before = new Map((prev?.alarms ?? []).map((a) => [key(a), a]));
  const now = new Set(f.alarms.list.map(key));
  const nameOf = (id: string): string => f.members.find((m) => m.id === id)?.name ?? id;
  const out: ClusterEvent[] = [];
  for (const a of f.alarms.list)
    if (!before.has(key(a)))
      out.push({
        type: 'Warning',
        reason: 'AlarmRaised',
        message: `alarm ${a.type} raised on member ${nameOf(a.memberID)}`,
      });
  for (const [k, a] of before)
    if (!now.has(k))
      out.push({
        type: 'Normal',
        reason: 'AlarmCleared',
        message: `alarm ${a.type} cleared on member ${nameOf(a.memberID)}`,
      });
  return out;
}

function leaderEvents(f: Facts): ClusterEvent[] {
  const from = f.leaderChange.from;
  if (!f.leaderChange.changed || from === undefined) return [];
  const oldName = f.members.find((m) => m.id === from)?.name ?? from;
  return [
    {
      type: 'Normal',
      reason: 'LeaderChanged',
      message: `leader changed from ${oldName} (${from}) to ${f.leader.name} (${f.leader.agreed})`,
    },
  ];
}

export function transitions(
  prev: EtcdMonitorStatus | undefined,
  f: Facts,
  memory: Memory,
): { events: ClusterEvent[]; memory: Memory } {
  const events = [
    ...memberEvents(prev, f),
    ...alarmEvents(prev, f),
    ...leaderEvents(f),
    ...quorumEvents(prev, f),
    ...splitBrainEvents(prev, f),
  ];
  const next: Memory = {
    leaderChangeTimes: f.leaderChange.recentTimes,
    prevMetrics: f.nextPrevMetrics,
    latency: f.latency.next,
    planning: memory.planning,
  };
  const lastLeaderId = f.leader.hasLeader ? f.leader.agreed : memory.lastLeaderId;
  if (lastLeaderId !== undefined) next.lastLeaderId = lastLeaderId;
  return { events, memory: next };
}

/** The memory to start from when all that survived is a status (an operator restart): the leader it showed. */
export function memoryFromStatus(s: EtcdMonitorStatus, now: number): Memory {
  const m = emptyMemory();
  if (s.leader?.id) m.lastLeaderId = s.leader.id;
  const last = s.lastLeaderChangeTime ? Date.parse(s.lastLeaderChangeTime) : NaN;
  if (Number.isFinite(last) && now - last <= HOUR_MS) m.leaderChangeTimes = [last];
  return m;
}
