/**
 * One small check per advice code (SPEC §10), each reading plain inputs and answering, for every
 * subject it can judge, whether the advice holds — with the message, the evidence and etcd's doc — or
 * not. A subject it cannot judge this round (no figures) is left out, which keeps what it was. A check
 * told that its advice is active judges against the clear level (hysteresis: CLEAR_RATIO of the
 * threshold for figures), so a figure hovering at the threshold does not flap.
 */
import type { Advice, AdviceCode, AdviceEvidence, AdviceSeverity, SizeTier } from '../crd/types.js';
import { humanRate, type CapacityFigures } from './capacity.js';
import { humanBytes, round } from './format.js';
import { windowQuantile, type MemberWindows, type WindowedFamily } from './memberWindows.js';

export const CLEAR_RATIO = 0.8;
/** etcd's storage size limit: "8 GiB is a suggested maximum size for normal environments". */
export const QUOTA_TOO_LARGE_BYTES = 8 * 1024 ** 3;
/**
 * A windowed p99 needs this many observations in the window: below 100 a p99 is just the slowest one (an
 * idle member fsyncs a few times a minute). etcd observes a peer's round trip as a smoothed value, once
 * 5 s after the peer connects and then every 30 s per prober (two per peer), so there a few must do: each
 * is already an average of 4-second probes.
 */
export const MIN_WINDOW_SAMPLES: Record<WindowedFamily, number> = {
  walFsync: 100,
  backendCommit: 100,
  peerRtt: 3,
};

export const DOCS = {
  disk: 'https://etcd.io/docs/v3.5/op-guide/hardware/#disks',
  tuningDisk: 'https://etcd.io/docs/v3.5/tuning/#disk',
  time: 'https://etcd.io/docs/v3.5/tuning/#time-parameters',
  defrag: 'https://etcd.io/docs/v3.5/op-guide/maintenance/#defragmentation',
  quota: 'https://etcd.io/docs/v3.5/op-guide/maintenance/#space-quota',
  limit: 'https://etcd.io/docs/v3.5/dev-guide/limit/#storage-size-limit',
  odd: 'https://etcd.io/docs/v3.5/faq/#why-an-odd-number-of-cluster-members',
  upgrades: 'https://etcd.io/docs/v3.6/upgrades/',
  versions: 'https://etcd.io/docs/v3.6/op-guide/versioning/',
  learner: 'https://etcd.io/docs/v3.5/learning/design-learner/',
  hardware: 'https://etcd.io/docs/v3.5/op-guide/hardware/#example-hardware-configurations',
  recovery: 'https://etcd.io/docs/v3.5/op-guide/recovery/',
} as const;

export interface AdviceMember {
  key: string;
  name: string;
  endpoint: string;
  isLearner: boolean;
  version?: string;
  raftIndexLag?: number;
}

export interface AdviceThresholds {
  walFsyncP99Ms: number;
  backendCommitP99Ms: number;
  heartbeatIntervalMs: number;
  leaderChangesWarningPerHour: number;
  defragFragmentationPercent: number;
  defragReclaimableBytes: number;
  quotaExhaustionWarningMs: number;
  quotaExhaustionCriticalMs: number;
  quotaExhaustionMinPercent: number;
  learnerPromotionTimeoutMs: number;
  hardwareTier?: SizeTier;
  adviceWindowMs: number;
}

const H = 3_600_000;
export const DEFAULT_ADVICE_THRESHOLDS: Omit<AdviceThresholds, 'leaderChangesWarningPerHour'> = {
  walFsyncP99Ms: 10,
  backendCommitP99Ms: 25,
  heartbeatIntervalMs: 100,
  defragFragmentationPercent: 50,
  defragReclaimableBytes: 104_857_600,
  quotaExhaustionWarningMs: 168 * H,
  quotaExhaustionCriticalMs: 24 * H,
  quotaExhaustionMinPercent: 25,
  learnerPromotionTimeoutMs: H / 6,
  adviceWindowMs: 5 * 60_000,
};

export interface AdviceInputs {
  time: number;
  th: AdviceThresholds;
  members: AdviceMember[];
  voters: number;
  windows: MemberWindows;
  capacity: CapacityFigures;
  quotaBytes?: number;
  sizeBytes?: number;
  leaderChangesLastHour: number;
  /** Whether scheduled backups are configured; undefined: not known here (NoBackup not judged). */
  backupConfigured?: boolean;
  /** Member key → since when it has been a learner (epoch ms). */
  learnerSince: Record<string, number>;
}

