/**
 * The benchmark report: one plain object (printed as JSON with --json) and its text rendering,
 * laid out like etcd's benchmark (pkg/report): Summary, Response time histogram, Latency
 * distribution, Error distribution. Pure.
 */
import type { BenchmarkOptions } from './options.js';
import {
  histogram,
  summarize,
  type HistogramBucket,
  type LatencyRecorder,
  type LatencySummary,
} from './stats.js';

/** Latency figures in milliseconds; every figure is null when no request succeeded (absent, not 0). */
export interface LatencyMs {
  min: number | null;
  max: number | null;
  avg: number | null;
  stddev: number | null;
  p10: number | null;
  p25: number | null;
  p50: number | null;
  p75: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  p999: number | null;
}

export interface OperationReport {
  total: number;
  succeeded: number;
  failed: number;
  requestsPerSecond: number;
  latencyMs: LatencyMs;
  errors: Record<string, number>;
}

export interface BenchmarkParameters extends Omit<BenchmarkOptions, 'seed'> {
  endpoints: string[];
  prefix: string;
  seed: number | null;
}

export interface BenchmarkReport {
  type: BenchmarkOptions['type'];
  /** Requests issued in the timed phase (succeeded + failed). Equals ops unless interrupted. */
  total: number;
  succeeded: number;
  failed: number;
  durationSeconds: number;
  /** Successful requests per second over the timed phase (as etcd's benchmark counts them). */
  requestsPerSecond: number;
  latencyMs: LatencyMs;
  histogram: HistogramBucket[];
  /** Failed requests by gRPC status code name. */
  errors: Record<string, number>;
  /** One example message per code. */
  errorMessages: Record<string, string>;
  /** Per request kind: `put` and/or `range`. */
  operations: Partial<Record<'put' | 'range', OperationReport>>;
  parameters: BenchmarkParameters;
  prepopulate: { keys: number; failed: number; durationSeconds: number } | null;
  cleanup: { ok: boolean; deleted: number; error?: string; note?: string };
  interrupted: boolean;
  startedAt: string;
}

const NULL_LATENCY: LatencyMs = {
  min: null,
  max: null,
  avg: null,
  stddev: null,
  p10: null,
  p25: null,
  p50: null,
  p75: null,
  p90: null,
  p95: null,
  p99: null,
  p999: null,
};

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function latencyMs(s: LatencySummary | undefined): LatencyMs {
  if (!s) return { ...NULL_LATENCY };
  const out = { ...NULL_LATENCY };
  for (const k of Object.keys(out) as Array<keyof LatencyMs>) out[k] = round(s[k]);
  return out;
}

function errorsObject(r: LatencyRecorder): Record<string, number> {
  return Object.fromEntries([...r.errors.entries()].sort((a, b) => b[1] - a[1]));
}

export function operationReport(r: LatencyRecorder, durationMs: number): OperationReport {
  const sorted = r.sorted();
  return {
    total: r.total,
    succeeded: r.succeeded,
    failed: r.failed,
    requestsPerSecond: durationMs > 0 ? round((r.succeeded * 1000) / durationMs, 2) : 0,
    latencyMs: latencyMs(summarize(sorted)),
    errors: errorsObject(r),
  };
}

export interface ReportInput {
  options: BenchmarkOptions;
  endpoints: string[];
  prefix: string;
  startedAt: Date;
  durationMs: number;
  all: LatencyRecorder;
  byOperation: Partial<Record<'put' | 'range', LatencyRecorder>>;
  prepopulate: BenchmarkReport['prepopulate'];
  cleanup: BenchmarkReport['cleanup'];
  interrupted: boolean;
}

export function buildReport(x: ReportInput): BenchmarkReport {
  const sorted = x.all.sorted();
  const { seed, ...opts } = x.options;
  const operations: BenchmarkReport['operations'] = {};
  for (const [k, r] of Object.entries(x.byOperation) as Array<['put' | 'range', LatencyRecorder]>) {
    if (r.total > 0) operations[k] = operationReport(r, x.durationMs);
  }
  return {
    type: x.options.type,
    total: x.all.total,
    succeeded: x.all.succeeded,
    failed: x.all.failed,
    durationSeconds: round(x.durationMs / 1000, 6),
    requestsPerSecond: x.durationMs > 0 ? round((x.all.succeeded * 1000) / x.durationMs, 2) : 0,
    latencyMs: latencyMs(summarize(sorted)),
    histogram: histogram(sorted).map((b) => ({ upToMs: round(b.upToMs), count: b.count })),
    errors: errorsObject(x.all),
    errorMessages: Object.fromEntries(x.all.errorSamples),
    operations,
    parameters: { ...opts, endpoints: x.endpoints, prefix: x.prefix, seed: seed ?? null },
    prepopulate: x.prepopulate,
    cleanup: x.cleanup,
    interrupted: x.interrupted,
    startedAt: x.startedAt.toISOString(),
  };
}

