/** Readings the operator benchmark takes: machine and process CPU, /metrics scrapes, status diffs; and the compiled operator. */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { procCpuSeconds, procRssBytes } from '../lib/proc.js';
import { parsePromText, type Sample } from '../../src/etcd/promtext.js';
import type { ProcUsage } from './report.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Busy and total CPU time of the whole machine (all cores), in clock ticks, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const all = f.slice(0, 8).reduce((a, x) => a + x, 0);
  return { busy: all - idle, total: all };
}

/** How busy the whole machine was between two readings, in percent of all its cores. */
export class MachineMeter {
  private readonly t0 = machineTicks();
  stop(): number {
    const t1 = machineTicks();
    const total = t1.total - this.t0.total;
    return total > 0 ? Math.round(((t1.busy - this.t0.busy) / total) * 1000) / 10 : 0;
  }
}

/** Average of a histogram's observations between two scrapes, in ms (undefined without observations). */
export function histogramAvgMs(a: Sample[], b: Sample[], name: string): number | undefined {
  const n = sum(b, `${name}_count`) - sum(a, `${name}_count`);
  if (n <= 0) return undefined;
  return Math.round(((sum(b, `${name}_sum`) - sum(a, `${name}_sum`)) / n) * 1000 * 10) / 10;
}

/** Our own child started with `needle` among its arguments (the control plane's kube-apiserver). */
export function findPid(binary: string, needle: string): number | undefined {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (args[0] === binary && args.some((a) => a.includes(needle))) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** CPU (and RSS high-water mark) of a set of processes between two moments. */
export class UsageMeter {
  private readonly t0 = Date.now();
  private readonly cpu0: number;
  private rssMax: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: Array<number | undefined>,
    sampleMs = 500,
  ) {
    this.cpu0 = this.cpu();
    this.sample();
    this.timer = setInterval(() => this.sample(), sampleMs);
    this.timer.unref();
  }

  private cpu(): number {
    return this.pids.reduce<number>((a, p) => a + procCpuSeconds(p), 0);
  }

  private rss(): number | undefined {
    const v = this.pids.map((p) => procRssBytes(p));
    return v.some((x) => x === undefined) ? undefined : v.reduce<number>((a, x) => a + x!, 0);
  }

  private sample(): void {
    const r = this.rss();
    if (r !== undefined) this.rssMax = Math.max(this.rssMax ?? 0, r);
  }

  stop(): ProcUsage {
    clearInterval(this.timer);
    this.sample();
    const wallSeconds = (Date.now() - this.t0) / 1000;
    const cpuSeconds = Math.round((this.cpu() - this.cpu0) * 100) / 100;
    return {
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      cpuSeconds,
      cpuPercentOfOneCore: wallSeconds > 0 ? Math.round((cpuSeconds / wallSeconds) * 1000) / 10 : 0,
      rssMaxBytes: this.rssMax,
      rssEndBytes: this.rss(),
    };
  }
}

export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return parsePromText(await res.text());
}

export function byLabels(samples: Sample[], name: string, labels: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = labels.map((l) => s.labels[l] ?? '').join('/');
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

export function sum(samples: Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

export function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export const total = (r: Record<string, number>): number => Object.values(r).reduce((a, x) => a + x, 0);

/** Top-level status fields whose value differs (what a status update changed). */
export function changedFields(a: EtcdMonitorStatus | undefined, b: EtcdMonitorStatus | undefined): string[] {
  const x = (a ?? {}) as unknown as Record<string, unknown>;
  const y = (b ?? {}) as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])]
    .filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]))
    .sort();
}

export interface Track {
  name: string;
  createdAt?: number;
  generation?: number;
  ackAt?: number;
  ackPhase?: string;
  verdictAt?: number;
  verdictPhase?: string;
  verdictProbeTime?: number;
  healthyAt?: number;
  phase?: string;
  status?: EtcdMonitorStatus;
}

/** Compile src/ into .cache/bench-operator/dist (inside the repo so package.json and node_modules resolve). */
export const COMPILED = path.join(REPO, '.cache/bench-operator');

export function compileOperator(): string {
  const out = path.join(COMPILED, 'dist');
  fs.rmSync(out, { recursive: true, force: true });
  execFileSync(
    path.join(REPO, 'node_modules/.bin/tsc'),
    ['-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', out, '--sourceMap', 'false'],
    { cwd: REPO, stdio: 'inherit' },
  );
  return path.join(out, 'cli/main.js');
}