export type Finding = Omit<Advice, 'since'>;
export interface Verdict {
  code: AdviceCode;
  member?: string;
  /** The finding when the advice holds; absent when it is judged not to. */
  finding?: Finding;
}

export type IsActive = (code: AdviceCode, member?: string) => boolean;
export type AdviceCheck = (i: AdviceInputs, active: IsActive) => Verdict[];

export function ev(
  value: number,
  threshold: number,
  unit: string,
  doc: string,
  window?: string,
): AdviceEvidence {
  const e: AdviceEvidence = { value: round(value, 3), threshold, unit, doc };
  if (window) e.window = window;
  return e;
}

export function windowText(ms: number): string {
  return ms >= 60_000 ? `${round(ms / 60_000, 1)}m` : `${Math.round(ms / 1000)}s`;
}

function over(value: number, threshold: number, isActive: boolean): boolean {
  return isActive ? value >= threshold * CLEAR_RATIO : value > threshold;
}

/** A p99 over each member's window against a threshold in ms. */
function latencyCheck(
  code: AdviceCode,
  family: WindowedFamily,
  threshold: (t: AdviceThresholds) => number,
  doc: string,
  message: (m: AdviceMember, p99: number, limit: number) => string,
): AdviceCheck {
  return (i, active) => {
    const out: Verdict[] = [];
    const limit = threshold(i.th);
    for (const m of i.members) {
      const q = windowQuantile(i.windows[m.endpoint], family);
      if (!q || q.samples < MIN_WINDOW_SAMPLES[family] || q.coveredMs < i.th.adviceWindowMs / 2) continue;
      const ms = q.value * 1000;
      const v: Verdict = { code, member: m.name };
      if (over(ms, limit, active(code, m.name)))
        v.finding = {
          code,
          severity: 'warning',
          member: m.name,
          message: message(m, ms, limit),
          evidence: ev(ms, limit, 'ms', doc, windowText(q.coveredMs)),
        };
      out.push(v);
    }
    return out;
  };
}

const slowDisk = latencyCheck(
  'SlowDisk',
  'walFsync',
  (t) => t.walFsyncP99Ms,
  DOCS.disk,
  (m, p, l) =>
    `member ${m.name}: WAL fsync p99 is ${round(p, 1)} ms (etcd's guide: below ${l} ms). Put its data dir (at least --wal-dir) on a dedicated low-latency SSD, away from other I/O; slow fsyncs delay every write and can cost the leader its heartbeats`,
);

const slowCommit = latencyCheck(
  'SlowBackendCommit',
  'backendCommit',
  (t) => t.backendCommitP99Ms,
  DOCS.tuningDisk,
  (m, p, l) =>
    `member ${m.name}: backend commit p99 is ${round(p, 1)} ms (etcd's guide: below ${l} ms). The bbolt commits wait on the disk: move the data dir to a faster SSD, or lower the disk's other load (ionice the other processes)`,
);

const slowPeers = latencyCheck(
  'SlowPeerNetwork',
  'peerRtt',
  (t) => t.heartbeatIntervalMs,
  DOCS.time,
  (m, p, l) =>
    `member ${m.name}: peer round trip p99 is ${round(p, 1)} ms, at the heartbeat interval (${l} ms). Followers may miss heartbeats and call elections: fix the network between members, or raise --heartbeat-interval to about the RTT and --election-timeout to at least 10× it on every member`,
);

const leaderChanges: AdviceCheck = (i, active) => {
  const n = i.leaderChangesLastHour;
  const limit = i.th.leaderChangesWarningPerHour;
  const holds = active('FrequentLeaderChanges') ? n > 0 && n >= limit * CLEAR_RATIO : n > limit;
  return [
    {
      code: 'FrequentLeaderChanges',
      finding: holds
        ? {
            code: 'FrequentLeaderChanges',
            severity: 'warning',
            message: `${n} leader changes in the last hour (more than ${limit}). Each one stalls writes for an election: look for slow disks (SlowDisk), an overloaded leader or a lossy network first; if the network's RTT is high, raise --heartbeat-interval and --election-timeout together`,
            evidence: ev(n, limit, 'changes/h', DOCS.time, '1h'),
          }
        : undefined,
    },
  ];
};

