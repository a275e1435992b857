/** assembleStatus(): the round's facts and conditions → the status object of SPEC §2 (pure). */
import type { Condition, EtcdMonitorStatus, LatencyStatus, MemberStatus } from '../crd/types.js';
import type { Facts } from './analyse.js';
import { hasLeaderOf, healthyOf, phaseOf } from './checks.js';
import { humanBytes, humanMs, round } from './format.js';

function memberStatuses(f: Facts, prev: EtcdMonitorStatus | undefined): MemberStatus[] {
  const lastErrors = new Map((prev?.members ?? []).map((m) => [m.id || m.endpoint, m.lastError]));
  return f.members.map((m) => {
    const ms: MemberStatus = {
      name: m.name,
      id: m.id,
      endpoint: m.endpoint,
      role: m.role,
      healthy: m.healthy,
      errors: m.errors,
      lastError:
        m.probeErrors.length > 0 ? m.probeErrors[m.probeErrors.length - 1]! : (lastErrors.get(m.key) ?? ''),
    };
    const s = m.obs?.status;
    if (s) {
      ms.version = s.version;
      ms.dbSizeBytes = s.dbSizeBytes;
      ms.dbSizeInUseBytes = s.dbSizeInUseBytes;
      ms.raftTerm = s.raftTerm;
      ms.raftIndex = s.raftIndex;
      ms.raftAppliedIndex = s.raftAppliedIndex;
    }
    if (m.obs?.healthLatencyMs !== undefined) ms.probeLatencyMs = round(m.obs.healthLatencyMs);
    return ms;
  });
}

function latencyStatus(f: Facts): LatencyStatus {
  const { read, write, probe, notes } = f.latency;
  const l: LatencyStatus = {};
  if (read) {
    l.readP99Ms = read.ms;
    l.readP99Kind = read.kind;
    l.readSamples = read.samples;
  }
  if (write) {
    l.writeP99Ms = write.ms;
    l.writeP99Kind = write.kind;
    l.writeSamples = write.samples;
  }
  if (probe) l.probeP99Ms = probe.ms;
  if (notes.length > 0) l.notes = notes;
  return l;
}

export function assembleStatus(
  f: Facts,
  conditions: Condition[],
  prev: EtcdMonitorStatus | undefined,
  generation: number | undefined,
): EtcdMonitorStatus {
  const members = memberStatuses(f, prev);
  const healthyMembers = members.filter((m) => m.healthy).length;
  const latency = latencyStatus(f);
  const changed = f.leaderChange.changed;
  const status: EtcdMonitorStatus = {
    phase: phaseOf(conditions),
    healthy: healthyOf(conditions),
    hasLeader: hasLeaderOf(conditions),
    memberCount: f.members.length,
    healthyMembers,
    quorumSize: f.quorumSize,
    versions: f.versions,
    // The last known list while no member answers the alarm list (AlarmActive=Unknown says so).
    alarms: f.alarms.known ? f.alarms.list : (prev?.alarms ?? []),
    latency,
    leaderChanges: (prev?.leaderChanges ?? 0) + (changed ? 1 : 0),
    lastProbeTime: f.nowIso,
    summary: {
      members: `${healthyMembers}/${f.members.length}`,
      dbSize: humanBytes(f.db.sizeBytes),
      latency: humanMs(latency.writeP99Ms ?? latency.readP99Ms ?? latency.probeP99Ms),
    },
    members,
    conditions,
  };
  if (generation !== undefined) status.observedGeneration = generation;
  if (status.hasLeader && f.leader.agreed)
    status.leader = {
      name: f.leader.name ?? f.leader.agreed,
      id: f.leader.agreed,
      endpoint: f.leader.endpoint ?? '',
    };
  if (f.clusterID) status.clusterID = f.clusterID;
  if (f.db.sizeBytes !== undefined) status.dbSizeBytes = f.db.sizeBytes;
  if (f.db.inUseBytes !== undefined) status.dbSizeInUseBytes = f.db.inUseBytes;
  if (f.db.quotaBytes !== undefined) status.dbQuotaBytes = f.db.quotaBytes;
  if (f.db.quotaUsedPercent !== undefined) status.dbQuotaUsedPercent = f.db.quotaUsedPercent;
  if (f.requestRatePerSecond !== undefined) status.requestRatePerSecond = f.requestRatePerSecond;
  const lastChange = changed ? f.nowIso : prev?.lastLeaderChangeTime;
  if (lastChange) status.lastLeaderChangeTime = lastChange;
  return status;
}
