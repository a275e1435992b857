/** The table of what /metrics shows per cluster and member (SPEC §4): each family's name, help, type and reader. */
import type { RoundResult } from '../monitor/clusterMonitor.js';

type MemberFigure = RoundResult['evaluation']['members'][number];

/** Every family this exporter writes, in order: what each sample line shows. */
type Family = { name: string; help: string; type: 'gauge' | 'counter' | 'histogram' } & (
  | { kind: 'cluster'; value: (r: RoundResult) => number | undefined }
  | { kind: 'member'; value: (m: MemberFigure) => number | undefined }
  | {
      kind:
        | 'alarm'
        | 'leaderChanges'
        | 'probeDuration'
        | 'probeErrors'
        | 'backupDuration'
        | 'backupFailures'
        | 'defragReclaimed'
        | 'advice';
    }
);

/** Seconds since the epoch of an ISO time, or undefined. */
function epoch(t: string | undefined): number | undefined {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

export const BACKUP_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
export const BACKUP_LES = [...BACKUP_BUCKETS.map((b) => `${b}`), '+Inf'];

export const PROBE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const PROBE_LES = [...PROBE_BUCKETS.map((b) => `${b}`), '+Inf'];

const leaderChangesSpec = {
  name: 'etcd_cluster_leader_changes_total',
  help: 'Leader changes this monitor observed (the agreed leader ID changed between rounds).',
};
const probeDurationSpec = {
  name: 'etcd_member_probe_duration_seconds',
  help: "Duration of the linearizable health read against each member (latency samples only: a read that set up its connection, or during which the monitor's event loop was stalled, is left out).",
};
const probeErrorsSpec = {
  name: 'etcd_monitor_probe_errors_total',
  help: 'Failed probe calls by kind (status, health, alarms, metrics, member_list, write).',
};

/** A gauge per cluster (label cluster) or per member (labels cluster, member), read from the latest round. */
const clusterGauge = (name: string, help: string, value: (r: RoundResult) => number | undefined): Family => ({
  name,
  help,
  type: 'gauge',
  kind: 'cluster',
  value,
});
const memberGauge = (name: string, help: string, value: (m: MemberFigure) => number | undefined): Family => ({
  name,
  help,
  type: 'gauge',
  kind: 'member',
  value,
});

/** Every family, in output order: the one table of what /metrics shows (scheduled maintenance, SPEC §9, only for clusters with a schedule). */
export const FAMILIES: Family[] = [
  clusterGauge(
    'etcd_cluster_healthy',
    'Whether the cluster is healthy: quorum of healthy voting members, one agreed leader, no alarm (1/0).',
    (r) => (r.evaluation.status.healthy ? 1 : 0),
  ),
  clusterGauge('etcd_cluster_has_leader', 'Whether the members agree on one leader (1/0).', (r) =>
    r.evaluation.status.hasLeader ? 1 : 0,
  ),
  clusterGauge(
    'etcd_cluster_member_count',
    'Members in the cluster (member list, learners included).',
    (r) => r.evaluation.status.memberCount,
  ),
  clusterGauge(
    'etcd_cluster_quorum_size',
    'Voting members needed for quorum.',
    (r) => r.evaluation.status.quorumSize,
  ),
  clusterGauge(
    'etcd_cluster_healthy_members',
    'Members that answered Status and a linearizable read in the last round.',
    (r) => r.evaluation.status.healthyMembers,
  ),
  clusterGauge(
    'etcd_cluster_db_quota_used_ratio',
    'Largest member database size divided by the backend quota.',
    (r) =>
      r.evaluation.status.dbQuotaUsedPercent !== undefined
        ? r.evaluation.status.dbQuotaUsedPercent / 100
        : undefined,
  ),
  clusterGauge(
    'etcd_request_read_latency_p99_milliseconds',
    "p99 server handling time of Range requests over the last interval, from the members' gRPC histograms; when those are not exported, of the monitor's own health reads (the last 120; their max below 100, see status latency.readP99Kind).",
    (r) => r.evaluation.status.latency.readP99Ms,
  ),
  clusterGauge(
    'etcd_request_write_latency_p99_milliseconds',
    "p99 server handling time of Put/DeleteRange/Txn requests over the last interval, from the members' gRPC histograms (or the opt-in write probe).",
    (r) => r.evaluation.status.latency.writeP99Ms,
  ),
  clusterGauge(
    'etcd_request_rate_per_second',
    'gRPC requests handled per second across members over the last interval (grpc_server_handled_total).',
    (r) => r.evaluation.status.requestRatePerSecond,
  ),
  clusterGauge(
    'etcd_monitor_cluster_probe_success',
    'Whether at least one member answered the last probe round (1/0).',
    (r) => (r.evaluation.status.phase === 'Unreachable' ? 0 : 1),
  ),
  clusterGauge(
    'etcd_monitor_last_probe_timestamp_seconds',
    'When the last probe round started.',
    (r) => r.observation.time / 1000,
  ),
  memberGauge(
    'etcd_mvcc_db_total_size_bytes',
    'Physically allocated size of the member backend database (Maintenance.Status dbSize).',
    (m) => m.dbSizeBytes,
  ),
  memberGauge(
    'etcd_server_proposals_committed_total',
    "Mirror of the member's etcd_server_proposals_committed_total.",
    (m) => m.metrics?.proposalsCommitted,
  ),
  memberGauge(
    'etcd_server_proposals_pending',
    "Mirror of the member's etcd_server_proposals_pending.",
    (m) => m.metrics?.proposalsPending,
  ),
  memberGauge(
    'etcd_server_proposals_failed_total',
    "Mirror of the member's etcd_server_proposals_failed_total.",
    (m) => m.metrics?.proposalsFailed,
  ),
  memberGauge(
    'etcd_server_memory_usage_bytes',
    'Resident memory of the member process (its process_resident_memory_bytes).',
    (m) => m.metrics?.residentMemoryBytes,
  ),
  memberGauge(
    'etcd_server_disk_usage_bytes',
    "Disk space held by the member's backend database file (Maintenance.Status dbSize; WAL and snapshots not included).",
    (m) => m.dbSizeBytes,
  ),
  memberGauge(
    'etcd_server_active_connections',
    'Open gRPC calls and streams on the member (grpc_server_started_total - grpc_server_handled_total).',
    (m) => m.metrics?.openGrpcCalls,
  ),
  memberGauge(
    'etcd_server_watchers',
    'Watchers registered on the member (its etcd_debugging_mvcc_watcher_total).',
    (m) => m.metrics?.watchers,
  ),
  memberGauge(
    'etcd_member_healthy',
    'Whether the member answered Status and a linearizable read in the last round (1/0).',
    (m) => (m.healthy ? 1 : 0),
  ),
  memberGauge('etcd_member_is_leader', 'Whether the member is the agreed leader (1/0).', (m) =>
    m.isLeader ? 1 : 0,
  ),
  memberGauge('etcd_member_is_learner', 'Whether the member is a learner (non-voting) (1/0).', (m) =>
    m.isLearner ? 1 : 0,
  ),
  memberGauge(
    'etcd_member_raft_index_lag',
    "How many raft entries the member's committed index trails the leader's.",
    (m) => m.raftIndexLag,
  ),
  {
    name: 'etcd_member_alarm',
    help: 'Whether the alarm is active on the member (1/0), from Maintenance.Alarm.',
    type: 'gauge',
    kind: 'alarm',
  },
  memberGauge(
    'etcd_member_db_fragmentation_ratio',
    'Share of the member backend that is free space only a defragmentation returns: 1 - dbSizeInUse/dbSize.',
    (m) =>
      m.dbSizeBytes && m.dbSizeInUseBytes !== undefined ? 1 - m.dbSizeInUseBytes / m.dbSizeBytes : undefined,
  ),
  clusterGauge(
    'etcd_cluster_db_growth_bytes_per_second',
    'Growth of the largest member backend from a robust fit over the kept history (status.capacity; compaction and defragmentation drops are not negative growth). Absent until the history holds 30 rounds over 60 s.',
    (r) => r.evaluation.capacity.growthPerSecond,
  ),
  clusterGauge(
    'etcd_cluster_db_quota_exhaustion_timestamp_seconds',
    'When the backend reaches the quota at that growth. Absent when it is not growing or the quota is unknown.',
    (r) => r.evaluation.capacity.exhaustionEpochSeconds,
  ),
  clusterGauge(
    'etcd_cluster_db_reclaimable_bytes',
    'What a defragmentation of the most fragmented member would return (dbSize - dbSizeInUse).',
    (r) => r.evaluation.status.capacity?.reclaimableBytes,
  ),
  clusterGauge(
    'etcd_cluster_write_revisions_per_second',
    'Store revisions per second over the advice window (one per write transaction).',
    (r) => r.evaluation.status.capacity?.writeRevisionsPerSecond,
  ),
  {
    name: 'etcd_cluster_advice',
    help: 'Active advice (status.advice): 1 while raised, by code and severity (and member when it is about one).',
    type: 'gauge',
    kind: 'advice',
  },
  { ...leaderChangesSpec, type: 'counter', kind: 'leaderChanges' },
  { ...probeDurationSpec, type: 'histogram', kind: 'probeDuration' },
  { ...probeErrorsSpec, type: 'counter', kind: 'probeErrors' },
  clusterGauge(
    'etcd_backup_last_success_timestamp_seconds',
    'When the last backup whose etcd hash matched was stored.',
    (r) => epoch(r.maintenance?.backup.lastSuccessTime),
  ),
  clusterGauge(
    'etcd_backup_last_size_bytes',
    'Size of the last stored backup (database plus its 32-byte hash).',
    (r) => (r.maintenance?.backup.lastSuccessTime ? r.maintenance.backup.sizeBytes : undefined),
  ),
  clusterGauge(
    'etcd_backup_last_revision',
    "The member's revision when the last stored backup began.",
    (r) => (r.maintenance?.backup.lastSuccessTime ? r.maintenance.backup.revision : undefined),
  ),
  clusterGauge(
    'etcd_backup_retained_snapshots',
    'Backups of this cluster kept in the destination after retention.',
    (r) => r.maintenance?.backup.retained,
  ),
  clusterGauge(
    'etcd_backup_schedule_period_seconds',
    'Length of one backup schedule period (stale after two).',
    (r) => r.maintenance?.backupPeriodSeconds(new Date(r.observation.time)),
  ),
  clusterGauge(
    'etcd_backup_schedule_start_timestamp_seconds',
    'When the backup schedule was first seen (a schedule with no success yet is stale two periods after it).',
    (r) => (r.maintenance?.hasBackup ? r.maintenance.anchorTime.getTime() / 1000 : undefined),
  ),
  {
    name: 'etcd_backup_duration_seconds',
    help: 'Duration of backups that were stored (stream, hash check, upload).',
    type: 'histogram',
    kind: 'backupDuration',
  },
  {
    name: 'etcd_backup_failures_total',
    help: 'Backups that failed, by reason (Unavailable, Stalled, HashMismatch, Truncated, Write, Corrupt, Store).',
    type: 'counter',
    kind: 'backupFailures',
  },
  clusterGauge(
    'etcd_defrag_last_timestamp_seconds',
    'When the last defragmentation ran (completed or stopped part-way).',
    (r) => epoch(r.maintenance?.maintenance.lastDefragmentation?.time),
  ),
  {
    name: 'etcd_defrag_reclaimed_bytes_total',
    help: 'Bytes reclaimed by defragmentation (sum over members of size before minus after).',
    type: 'counter',
    kind: 'defragReclaimed',
  },
];
