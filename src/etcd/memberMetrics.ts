/**
 * What the monitor takes from one member's own /metrics: a snapshot of plain numbers and
 * cumulative histograms. Pure: samples (or exposition text) in, snapshot out. A figure the member does not export is absent.
 */
import { PromTextError, parseLabels, parseValue, type Sample } from './promtext.js';

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
type Family =
  | { kind: 'single'; labels: false }
  | { kind: 'started' | 'handled'; labels: false }
  | { kind: 'grpcHist' | 'fsync' | 'commit' | 'rtt'; labels: true };

const FAMILIES = new Map<string, Family>();
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
const FAMILY_NAMES = new Set<string>([
  ...Object.values(SINGLES),
  'grpc_server_started_total',
  'grpc_server_handled_total',
  GRPC_HIST,
  FSYNC,
  COMMIT,
  RTT,
]);

/** Accumulates one member's samples into a snapshot; the one place that decides what a sample means. */
class SnapshotBuilder {
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

/** Longest line the scanner accepts (etcd's longest are a few hundred bytes). */
const MAX_LINE = 64 * 1024;

/**
 * The same snapshot straight from the exposition text, as it arrives, without building a sample per
 * line: a member's /metrics is ~200 KiB and ~2000 lines (with --metrics=extensive), of which the
 * snapshot needs a few hundred, and labels of fewer still. Lines of other families are skipped
 * unparsed (so not validated); the lines it reads are parsed as strictly as parsePromText does.
 * Chunks are decoded as latin1 (the names, label values and numbers read here are ASCII) one at a time,
 * so no single huge string is ever built.
 */
export class MemberMetricsScanner {
  private readonly b = new SnapshotBuilder();
  private carry = '';
  private lineNo = 0;

  /** Feed the next piece of the exposition. */
  push(chunk: Buffer | string): void {
    const s = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    let from = 0;
    if (this.carry) {
      // Finish the line the previous chunk ended in on its own, so `s` stays a flat string.
      const nl = s.indexOf('\n');
      if (nl < 0) {
        this.carry += s;
        if (this.carry.length > MAX_LINE)
          throw new PromTextError(`line ${this.lineNo + 1}: longer than ${MAX_LINE} bytes`);
        return;
      }
      const line = this.carry + s.slice(0, nl + 1);
      this.carry = '';
      this.scan(line, line.length - 1, 0);
      from = nl + 1;
    }
    const last = s.lastIndexOf('\n');
    if (last < from) {
      this.carry = s.slice(from);
      if (this.carry.length > MAX_LINE)
        throw new PromTextError(`line ${this.lineNo + 1}: longer than ${MAX_LINE} bytes`);
      return;
    }
    this.scan(s, last, from);
    this.carry = s.slice(last + 1);
  }

  /** The snapshot of everything pushed. */
  finish(): MemberMetricsSnapshot {
    if (this.carry) {
      const s = this.carry;
      this.carry = '';
      this.scan(s + '\n', s.length, 0);
    }
    return this.b.result();
  }

  /** Inside the block of a family the snapshot does not read (after its `# TYPE` line). */
  private skipping = false;

  /** Scan the whole lines in s[from, end] (s[end] is a newline). */
  private scan(s: string, end: number, from: number): void {
    let a = from;
    while (a <= end) {
      if (this.skipping) {
        if (s.charCodeAt(a) !== 35) {
          // Jump over the rest of the block: to the next comment line (the next family's HELP/TYPE).
          const k = s.indexOf('\n#', a);
          if (k < 0 || k >= end) return;
          a = k + 1;
        }
        this.skipping = false;
      }
      let eol = s.indexOf('\n', a);
      if (eol < 0 || eol > end) eol = end;
      this.lineNo++;
      if (s.charCodeAt(a) === 35) this.comment(s, a, eol);
      else this.line(s, a, eol);
      a = eol + 1;
    }
  }

  /**
   * `# TYPE <family> <type>` of a family the snapshot does not read: skip its samples without looking
   * at them. Prometheus client libraries (etcd's client_golang among them) write every family as one
   * group right after its HELP and TYPE lines; an untyped family without them is never skipped.
   */
  private comment(s: string, a: number, eol: number): void {
    if (eol - a < 8 || s.charCodeAt(a + 2) !== 84 || !s.startsWith('# TYPE ', a)) return;
    const sp = s.indexOf(' ', a + 7);
    const family = s.slice(a + 7, sp < 0 || sp > eol ? eol : sp);
    if (!FAMILY_NAMES.has(family)) this.skipping = true;
  }

  private line(s: string, a: number, b: number): void {
    // Trim (spaces, tabs, CR); comment lines never get here.
    let c = s.charCodeAt(a);
    while (a < b && (c === 32 || c === 9)) c = s.charCodeAt(++a);
    if (a >= b || c === 35) return;
    while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
    let j = a;
    while (j < b) {
      const ch = s.charCodeAt(j);
      if (ch === 123 || ch === 32 || ch === 9) break;
      j++;
    }
    const name = s.slice(a, j);
    const family = FAMILIES.get(name);
    if (!family) return;
    try {
      let labels: Record<string, string> = {};
      let v = j;
      if (s.charCodeAt(j) === 123) {
        // The value cannot contain '}', so the last one on the line closes the label set.
        const close = s.lastIndexOf('}', b - 1);
        if (close < j) throw new PromTextError('unterminated label set');
        if (family.labels) {
          const text = s.slice(j, close + 1);
          // Of the gRPC histograms only the KV service's are used: skip the others before parsing labels.
          if (family.kind === 'grpcHist' && !text.includes('etcdserverpb.KV"')) return;
          labels = parseLabels(text, 0)[0];
        }
        v = close + 1;
      }
      while (v < b && isSpace(s.charCodeAt(v))) v++;
      let e = v;
      while (e < b && !isSpace(s.charCodeAt(e))) e++;
      this.b.add(name, family, labels, parseValue(s.slice(v, e)));
    } catch (e) {
      throw new PromTextError(`line ${this.lineNo}: ${(e as Error).message}`);
    }
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** The snapshot of a whole exposition text (the scanner's result). */
export function extractMemberMetricsFromText(text: string): MemberMetricsSnapshot {
  const sc = new MemberMetricsScanner();
  sc.push(text);
  return sc.finish();
}