/** etcd prints seconds with four decimals. */
function secs(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(4)} secs`;
}

const BAR = '∎';
const BAR_WIDTH = 40;

/** The histogram as text bars, normalised so the fullest bucket is 40 characters. */
export function renderHistogram(buckets: HistogramBucket[]): string {
  const max = buckets.reduce((m, b) => Math.max(m, b.count), 0);
  return buckets
    .map((b) => {
      const len = max > 0 ? Math.floor((b.count * BAR_WIDTH) / max) : 0;
      return `  ${(b.upToMs / 1000).toFixed(4)} [${b.count}]\t|${BAR.repeat(len)}`;
    })
    .join('\n');
}

const PCT_LABELS: Array<[keyof LatencyMs, string]> = [
  ['p10', '10'],
  ['p25', '25'],
  ['p50', '50'],
  ['p75', '75'],
  ['p90', '90'],
  ['p95', '95'],
  ['p99', '99'],
  ['p999', '99.9'],
];

function kindName(k: string): string {
  return k === 'put' ? 'Put' : 'Range';
}

/** The human report, like etcd's benchmark prints it, plus what ran and what failed. */
export function renderText(r: BenchmarkReport): string {
  const p = r.parameters;
  const lines: string[] = [];
  const reads =
    r.type === 'write' ? '' : `, ${p.consistency === 'l' ? 'linearizable' : 'serializable'} reads`;
  const mix = r.type === 'mixed' ? `, read ratio ${p.readRatio}` : '';
  lines.push(
    `Benchmark ${r.type}: ${p.ops} requests, ${p.clients} clients, ${p.conns} connections, key ${p.keySize}B, value ${p.valueSize}B, ` +
      `${p.keySpaceSize} keys (${p.sequentialKeys ? 'sequential' : 'random'})${reads}${mix}, rate ${p.rate > 0 ? `${p.rate}/s` : 'unlimited'}, timeout ${p.timeoutMs}ms`,
  );
  lines.push(`Endpoints: ${p.endpoints.join(', ')}; keys under ${p.prefix}`);
  if (r.prepopulate) {
    lines.push(
      `Prepopulated ${r.prepopulate.keys} keys in ${r.prepopulate.durationSeconds.toFixed(2)}s (untimed)${r.prepopulate.failed ? `, ${r.prepopulate.failed} puts failed` : ''}`,
    );
  }
  if (r.interrupted) lines.push(`Interrupted: ${r.total} of ${p.ops} requests were issued.`);
  lines.push('', 'Summary:');
  lines.push(`  Total:\t${r.durationSeconds.toFixed(4)} secs.`);
  lines.push(`  Slowest:\t${secs(r.latencyMs.max)}.`);
  lines.push(`  Fastest:\t${secs(r.latencyMs.min)}.`);
  lines.push(`  Average:\t${secs(r.latencyMs.avg)}.`);
  lines.push(`  Stddev:\t${secs(r.latencyMs.stddev)}.`);
  lines.push(`  Requests/sec:\t${r.requestsPerSecond.toFixed(4)}`);
  lines.push(`  Requests:\t${r.total} (${r.succeeded} succeeded, ${r.failed} failed)`);
  const kinds = Object.entries(r.operations) as Array<[string, OperationReport]>;
  if (kinds.length > 1) {
    for (const [k, o] of kinds) {
      lines.push(
        `  ${kindName(k)}:\t${o.total} (${o.failed} failed), ${o.requestsPerSecond.toFixed(2)}/s, avg ${secs(o.latencyMs.avg)}, p99 ${secs(o.latencyMs.p99)}`,
      );
    }
  }
  if (r.histogram.length > 0) {
    lines.push('', 'Response time histogram:', renderHistogram(r.histogram));
    lines.push('', 'Latency distribution:');
    for (const [key, label] of PCT_LABELS) {
      const v = r.latencyMs[key];
      if (v !== null) lines.push(`  ${label}% in ${secs(v)}.`);
    }
  } else {
    lines.push('', 'No request succeeded: no latency figures.');
  }
  if (r.failed > 0) {
    lines.push('', 'Error distribution:');
    for (const [code, n] of Object.entries(r.errors)) {
      const msg = r.errorMessages[code];
      lines.push(`  [${n}]\t${code}${msg ? `: ${msg}` : ''}`);
    }
  }
  lines.push('');
  lines.push(
    r.cleanup.ok
      ? `Cleanup: deleted ${r.cleanup.deleted} keys under ${p.prefix}`
      : `Cleanup FAILED: keys may remain under ${p.prefix}: ${r.cleanup.error ?? 'unknown error'}`,
  );
  if (r.cleanup.note) lines.push(`Note: ${r.cleanup.note}`);
  return lines.join('\n');
}
