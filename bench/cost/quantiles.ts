/** Small helpers the cost benchmark shares: quantiles of timings, CPU since a mark, MiB. */
import { percentile } from '../../src/benchmark/stats.js';

/** Milliseconds; figures rounded to microseconds. */
export interface Quantiles {
  count: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export const r3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Nearest-rank quantiles (stats.percentile); undefined for no samples. */
export function quantiles(xs: readonly number[]): Quantiles | undefined {
  if (xs.length === 0) return undefined;
  const s = Float64Array.from(xs).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    p50: r3(percentile(s, 50)),
    p99: r3(percentile(s, 99)),
    mean: r3(sum / s.length),
    max: r3(s[s.length - 1]!),
  };
}

export function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

export const MiB = 1024 * 1024;
export const mib = (b: number): number => Math.round((b / MiB) * 10) / 10;
