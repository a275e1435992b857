/**
 * Prometheus exposition of every monitored cluster (SPEC §4). Gauges are filled at scrape time from the
 * registry's latest rounds, so a removed cluster's series vanish with it; histograms and counters that
 * accumulate per round are removed explicitly when a cluster goes.
 */
import client from 'prom-client';
import type { RoundResult } from '../monitor/clusterMonitor.js';
import type { MonitorRegistry } from '../monitor/registry.js';

type Labels = Record<string, string>;

interface GaugeSpec {
  name: string;
  help: string;
  labelNames: string[];
}

const C = ['cluster'];
const M = ['cluster', 'member'];

const clusterGauges = {
  healthy: { name: 'etcd_cluster_healthy', help: 'Whether the cluster is healthy: quorum of healthy voting members, one agreed leader, no alarm (1/0).', labelNames: C },
  hasLeader: { name: 'etcd_cluster_has_leader', help: 'Whether the members agree on one leader (1/0).', labelNames: C },
  memberCount: { name: 'etcd_cluster_member_count', help: 'Members in the cluster (member list, learners included).', labelNames: C },
  quorum: { name: 'etcd_cluster_quorum_size', help: 'Voting members needed for quorum.', labelNames: C },
  healthyMembers: { name: 'etcd_cluster_healthy_members', help: 'Members that answered Status and a linearizable read in the last round.', labelNames: C },
  quotaRatio: { name: 'etcd_cluster_db_quota_used_ratio', help: 'Largest member database size divided by the backend quota.', labelNames: C },
  readP99: { name: 'etcd_request_read_latency_p99_milliseconds', help: "p99 server handling time of Range requests over the last interval, from the members' gRPC histograms (or the monitor's health reads when those are not exported).", labelNames: C },
  writeP99: { name: 'etcd_request_write_latency_p99_milliseconds', help: "p99 server handling time of Put/DeleteRange/Txn requests over the last interval, from the members' gRPC histograms (or the opt-in write probe).", labelNames: C },
  rate: { name: 'etcd_request_rate_per_second', help: 'gRPC requests handled per second across members over the last interval (grpc_server_handled_total).', labelNames: C },
  up: { name: 'etcd_monitor_cluster_probe_success', help: 'Whether at least one member answered the last probe round (1/0).', labelNames: C },
  lastProbe: { name: 'etcd_monitor_last_probe_timestamp_seconds', help: 'When the last probe round started.', labelNames: C },
} satisfies Record<string, GaugeSpec>;

const memberGauges = {
  dbSize: { name: 'etcd_mvcc_db_total_size_bytes', help: 'Physically allocated size of the member backend database (Maintenance.Status dbSize).', labelNames: M },
  committed: { name: 'etcd_server_proposals_committed_total', help: "Mirror of the member's etcd_server_proposals_committed_total.", labelNames: M },
  pending: { name: 'etcd_server_proposals_pending', help: "Mirror of the member's etcd_server_proposals_pending.", labelNames: M },
  failed: { name: 'etcd_server_proposals_failed_total', help: "Mirror of the member's etcd_server_proposals_failed_total.", labelNames: M },
  memory: { name: 'etcd_server_memory_usage_bytes', help: "Resident memory of the member process (its process_resident_memory_bytes).", labelNames: M },
  disk: { name: 'etcd_server_disk_usage_bytes', help: "Disk space held by the member's backend database file (Maintenance.Status dbSize; WAL and snapshots not included).", labelNames: M },
  connections: { name: 'etcd_server_active_connections', help: 'Open gRPC calls and streams on the member (grpc_server_started_total - grpc_server_handled_total).', labelNames: M },
  watchers: { name: 'etcd_server_watchers', help: "Watchers registered on the member (its etcd_debugging_mvcc_watcher_total).", labelNames: M },
  healthy: { name: 'etcd_member_healthy', help: 'Whether the member answered Status and a linearizable read in the last round (1/0).', labelNames: M },
  leader: { name: 'etcd_member_is_leader', help: 'Whether the member is the agreed leader (1/0).', labelNames: M },
  learner: { name: 'etcd_member_is_learner', help: 'Whether the member is a learner (non-voting) (1/0).', labelNames: M },
  lag: { name: 'etcd_member_raft_index_lag', help: "How many raft entries the member's committed index trails the leader's.", labelNames: M },
  alarm: { name: 'etcd_member_alarm', help: 'Whether the alarm is active on the member (1/0), from Maintenance.Alarm.', labelNames: ['cluster', 'member', 'alarm'] },
} satisfies Record<string, GaugeSpec>;

export class MetricsExporter {
  readonly registry = new client.Registry();
  private readonly gauges = new Map<string, client.Gauge>();
  private readonly leaderChanges: client.Counter;
  private readonly probeDuration: client.Histogram;
  private readonly probeErrors: client.Counter;
  private readonly seenMembers = new Map<string, Set<string>>();
  private readonly leaderChangeCount = new Map<string, number>();

