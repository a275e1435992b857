/**
 * What the monitor takes from one member's own /metrics: a snapshot of plain numbers and cumulative
 * histograms, the families it reads, and the builder that decides what a sample means. Pure: samples
 * in, snapshot out. A figure the member does not export is absent. The text scanner is memberMetrics.ts.
 */
import type { Sample } from './promtext.js';

/** Cumulative histogram: upper bound → cumulative count, plus total count and sum. */
export interface Histogram {
  buckets: Array<[le: number, count: number]>;
  count: number;
  sum: number;
}

export interface MemberMetricsSnapshot {
  proposalsCommitted?: number;
  proposalsApplied?: number;
  proposalsPending?: number;
  proposalsFailed?: number;
  leaderChangesSeen?: number;
  hasLeader?: number;
  residentMemoryBytes?: number;
  dbTotalSizeBytes?: number;
  dbInUseBytes?: number;
  quotaBackendBytes?: number;
  /** Open gRPC calls and streams: grpc_server_started_total − grpc_server_handled_total. */
  openGrpcCalls?: number;
  watchers?: number;
  /** Sum of grpc_server_handled_total over all methods and codes. */
  grpcHandledTotal?: number;
  /** Server handling time of read RPCs (Range), present with --metrics=extensive. */
  readHistogram?: Histogram;
  /** Server handling time of write RPCs (Put, DeleteRange, Txn), present with --metrics=extensive. */
  writeHistogram?: Histogram;
  walFsync?: Histogram;
  backendCommit?: Histogram;
  peerRtt?: Histogram;
}

export const READ_METHODS = new Set(['Range']);
export const WRITE_METHODS = new Set(['Put', 'DeleteRange', 'Txn']);

class HistAcc {
  private readonly buckets = new Map<number, number>();
  count = 0;
  sum = 0;
  seen = false;
  constructor(private readonly base: string) {}
  add(name: string, labels: Record<string, string>, value: number): void {
    if (name === `${this.base}_bucket`) {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      if (Number.isNaN(le)) return;
      this.buckets.set(le, (this.buckets.get(le) ?? 0) + value);
      this.seen = true;
    } else if (name === `${this.base}_count`) {
      this.count += value;
      this.seen = true;
    } else if (name === `${this.base}_sum`) {
      this.sum += value;
    }
  }
  result(): Histogram | undefined {
    if (!this.seen) return undefined;
    const buckets = [...this.buckets.entries()].sort((a, b) => a[0] - b[0]);
    return { buckets, count: this.count, sum: this.sum };
  }
}

const GRPC_HIST = 'grpc_server_handling_seconds';
const FSYNC = 'etcd_disk_wal_fsync_duration_seconds';
const COMMIT = 'etcd_disk_backend_commit_duration_seconds';
const RTT = 'etcd_network_peer_round_trip_time_seconds';

/** Plain values the snapshot takes (summed over label sets), by snapshot field. */
const SINGLES = {
  proposalsCommitted: 'etcd_server_proposals_committed_total',
  proposalsApplied: 'etcd_server_proposals_applied_total',
  proposalsPending: 'etcd_server_proposals_pending',
  proposalsFailed: 'etcd_server_proposals_failed_total',
  leaderChangesSeen: 'etcd_server_leader_changes_seen_total',
  hasLeader: 'etcd_server_has_leader',
  residentMemoryBytes: 'process_resident_memory_bytes',
  dbTotalSize: 'etcd_mvcc_db_total_size_in_bytes',
  dbTotalSizeDebugging: 'etcd_debugging_mvcc_db_total_size_in_bytes',
  dbInUseBytes: 'etcd_mvcc_db_total_size_in_use_in_bytes',
  quotaBackendBytes: 'etcd_server_quota_backend_bytes',
  watchersDebugging: 'etcd_debugging_mvcc_watcher_total',
  watchers: 'etcd_mvcc_watcher_total',
} as const;

/**
 * What a sample of each family the snapshot reads is for. Every other family is ignored, which lets
 * the text scanner skip its lines without parsing them. `labels` says whether the labels are needed.
 */
export type Family =
  | { kind: 'single'; labels: false }
  | { kind: 'started' | 'handled'; labels: false }
  | { kind: 'grpcHist' | 'fsync' | 'commit' | 'rtt'; labels: true };

