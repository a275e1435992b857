/**
 * What the monitor takes from one member's own /metrics: a snapshot of plain numbers and
 * cumulative histograms. Pure: samples in, snapshot out. A figure the member does not export is absent.
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
  add(s: Sample, base: string): void {
    if (s.name === `${base}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (Number.isNaN(le)) return;
      this.buckets.set(le, (this.buckets.get(le) ?? 0) + s.value);
      this.seen = true;
    } else if (s.name === `${base}_count`) {
      this.count += s.value;
      this.seen = true;
    } else if (s.name === `${base}_sum`) {
      this.sum += s.value;
    }
  }
  result(): Histogram | undefined {
    if (!this.seen) return undefined;
    const buckets = [...this.buckets.entries()].sort((a, b) => a[0] - b[0]);
    return { buckets, count: this.count, sum: this.sum };
  }
}

function single(samples: readonly Sample[], name: string): number | undefined {
  let found = false;
  let total = 0;
  for (const s of samples) {
    if (s.name === name) {
      found = true;
      total += s.value;
    }
  }
  return found ? total : undefined;
}

export function extractMemberMetrics(samples: readonly Sample[]): MemberMetricsSnapshot {
  const read = new HistAcc();
  const write = new HistAcc();
  const fsync = new HistAcc();
  const commit = new HistAcc();
  const rtt = new HistAcc();
  let started: number | undefined;
  let handled: number | undefined;
  for (const s of samples) {
    if (s.name.startsWith('grpc_server_handling_seconds') && s.labels.grpc_service === 'etcdserverpb.KV') {
      const m = s.labels.grpc_method ?? '';
      if (READ_METHODS.has(m)) read.add(s, 'grpc_server_handling_seconds');
      else if (WRITE_METHODS.has(m)) write.add(s, 'grpc_server_handling_seconds');
    } else if (s.name === 'grpc_server_started_total') {
      started = (started ?? 0) + s.value;
    } else if (s.name === 'grpc_server_handled_total') {
      handled = (handled ?? 0) + s.value;
    } else if (s.name.startsWith('etcd_disk_wal_fsync_duration_seconds')) {
      fsync.add(s, 'etcd_disk_wal_fsync_duration_seconds');
    } else if (s.name.startsWith('etcd_disk_backend_commit_duration_seconds')) {
      commit.add(s, 'etcd_disk_backend_commit_duration_seconds');
    } else if (s.name.startsWith('etcd_network_peer_round_trip_time_seconds')) {
      rtt.add(s, 'etcd_network_peer_round_trip_time_seconds');
    }
  }
  const snap: MemberMetricsSnapshot = {
    proposalsCommitted: single(samples, 'etcd_server_proposals_committed_total'),
    proposalsApplied: single(samples, 'etcd_server_proposals_applied_total'),
    proposalsPending: single(samples, 'etcd_server_proposals_pending'),
    proposalsFailed: single(samples, 'etcd_server_proposals_failed_total'),
    leaderChangesSeen: single(samples, 'etcd_server_leader_changes_seen_total'),
    hasLeader: single(samples, 'etcd_server_has_leader'),
    residentMemoryBytes: single(samples, 'process_resident_memory_bytes'),
    dbTotalSizeBytes: single(samples, 'etcd_mvcc_db_total_size_in_bytes') ?? single(samples, 'etcd_debugging_mvcc_db_total_size_in_bytes'),
    dbInUseBytes: single(samples, 'etcd_mvcc_db_total_size_in_use_in_bytes'),
    quotaBackendBytes: single(samples, 'etcd_server_quota_backend_bytes'),
    openGrpcCalls: started !== undefined && handled !== undefined ? Math.max(0, started - handled) : undefined,
    watchers: single(samples, 'etcd_debugging_mvcc_watcher_total') ?? single(samples, 'etcd_mvcc_watcher_total'),
    grpcHandledTotal: handled,
    readHistogram: read.result(),
    writeHistogram: write.result(),
    walFsync: fsync.result(),
    backendCommit: commit.result(),
    peerRtt: rtt.result(),
  };
  for (const k of Object.keys(snap) as Array<keyof MemberMetricsSnapshot>) {
    if (snap[k] === undefined) delete snap[k];
  }
  return snap;
}
