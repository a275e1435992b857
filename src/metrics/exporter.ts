/**
 * Prometheus exposition of every monitored cluster (SPEC §4). Gauges are read at scrape time from the
 * registry's latest rounds, so a removed cluster's series vanish with it; the histogram and counters that
 * accumulate per round are dropped explicitly when a cluster goes.
 *
 * The per-cluster and per-member series are written straight from that state as text (one pass, no
 * per-series objects): with 1000 clusters that is ~100k lines, which prom-client's generic gauges and
 * histograms took ~0.4 s to refill and render. prom-client keeps the process metrics and the operator's
 * own metrics (`registry`), rendered first; the output is the same text prom-client would write.
 */
import client from 'prom-client';
import { processLoopLag } from '../etcd/loopLag.js';
import { PROBE_ERROR_REASONS, probeErrors } from '../etcd/observation.js';
import type { RoundResult } from '../monitor/clusterMonitor.js';
import type { MonitorRegistry } from '../monitor/registry.js';
import { BACKUP_FAILURE_REASONS } from '../maintenance/scheduler.js';

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

const BACKUP_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const BACKUP_LES = [...BACKUP_BUCKETS.map((b) => `${b}`), '+Inf'];

const PROBE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const PROBE_LES = [...PROBE_BUCKETS.map((b) => `${b}`), '+Inf'];

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
const FAMILIES: Family[] = [
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

/** Cumulative-on-render histogram of one member's probe durations. */
interface ProbeHistogram {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A label value as the exposition format wants it (prom-client's escaping). */
function escapeLabel(v: string): string {
  return /[\\\n"]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as prom-client writes it. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

const OPENMETRICS_EOF = '# EOF\n';

export class MetricsExporter {
  /** prom-client registry for the process metrics and the operator's self-metrics. */
  readonly registry = new client.Registry();
  private readonly probeHistograms = new Map<string, Map<string, ProbeHistogram>>();
  private readonly probeErrors = new Map<string, Map<string, number>>();
  private readonly leaderChangeCount = new Map<string, number>();
  /** Each cluster's rendered sample lines per family, from its latest round (see buildFragments). */
  private readonly fragments = new Map<string, string[]>();
  /** Renders one at a time: prom-client renames counters while it writes OpenMetrics. */
  private rendering: Promise<unknown> = Promise.resolve();

  constructor(private readonly monitors: MonitorRegistry) {
    client.collectDefaultMetrics({ register: this.registry });
    const lag = processLoopLag();
    new client.Gauge({
      name: 'etcd_monitor_event_loop_lag_seconds',
      help: 'Largest event-loop delay of this monitor process over the last 10-20 s. Timed calls (health reads, write probe) during which it was stalled are not latency samples; see status.latency.notes.',
      registers: [this.registry],
      collect() {
        this.set(lag.recentMaxMs() / 1000);
      },
    });
    monitors.on('round', (r) => this.onRound(r));
    monitors.on('removed', (name) => this.forget(name));
  }

  private onRound(r: RoundResult): void {
    const cluster = r.cluster;
    this.leaderChangeCount.set(cluster, r.evaluation.status.leaderChanges);
    let hists = this.probeHistograms.get(cluster);
    if (!hists) this.probeHistograms.set(cluster, (hists = new Map()));
    for (const m of r.evaluation.members) {
      let h = hists.get(m.name);
      if (!h)
        hists.set(m.name, (h = { counts: new Float64Array(PROBE_BUCKETS.length + 1), sum: 0, count: 0 }));
      const v = m.probeSeconds;
      if (v === undefined) continue;
      let i = 0;
      while (i < PROBE_BUCKETS.length && v > PROBE_BUCKETS[i]!) i++;
      h.counts[i]! += 1;
      h.sum += v;
      h.count += 1;
    }
    const errs: Record<string, number> = {};
    for (const e of probeErrors(r.observation)) errs[e.reason] = (errs[e.reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(errs)) {
      let byReason = this.probeErrors.get(cluster);
      if (!byReason) this.probeErrors.set(cluster, (byReason = new Map()));
      byReason.set(reason, (byReason.get(reason) ?? 0) + n);
    }
    this.fragments.set(cluster, this.buildFragments(r));
  }

  private forget(cluster: string): void {
    this.leaderChangeCount.delete(cluster);
    this.probeHistograms.delete(cluster);
    this.probeErrors.delete(cluster);
    this.fragments.delete(cluster);
  }

  contentType(accept: string | undefined): string {
    return accept && accept.includes('application/openmetrics-text')
      ? client.openMetricsContentType
      : client.prometheusContentType;
  }

  async render(accept?: string): Promise<{ contentType: string; body: string }> {
    const contentType = this.contentType(accept);
    const openMetrics = contentType === client.openMetricsContentType;
    const run = this.rendering.then(() => this.renderNow(openMetrics));
    this.rendering = run.catch(() => undefined);
    return { contentType, body: await run };
  }

  private async renderNow(openMetrics: boolean): Promise<string> {
    this.registry.setContentType(
      (openMetrics
        ? client.openMetricsContentType
        : client.prometheusContentType) as typeof client.prometheusContentType,
    );
    // prom-client strips `_total` from its counters' names for OpenMetrics and never puts it back:
    // restore them, or every later Prometheus-format scrape would lose the suffix.
    const names = this.registry
      .getMetricsAsArray()
      .map((m) => [m, (m as unknown as { name: string }).name] as const);
    let base: string;
    try {
      base = await this.registry.metrics();
    } finally {
      for (const [m, name] of names) (m as unknown as { name: string }).name = name;
    }
    const parts: string[] = [];
    if (openMetrics)
      parts.push(base.endsWith(OPENMETRICS_EOF) ? base.slice(0, -OPENMETRICS_EOF.length) : base);
    else parts.push(base, '\n');
    this.renderClusters(openMetrics, parts);
    parts.push(openMetrics ? `\n${OPENMETRICS_EOF}` : '\n');
    return parts.join('');
  }

  /**
   * One cluster's sample lines for every family (FAMILIES order), each line starting with a newline;
   * '' where it has none. Built once per round, so a scrape only concatenates.
   */
  private buildFragments(r: RoundResult): string[] {
    const out: string[] = [];
    const c = `cluster="${escapeLabel(r.cluster)}"`;
    const members = r.evaluation.members.map((m) => ({ l: `${c},member="${escapeLabel(m.name)}"`, m }));
    for (const f of FAMILIES) {
      const lines: string[] = [];
      switch (f.kind) {
        case 'cluster': {
          const v = f.value(r);
          if (v !== undefined && Number.isFinite(v)) lines.push(`\n${f.name}{${c}} ${formatValue(v)}`);
          break;
        }
        case 'member':
          for (const { l, m } of members) {
            const v = f.value(m);
            if (v !== undefined && Number.isFinite(v)) lines.push(`\n${f.name}{${l}} ${formatValue(v)}`);
          }
          break;
        case 'alarm':
          if (!r.observation.members.some((m) => m.alarms !== undefined)) break;
          for (const { l, m } of members) {
            if (!m.id) continue;
            for (const alarm of ['NOSPACE', 'CORRUPT'] as const)
              lines.push(`\n${f.name}{${l},alarm="${alarm}"} ${m.alarms.includes(alarm) ? 1 : 0}`);
          }
          break;
        case 'advice':
          for (const a of r.evaluation.status.advice ?? []) {
            const m = a.member ? `,member="${escapeLabel(a.member)}"` : '';
            lines.push(`\n${f.name}{${c},code="${a.code}",severity="${a.severity}"${m}} 1`);
          }
          break;
        case 'leaderChanges': {
          const n = this.leaderChangeCount.get(r.cluster);
          if (n !== undefined) lines.push(`\n${f.name}{${c}} ${formatValue(n)}`);
          break;
        }
        case 'probeDuration': {
          const hists = this.probeHistograms.get(r.cluster);
          for (const { l, m } of members) {
            const h = hists?.get(m.name);
            if (!h || h.count === 0) continue;
            let cum = 0;
            for (let i = 0; i < PROBE_LES.length; i++) {
              cum += h.counts[i]!;
              lines.push(`\n${f.name}_bucket{le="${PROBE_LES[i]}",${l}} ${formatValue(cum)}`);
            }
            lines.push(
              `\n${f.name}_sum{${l}} ${formatValue(h.sum)}`,
              `\n${f.name}_count{${l}} ${formatValue(h.count)}`,
            );
          }
          break;
        }
        case 'backupDuration': {
          const d = r.maintenance?.counters.backupDurations;
          if (!r.maintenance?.hasBackup || !d) break;
          let sum = 0;
          for (let i = 0; i < BACKUP_LES.length; i++) {
            const le = i < BACKUP_BUCKETS.length ? BACKUP_BUCKETS[i]! : Infinity;
            lines.push(
              `\n${f.name}_bucket{le="${BACKUP_LES[i]}",${c}} ${formatValue(d.filter((x) => x <= le).length)}`,
            );
          }
          for (const x of d) sum += x;
          lines.push(
            `\n${f.name}_sum{${c}} ${formatValue(sum)}`,
            `\n${f.name}_count{${c}} ${formatValue(d.length)}`,
          );
          break;
        }
        case 'backupFailures': {
          if (!r.maintenance?.hasBackup) break;
          // Every reason from 0, so rate() and increase() work from the first failure.
          for (const reason of BACKUP_FAILURE_REASONS)
            lines.push(
              `\n${f.name}{${c},reason="${reason}"} ${formatValue(r.maintenance.counters.backupFailures.get(reason) ?? 0)}`,
            );
          break;
        }
        case 'defragReclaimed':
          if (r.maintenance?.hasDefragmentation)
            lines.push(`\n${f.name}{${c}} ${formatValue(r.maintenance.counters.defragReclaimedBytes)}`);
          break;
        case 'probeErrors': {
          const byReason = this.probeErrors.get(r.cluster);
          for (const reason of PROBE_ERROR_REASONS) {
            const n = byReason?.get(reason);
            if (n !== undefined) lines.push(`\n${f.name}{${c},reason="${reason}"} ${formatValue(n)}`);
          }
          break;
        }
      }
      // One flat string per family (a join, not a chain of +=, so a scrape copies it in one go).
      out.push(lines.join(''));
    }
    return out;
  }

  /** Append every monitored cluster's series, family by family, in prom-client's text format. */
  private renderClusters(openMetrics: boolean, parts: string[]): void {
    const frags: string[][] = [];
    for (const mon of this.monitors.list()) {
      const r = mon.latest;
      if (!r) continue;
      let f = this.fragments.get(mon.name);
      if (!f) this.fragments.set(mon.name, (f = this.buildFragments(r)));
      frags.push(f);
    }
    FAMILIES.forEach((f, i) => {
      // Counters: OpenMetrics names the family without `_total` and the samples with it.
      const name = openMetrics && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
      if (i > 0) parts.push(openMetrics ? '\n' : '\n\n');
      parts.push(`# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}`);
      for (const x of frags) if (x[i]) parts.push(x[i]!);
    });
  }
}