export const FAMILIES = new Map<string, Family>();
for (const name of Object.values(SINGLES)) FAMILIES.set(name, { kind: 'single', labels: false });
FAMILIES.set('grpc_server_started_total', { kind: 'started', labels: false });
FAMILIES.set('grpc_server_handled_total', { kind: 'handled', labels: false });
for (const [base, kind] of [
  [GRPC_HIST, 'grpcHist'],
  [FSYNC, 'fsync'],
  [COMMIT, 'commit'],
  [RTT, 'rtt'],
] as const) {
  for (const suffix of ['_bucket', '_count', '_sum']) FAMILIES.set(base + suffix, { kind, labels: true });
}

/** The families (as `# TYPE` names them: histograms without their suffixes) the snapshot reads. */
export const FAMILY_NAMES = new Set<string>([
  ...Object.values(SINGLES),
  'grpc_server_started_total',
  'grpc_server_handled_total',
  GRPC_HIST,
  FSYNC,
  COMMIT,
  RTT,
]);

/** Accumulates one member's samples into a snapshot; the one place that decides what a sample means. */
export class SnapshotBuilder {
  private readonly singles = new Map<string, number>();
  private started: number | undefined;
  private handled: number | undefined;
  private readonly read = new HistAcc(GRPC_HIST);
  private readonly write = new HistAcc(GRPC_HIST);
  private readonly fsync = new HistAcc(FSYNC);
  private readonly commit = new HistAcc(COMMIT);
  private readonly rtt = new HistAcc(RTT);

  add(name: string, family: Family, labels: Record<string, string>, value: number): void {
    switch (family.kind) {
      case 'single':
        this.singles.set(name, (this.singles.get(name) ?? 0) + value);
        return;
      case 'started':
        this.started = (this.started ?? 0) + value;
        return;
      case 'handled':
        this.handled = (this.handled ?? 0) + value;
        return;
      case 'grpcHist': {
        if (labels.grpc_service !== 'etcdserverpb.KV') return;
        const m = labels.grpc_method ?? '';
        if (READ_METHODS.has(m)) this.read.add(name, labels, value);
        else if (WRITE_METHODS.has(m)) this.write.add(name, labels, value);
        return;
      }
      case 'fsync':
        this.fsync.add(name, labels, value);
        return;
      case 'commit':
        this.commit.add(name, labels, value);
        return;
      case 'rtt':
        this.rtt.add(name, labels, value);
        return;
    }
  }

  result(): MemberMetricsSnapshot {
    const v = (name: string): number | undefined => this.singles.get(name);
    const started = this.started;
    const handled = this.handled;
    const snap: MemberMetricsSnapshot = {
      proposalsCommitted: v(SINGLES.proposalsCommitted),
      proposalsApplied: v(SINGLES.proposalsApplied),
      proposalsPending: v(SINGLES.proposalsPending),
      proposalsFailed: v(SINGLES.proposalsFailed),
      leaderChangesSeen: v(SINGLES.leaderChangesSeen),
      hasLeader: v(SINGLES.hasLeader),
      residentMemoryBytes: v(SINGLES.residentMemoryBytes),
      dbTotalSizeBytes: v(SINGLES.dbTotalSize) ?? v(SINGLES.dbTotalSizeDebugging),
      dbInUseBytes: v(SINGLES.dbInUseBytes),
      quotaBackendBytes: v(SINGLES.quotaBackendBytes),
      openGrpcCalls:
        started !== undefined && handled !== undefined ? Math.max(0, started - handled) : undefined,
      watchers: v(SINGLES.watchersDebugging) ?? v(SINGLES.watchers),
      grpcHandledTotal: handled,
      readHistogram: this.read.result(),
      writeHistogram: this.write.result(),
      walFsync: this.fsync.result(),
      backendCommit: this.commit.result(),
      peerRtt: this.rtt.result(),
    };
    for (const k of Object.keys(snap) as Array<keyof MemberMetricsSnapshot>) {
      if (snap[k] === undefined) delete snap[k];
    }
    return snap;
  }
}

/** The snapshot from parsed samples (every line of the exposition parsed and validated). */
export function extractMemberMetrics(samples: readonly Sample[]): MemberMetricsSnapshot {
  const b = new SnapshotBuilder();
  for (const s of samples) {
    const f = FAMILIES.get(s.name);
    if (f) b.add(s.name, f, s.labels, s.value);
  }
  return b.result();
}
