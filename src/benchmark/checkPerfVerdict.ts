/**
 * `check perf`: the workload table and the PASS/FAIL criteria of `etcdctl check perf`
 * (etcdctl/ctlv3/command/check.go, v3.5/v3.6), and the text the command prints. Pure: plain data in,
 * verdict and lines out.
 *
 * etcdctl: every load runs 60 s of puts (256-byte keys under /etcdctl-check-perf/, 1024-byte values)
 * paced by a token bucket (burst 1) at the load's limit, by the load's number of clients; it fails
 * on any error, on a throughput of at most 90% of the limit, on a slowest request above 0.5 s or on a
 * standard deviation above 0.1 s (successful requests only, population stddev).
 */

export type PerfLoad = 's' | 'm' | 'l' | 'xl';

export interface PerfLoadConfig {
  /** Puts per second the token bucket allows (the throughput the check expects). */
  limit: number;
  clients: number;
  durationSeconds: number;
}

/** etcdctl's checkPerfCfgMap. */
export const PERF_LOADS: Readonly<Record<PerfLoad, PerfLoadConfig>> = {
  s: { limit: 150, clients: 50, durationSeconds: 60 },
  m: { limit: 1000, clients: 200, durationSeconds: 60 },
  l: { limit: 8000, clients: 500, durationSeconds: 60 },
  xl: { limit: 15000, clients: 1000, durationSeconds: 60 },
};

const LOAD_NAMES: Readonly<Record<string, PerfLoad>> = {
  s: 's',
  small: 's',
  m: 'm',
  medium: 'm',
  l: 'l',
  large: 'l',
  xl: 'xl',
  xLarge: 'xl',
};

/** The load a --load value names (etcdctl's names and aliases, case as etcdctl has them), or undefined. */
export function parsePerfLoad(name: string): PerfLoad | undefined {
  return Object.hasOwn(LOAD_NAMES, name) ? LOAD_NAMES[name] : undefined;
}

export const PERF_KEY_SIZE = 256;
export const PERF_VALUE_SIZE = 1024;
export const PERF_DEFAULT_PREFIX = '/etcdctl-check-perf/';

export const PERF_CRITERIA = {
  /** Throughput must exceed this share of the limit (etcdctl fails at `rps / limit <= 0.9`). */
  minThroughputRatio: 0.9,
  /** etcdctl fails at `slowest > 0.5`. */
  maxSlowestSeconds: 0.5,
  /** etcdctl fails at `stddev > 0.1`. */
  maxStddevSeconds: 0.1,
} as const;

/** What a run measured; slowest and stddev are null when no request succeeded. */
export interface PerfStats {
  limit: number;
  /** Successful puts per second over the run (etcd's report: successes / wall time). */
  writesPerSecond: number;
  slowestSeconds: number | null;
  stddevSeconds: number | null;
  /** Failed requests by gRPC code. */
  errors: Readonly<Record<string, number>>;
}

/** After the run: deleting the prefix and the optional compaction and defragmentation. */
export interface PerfAftermath {
  cleanup: { ok: boolean; error?: string };
  compact?: { ok: boolean; revision?: number; error?: string };
  defrag?: Array<{ endpoint: string; ok: boolean; error?: string }>;
}

export type PerfCheckName = 'errors' | 'throughput' | 'slowest' | 'stddev' | 'cleanup' | 'compact' | 'defrag';

export interface PerfCheck {
  name: PerfCheckName;
  pass: boolean;
  /** The measured figure (writes/s, seconds, error count); null when there is none. */
  value: number | null;
  /** The bound it was held to (for throughput, the lowest passing rate is above it). */
  threshold: number | null;
  /** The line printed for it, etcdctl's wording with "PASS: " or "FAIL: " in front. */
  message: string;
}

export interface PerfVerdict {
  checks: PerfCheck[];
  pass: boolean;
}

/** Six decimals, as Go's %f. */
function f6(x: number): string {
  return x.toFixed(6);
}

/** The rate etcdctl prints: int(RPS)+1. */
export function shownRate(writesPerSecond: number): number {
  return Math.trunc(writesPerSecond) + 1;
}