const defrag: AdviceCheck = (i, active) => {
  const s = i.capacity.status;
  if (s.fragmentationPercent === undefined || s.reclaimableBytes === undefined) return [];
  const on = active('DefragmentRecommended');
  const pct = s.fragmentationPercent;
  const rec = s.reclaimableBytes;
  const holds = over(pct, i.th.defragFragmentationPercent, on) && over(rec, i.th.defragReclaimableBytes, on);
  return [
    {
      code: 'DefragmentRecommended',
      finding: holds
        ? {
            code: 'DefragmentRecommended',
            severity: 'info',
            message: `${humanBytes(rec)} (${pct}%) of the backend is free space that only a defragmentation returns. Defragment one member at a time, followers first and the leader last (etcdctl defrag --endpoints=<one member>), or schedule it (spec.maintenance.defragmentation)`,
            evidence: ev(rec, i.th.defragReclaimableBytes, 'bytes', DOCS.defrag),
          }
        : undefined,
    },
  ];
};

const quotaSoon: AdviceCheck = (i, active) => {
  const c = i.capacity;
  const quota = i.quotaBytes;
  if (!c.trendReady || quota === undefined || i.sizeBytes === undefined) return [];
  const v: Verdict = { code: 'QuotaExhaustionSoon' };
  const usedPct = (i.sizeBytes / quota) * 100;
  const at = c.exhaustionEpochSeconds;
  // Raised within the warning horizon and above the size floor; once raised, it clears only when the
  // forecast is beyond the horizon / CLEAR_RATIO or the DB under CLEAR_RATIO of the floor.
  const on = active('QuotaExhaustionSoon');
  if (at === undefined || !over(usedPct, i.th.quotaExhaustionMinPercent, on)) return [v];
  const leftMs = at * 1000 - i.time;
  const severity: AdviceSeverity | undefined =
    leftMs <= i.th.quotaExhaustionCriticalMs
      ? 'critical'
      : leftMs <= i.th.quotaExhaustionWarningMs / (on ? CLEAR_RATIO : 1)
        ? 'warning'
        : undefined;
  if (!severity) return [v];
  const hours = Math.max(0, leftMs / 3_600_000);
  v.finding = {
    code: 'QuotaExhaustionSoon',
    severity,
    message: `at ${humanRate(c.growthPerSecond ?? 0)} the backend (${humanBytes(i.sizeBytes)}, ${round(usedPct, 1)}% of the ${humanBytes(quota)} quota) is full in about ${round(hours, 1)} h; then etcd raises NOSPACE and refuses writes. Compact old revisions (--auto-compaction-retention), defragment, delete what is not needed, or raise --quota-backend-bytes (at most 8 GiB)`,
    evidence: ev(
      hours,
      (severity === 'critical' ? i.th.quotaExhaustionCriticalMs : i.th.quotaExhaustionWarningMs) / 3_600_000,
      'hours',
      DOCS.quota,
      `${i.capacity.status.historySeconds}s`,
    ),
  };
  return [v];
};

const quotaTooLarge: AdviceCheck = (i) => {
  if (i.quotaBytes === undefined) return [];
  const q = i.quotaBytes;
  return [
    {
      code: 'QuotaTooLarge',
      finding:
        q > QUOTA_TOO_LARGE_BYTES
          ? {
              code: 'QuotaTooLarge',
              severity: 'warning',
              message: `--quota-backend-bytes is ${humanBytes(q)}, above the 8 GiB etcd suggests as the maximum: a backend that large makes snapshots, defragmentation and member recovery slow. Keep the data smaller or split it across clusters`,
              evidence: ev(q, QUOTA_TOO_LARGE_BYTES, 'bytes', DOCS.limit),
            }
          : undefined,
    },
  ];
};

const evenMembers: AdviceCheck = (i) => {
  if (i.voters === 0) return [];
  const n = i.voters;
  return [
    {
      code: 'EvenMemberCount',
      finding:
        n % 2 === 0
          ? {
              code: 'EvenMemberCount',
              severity: 'info',
              message: `${n} voting members: an even count tolerates no more failures than ${n - 1} (quorum ${Math.floor(n / 2) + 1}) and makes every write wait for one more member. Remove one or add one`,
              evidence: ev(n, 2, 'members', DOCS.odd),
            }
          : undefined,
    },
  ];
};

/** The checks on figures: disk, network, leadership, space. */
export const FIGURE_CHECKS: readonly AdviceCheck[] = [
  slowDisk,
  slowCommit,
  slowPeers,
  leaderChanges,
  defrag,
  quotaSoon,
  quotaTooLarge,
  evenMembers,
];
