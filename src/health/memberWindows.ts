/**
 * Per-member histogram windows for the disk and network advice (pure, bounded): the members' own
 * cumulative histograms (WAL fsync, backend commit, peer round trip) kept at a few points in time, so
 * a p99 is taken over the last window as PromQL's histogram_quantile(0.99, rate(…[window])) would —
 * not over one interval (too few fsyncs on a quiet cluster) and not since the member started.
 *
 * A snapshot is kept every window/WINDOW_STEPS; the oldest kept is the newest one at least a window old,
 * so at most WINDOW_STEPS + 2 per member.
 */
import type { Histogram, MemberMetricsSnapshot } from '../etcd/memberMetrics.js';
import { histogramDelta, histogramQuantile } from './histogram.js';

export const WINDOW_STEPS = 5;

export type WindowedFamily = 'walFsync' | 'backendCommit' | 'peerRtt';
export const WINDOWED: readonly WindowedFamily[] = ['walFsync', 'backendCommit', 'peerRtt'];

/** A cumulative histogram packed for keeping: its bucket bounds shared by every snapshot with the same layout. */
interface PackedHistogram {
  bounds: readonly number[];
  cum: Float64Array;
  count: number;
  sum: number;
}

export interface WindowSnapshot {
  t: number;
  h: Partial<Record<WindowedFamily, PackedHistogram>>;
}

/** Bucket layouts seen (etcd has one per family, so this stays a handful). */
const LAYOUTS = new Map<string, readonly number[]>();
const MAX_LAYOUTS = 64;

function pack(h: Histogram): PackedHistogram {
  const bounds = h.buckets.map(([le]) => le);
  const key = bounds.join(',');
  let shared = LAYOUTS.get(key);
  if (!shared) {
    shared = bounds;
    if (LAYOUTS.size < MAX_LAYOUTS) LAYOUTS.set(key, shared);
  }
  return { bounds: shared, cum: Float64Array.from(h.buckets, ([, c]) => c), count: h.count, sum: h.sum };
}

function unpack(p: PackedHistogram): Histogram {
  return { buckets: p.bounds.map((le, i) => [le, p.cum[i]!]), count: p.count, sum: p.sum };
}

/** Member endpoint → its snapshots, oldest first. */
export type MemberWindows = Record<string, WindowSnapshot[]>;

/** The windows with this round's member metrics in them (a new object). */
export function recordWindows(
  w: MemberWindows,
  t: number,
  metrics: ReadonlyArray<{ endpoint: string; metrics?: MemberMetricsSnapshot }>,
  windowMs: number,
): MemberWindows {
  const out: MemberWindows = {};
  const step = windowMs / WINDOW_STEPS;
  for (const m of metrics) {
    const prev = w[m.endpoint] ?? [];
    if (!m.metrics) {
      if (prev.length) out[m.endpoint] = prev;
      continue;
    }
    const h: WindowSnapshot['h'] = {};
    for (const f of WINDOWED) {
      const x = m.metrics[f];
      if (x) h[f] = pack(x);
    }
    const snaps = prev.slice();
    const last = snaps[snaps.length - 1];
    const beforeLast = snaps[snaps.length - 2];
    // The newest snapshot floats until it is a step past the one before it.
    if (last && beforeLast && t - beforeLast.t < step) snaps[snaps.length - 1] = { t, h };
    else snaps.push({ t, h });
    while (snaps.length > 2 && snaps[1]!.t <= t - windowMs) snaps.shift();
    out[m.endpoint] = snaps;
  }
  return out;
}

export interface WindowQuantile {
  /** Seconds. */
  value: number;
  samples: number;
  /** How much time the delta covers (ms). */
  coveredMs: number;
}

/** p99 (or another quantile) of one family over the member's window; undefined without observations. */
export function windowQuantile(
  snaps: readonly WindowSnapshot[] | undefined,
  family: WindowedFamily,
  q = 0.99,
): WindowQuantile | undefined {
  if (!snaps || snaps.length < 2) return undefined;
  const first = snaps[0]!;
  const last = snaps[snaps.length - 1]!;
  const curr = last.h[family];
  if (!curr) return undefined;
  const base = first.h[family];
  const delta = histogramDelta(base && unpack(base), unpack(curr));
  const value = histogramQuantile(q, delta);
  if (value === undefined) return undefined;
  return { value, samples: delta.count, coveredMs: last.t - first.t };
}