  constructor(private readonly monitors: MonitorRegistry) {
    client.collectDefaultMetrics({ register: this.registry });
    for (const spec of [...Object.values(clusterGauges), ...Object.values(memberGauges)]) {
      this.gauges.set(spec.name, new client.Gauge({ ...spec, registers: [this.registry] }));
    }
    const counts = this.leaderChangeCount;
    this.leaderChanges = new client.Counter({
      name: 'etcd_cluster_leader_changes_total',
      help: 'Leader changes this monitor observed (the agreed leader ID changed between rounds).',
      labelNames: C,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [cluster, n] of counts) this.inc({ cluster }, n);
      },
    });
    this.probeDuration = new client.Histogram({
      name: 'etcd_member_probe_duration_seconds',
      help: 'Duration of the linearizable health read against each member.',
      labelNames: M,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.probeErrors = new client.Counter({
      name: 'etcd_monitor_probe_errors_total',
      help: 'Failed probe calls by kind (status, health, alarms, metrics, member_list, write).',
      labelNames: ['cluster', 'reason'],
      registers: [this.registry],
    });
    monitors.on('round', (r) => this.onRound(r));
    monitors.on('removed', (name) => this.forget(name));
  }

  private onRound(r: RoundResult): void {
    const cluster = r.cluster;
    this.leaderChangeCount.set(cluster, r.evaluation.status.leaderChanges);
    const members = this.seenMembers.get(cluster) ?? new Set<string>();
    for (const m of r.evaluation.members) {
      members.add(m.name);
      if (m.probeSeconds !== undefined) this.probeDuration.observe({ cluster, member: m.name }, m.probeSeconds);
    }
    this.seenMembers.set(cluster, members);
    const errs: Record<string, number> = {};
    for (const m of r.observation.members) {
      if (m.statusError) errs.status = (errs.status ?? 0) + 1;
      if (m.healthError) errs.health = (errs.health ?? 0) + 1;
      if (m.alarmsError) errs.alarms = (errs.alarms ?? 0) + 1;
      if (m.metricsError) errs.metrics = (errs.metrics ?? 0) + 1;
      if (m.writeError) errs.write = (errs.write ?? 0) + 1;
    }
    if (r.observation.memberListError) errs.member_list = 1;
    for (const [reason, n] of Object.entries(errs)) this.probeErrors.inc({ cluster, reason }, n);
  }

  private forget(cluster: string): void {
    this.leaderChangeCount.delete(cluster);
    for (const member of this.seenMembers.get(cluster) ?? []) this.probeDuration.remove({ cluster, member });
    this.seenMembers.delete(cluster);
    for (const reason of ['status', 'health', 'alarms', 'metrics', 'member_list', 'write']) this.probeErrors.remove({ cluster, reason });
  }

  private set(spec: GaugeSpec, labels: Labels, v: number | undefined): void {
    if (v === undefined || !Number.isFinite(v)) return;
    this.gauges.get(spec.name)!.set(labels, v);
  }

  /** Refill every gauge from the latest rounds. */
  private refresh(): void {
    for (const g of this.gauges.values()) g.reset();
    for (const mon of this.monitors.list()) {
      const r = mon.latest;
      if (!r) continue;
      const s = r.evaluation.status;
      const c = { cluster: mon.name };
      const g = clusterGauges;
      this.set(g.healthy, c, s.healthy ? 1 : 0);
      this.set(g.hasLeader, c, s.hasLeader ? 1 : 0);
      this.set(g.memberCount, c, s.memberCount);
      this.set(g.quorum, c, s.quorumSize);
      this.set(g.healthyMembers, c, s.healthyMembers);
      this.set(g.quotaRatio, c, s.dbQuotaUsedPercent !== undefined ? s.dbQuotaUsedPercent / 100 : undefined);
      this.set(g.readP99, c, s.latency.readP99Ms);
      this.set(g.writeP99, c, s.latency.writeP99Ms);
      this.set(g.rate, c, s.requestRatePerSecond);
      this.set(g.up, c, s.phase === 'Unreachable' ? 0 : 1);
      this.set(g.lastProbe, c, r.observation.time / 1000);
      const alarmsKnown = r.observation.members.some((m) => m.alarms !== undefined);
      const mg = memberGauges;
      for (const m of r.evaluation.members) {
        const l = { cluster: mon.name, member: m.name };
        const x = m.metrics;
        this.set(mg.dbSize, l, m.dbSizeBytes);
        this.set(mg.disk, l, m.dbSizeBytes);
        this.set(mg.committed, l, x?.proposalsCommitted);
        this.set(mg.pending, l, x?.proposalsPending);
        this.set(mg.failed, l, x?.proposalsFailed);
        this.set(mg.memory, l, x?.residentMemoryBytes);
        this.set(mg.connections, l, x?.openGrpcCalls);
        this.set(mg.watchers, l, x?.watchers);
        this.set(mg.healthy, l, m.healthy ? 1 : 0);
        this.set(mg.leader, l, m.isLeader ? 1 : 0);
        this.set(mg.learner, l, m.isLearner ? 1 : 0);
        this.set(mg.lag, l, m.raftIndexLag);
        if (alarmsKnown && m.id) {
          for (const alarm of ['NOSPACE', 'CORRUPT'] as const) this.set(mg.alarm, { ...l, alarm }, m.alarms.includes(alarm) ? 1 : 0);
        }
      }
    }
  }

  contentType(accept: string | undefined): string {
    return accept && accept.includes('application/openmetrics-text') ? client.openMetricsContentType : client.prometheusContentType;
  }

  async render(accept?: string): Promise<{ contentType: string; body: string }> {
    this.refresh();
    const contentType = this.contentType(accept);
    this.registry.setContentType(contentType as typeof client.prometheusContentType);
    return { contentType, body: await this.registry.metrics() };
  }
}
