/** JSON views over the monitor state for the API (pure). */
import type { ClusterMonitor, RoundResult } from '../monitor/clusterMonitor.js';

export function clusterSummary(m: ClusterMonitor): Record<string, unknown> {
  const s = m.status;
  return {
    name: m.name,
    phase: s?.phase ?? 'Pending',
    healthy: s?.healthy ?? false,
    leader: s?.leader?.name ?? null,
    members: s?.summary.members ?? null,
    dbSize: s?.summary.dbSize ?? null,
    latency: s?.summary.latency ?? null,
    lastProbeTime: s?.lastProbeTime ?? null,
    /** status.summary.advice: "0", or "3 (1 warning)" (SPEC §10). */
    advice: s?.summary.advice ?? null,
  };
}

export function currentFigures(r: RoundResult): Record<string, unknown> {
  const s = r.evaluation.status;
  return {
    cluster: r.cluster,
    time: new Date(r.observation.time).toISOString(),
    probeRoundMs: r.durationMs,
    healthy: s.healthy,
    hasLeader: s.hasLeader,
    phase: s.phase,
    memberCount: s.memberCount,
    healthyMembers: s.healthyMembers,
    quorumSize: s.quorumSize,
    leaderChanges: s.leaderChanges,
    readLatencyP99Ms: s.latency.readP99Ms ?? null,
    /** p99, or max when the figure comes from too few samples for a p99 (see the status's latency.notes). */
    readLatencyKind: s.latency.readP99Kind ?? null,
    writeLatencyP99Ms: s.latency.writeP99Ms ?? null,
    writeLatencyKind: s.latency.writeP99Kind ?? null,
    probeLatencyP99Ms: s.latency.probeP99Ms ?? null,
    latencyNotes: s.latency.notes ?? [],
    requestRatePerSecond: s.requestRatePerSecond ?? null,
    dbSizeBytes: s.dbSizeBytes ?? null,
    dbSizeInUseBytes: s.dbSizeInUseBytes ?? null,
    dbQuotaBytes: s.dbQuotaBytes ?? null,
    dbQuotaUsedPercent: s.dbQuotaUsedPercent ?? null,
    alarms: s.alarms,
    /** SPEC §10: the capacity trends and the active advice, as in the status. */
    capacity: s.capacity ?? null,
    advice: s.advice ?? [],
    members: r.evaluation.members.map((m) => ({
      name: m.name,
      id: m.id,
      endpoint: m.endpoint,
      healthy: m.healthy,
      isLeader: m.isLeader,
      isLearner: m.isLearner,
      alarms: m.alarms,
      raftIndexLag: m.raftIndexLag ?? null,
      probeLatencyMs: m.probeSeconds !== undefined ? m.probeSeconds * 1000 : null,
      dbSizeBytes: m.dbSizeBytes ?? null,
      proposalsCommitted: m.metrics?.proposalsCommitted ?? null,
      proposalsPending: m.metrics?.proposalsPending ?? null,
      proposalsFailed: m.metrics?.proposalsFailed ?? null,
      memoryBytes: m.metrics?.residentMemoryBytes ?? null,
      activeConnections: m.metrics?.openGrpcCalls ?? null,
      watchers: m.metrics?.watchers ?? null,
    })),
  };
}