/** The verdict on one run: etcdctl's four criteria, then whether the keys (and the extras) went away. */
export function perfVerdict(s: PerfStats, after?: PerfAftermath): PerfVerdict {
  const checks: PerfCheck[] = [];
  const errorCount = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const byCode = Object.entries(s.errors)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  checks.push({
    name: 'errors',
    pass: errorCount === 0,
    value: errorCount,
    threshold: 0,
    message:
      errorCount === 0
        ? 'PASS: No errors'
        : ['FAIL: too many errors', ...byCode.map(([code, n]) => `FAIL: ERROR(${code}) -> ${n}`)].join('\n'),
  });
  const rateOk = s.limit > 0 && s.writesPerSecond / s.limit > PERF_CRITERIA.minThroughputRatio;
  const rate = shownRate(s.writesPerSecond);
  checks.push({
    name: 'throughput',
    pass: rateOk,
    value: s.writesPerSecond,
    threshold: s.limit * PERF_CRITERIA.minThroughputRatio,
    message: rateOk ? `PASS: Throughput is ${rate} writes/s` : `FAIL: Throughput too low: ${rate} writes/s`,
  });
  const slow = s.slowestSeconds;
  const slowOk = slow !== null && slow <= PERF_CRITERIA.maxSlowestSeconds;
  checks.push({
    name: 'slowest',
    pass: slowOk,
    value: slow,
    threshold: PERF_CRITERIA.maxSlowestSeconds,
    message:
      slow === null
        ? 'FAIL: Slowest request: no request succeeded'
        : slowOk
          ? `PASS: Slowest request took ${f6(slow)}s`
          : `FAIL: Slowest request took too long: ${f6(slow)}s`,
  });
  const sd = s.stddevSeconds;
  const sdOk = sd !== null && sd <= PERF_CRITERIA.maxStddevSeconds;
  checks.push({
    name: 'stddev',
    pass: sdOk,
    value: sd,
    threshold: PERF_CRITERIA.maxStddevSeconds,
    message:
      sd === null
        ? 'FAIL: Stddev: no request succeeded'
        : sdOk
          ? `PASS: Stddev is ${f6(sd)}s`
          : `FAIL: Stddev too high: ${f6(sd)}s`,
  });
  if (after) checks.push(...aftermathChecks(after));
  return { checks, pass: checks.every((c) => c.pass) };
}

function aftermathChecks(after: PerfAftermath): PerfCheck[] {
  const out: PerfCheck[] = [
    {
      name: 'cleanup',
      pass: after.cleanup.ok,
      value: null,
      threshold: null,
      message: after.cleanup.ok
        ? 'PASS: Keys deleted'
        : `FAIL: Cleanup failed during key deletion: ERROR(${after.cleanup.error ?? 'unknown'})`,
    },
  ];
  if (after.compact) {
    const c = after.compact;
    out.push({
      name: 'compact',
      pass: c.ok,
      value: c.revision ?? null,
      threshold: null,
      message: c.ok
        ? `PASS: Compacted with revision ${c.revision ?? '?'}`
        : `FAIL: Compaction failed: ERROR(${c.error ?? 'unknown'})`,
    });
  }
  if (after.defrag) {
    const failed = after.defrag.filter((d) => !d.ok);
    out.push({
      name: 'defrag',
      pass: failed.length === 0,
      value: after.defrag.length - failed.length,
      threshold: null,
      message:
        failed.length === 0
          ? after.defrag.map((d) => `PASS: Defragmented "${d.endpoint}"`).join('\n')
          : failed
              .map((d) => `FAIL: Defragmenting "${d.endpoint}" failed: ERROR(${d.error ?? ''})`)
              .join('\n'),
    });
  }
  return out;
}

/**
 * The lines the command prints, in etcdctl's order: compaction/defragmentation (only when asked for),
 * errors and cleanup (only when they failed, as etcdctl), throughput, slowest, stddev, then PASS or FAIL.
 */
export function renderPerfVerdict(v: PerfVerdict): string {
  const by = (n: PerfCheckName): PerfCheck | undefined => v.checks.find((c) => c.name === n);
  const lines: string[] = [];
  for (const n of ['cleanup', 'compact', 'defrag', 'errors'] as const) {
    const c = by(n);
    if (c && (!c.pass || n === 'compact' || n === 'defrag')) lines.push(c.message);
  }
  for (const n of ['throughput', 'slowest', 'stddev'] as const) {
    const c = by(n);
    if (c) lines.push(c.message);
  }
  lines.push(v.pass ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
