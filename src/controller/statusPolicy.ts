/**
 * When the operator writes status (pure): only when something a user would care about changed,
 * plus a heartbeat so lastProbeTime and the figures never look frozen for long.
 */
import type { EtcdMonitorStatus } from '../crd/types.js';

export const DEFAULT_HEARTBEAT_MS = 5 * 60_000;

/** The part of a status whose change is worth a write; volatile figures (raft index, latency…) are not. */
export function significant(s: EtcdMonitorStatus | undefined): unknown {
  if (!s) return undefined;
  return {
    observedGeneration: s.observedGeneration,
    phase: s.phase,
    healthy: s.healthy,
    hasLeader: s.hasLeader,
    leader: s.leader,
    clusterID: s.clusterID,
    memberCount: s.memberCount,
    healthyMembers: s.healthyMembers,
    quorumSize: s.quorumSize,
    versions: s.versions,
    alarms: s.alarms,
    leaderChanges: s.leaderChanges,
    summaryMembers: s.summary.members,
    summaryDbSize: s.summary.dbSize,
    // Advice raised, cleared or changed severity is news; its figures (and status.capacity) ride the heartbeat.
    advice: (s.advice ?? []).map((a) => [a.code, a.severity, a.member, a.since]),
    // "p99 latency 233ms above 100ms" → "p99 latency 406ms above 100ms" is the same news: the figure
    // itself is in latency/summary (refreshed by the heartbeat); a status or reason change is a write.
    conditions: s.conditions.map((c) => [
      c.type,
      c.status,
      c.reason,
      stripNumbers(c.message),
      c.observedGeneration,
    ]),
    members: s.members.map((m) => [
      m.name,
      m.id,
      m.endpoint,
      m.role,
      m.healthy,
      m.version,
      m.errors.map(stripNumbers),
    ]),
  };
}

/** Error texts and condition messages carry figures ("no answer within 700ms"); numbers alone do not make a change. */
function stripNumbers(s: string): string {
  return s.replace(/\d+(\.\d+)?/g, '#');
}

export interface WriteDecision {
  write: boolean;
  reason: 'first' | 'changed' | 'heartbeat' | 'unchanged';
}

export function decideWrite(
  written: EtcdMonitorStatus | undefined,
  next: EtcdMonitorStatus,
  lastWriteMs: number | undefined,
  nowMs: number,
  heartbeatMs = DEFAULT_HEARTBEAT_MS,
): WriteDecision {
  if (!written || lastWriteMs === undefined) return { write: true, reason: 'first' };
  if (JSON.stringify(significant(written)) !== JSON.stringify(significant(next)))
    return { write: true, reason: 'changed' };
  if (nowMs - lastWriteMs >= heartbeatMs) return { write: true, reason: 'heartbeat' };
  return { write: false, reason: 'unchanged' };
}
