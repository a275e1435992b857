/**
 * status.capacity (SPEC §10) from the history (pure): growth, quota exhaustion, fragmentation,
 * write and request rates, and the hardware-guide tier the workload needs.
 */
import type { CapacityStatus, SizeTier } from '../crd/types.js';
import { pointsOf, windowOf, type CapacityHistory } from './capacityHistory.js';
import { humanBytes, round } from './format.js';
import { averageRate, growthPerSecond } from './trend.js';

/** A trend is shown once the history holds this many rounds… */
export const TREND_MIN_ROUNDS = 30;
/** …over at least this long. */
export const TREND_MIN_SPAN_MS = 60_000;

/**
 * etcd's hardware guide (Documentation op-guide/hardware, "Example hardware configurations"): each tier
 * serves up to this many requests per second and stores up to this much data.
 */
export const SIZE_TIERS: ReadonlyArray<{ tier: SizeTier; requestsPerSecond: number; dataBytes: number }> = [
  { tier: 'small', requestsPerSecond: 200, dataBytes: 100e6 },
  { tier: 'medium', requestsPerSecond: 1000, dataBytes: 500e6 },
  { tier: 'large', requestsPerSecond: 10_000, dataBytes: 1e9 },
  { tier: 'xlarge', requestsPerSecond: 50_000, dataBytes: 3e9 },
];

export function tierOf(requestsPerSecond: number | undefined, dataBytes: number): SizeTier | 'beyond-xlarge' {
  const rps = requestsPerSecond ?? 0;
  return (
    SIZE_TIERS.find((t) => rps <= t.requestsPerSecond && dataBytes <= t.dataBytes)?.tier ?? 'beyond-xlarge'
  );
}

export interface MemberDb {
  name: string;
  sizeBytes: number;
  inUseBytes: number;
}

export interface CapacityFigures {
  status: CapacityStatus;
  /** Bytes per second (for the gauge); absent without a trend. */
  growthPerSecond?: number;
  /** Epoch seconds when the quota is reached at that growth. */
  exhaustionEpochSeconds?: number;
  /** The trend has enough history behind it. */
  trendReady: boolean;
}

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

function fragmentation(members: readonly MemberDb[], s: CapacityStatus): void {
  let worst: { pct: number; rec: number } | undefined;
  for (const m of members) {
    if (m.sizeBytes <= 0) continue;
    const rec = Math.max(0, m.sizeBytes - m.inUseBytes);
    const pct = (rec / m.sizeBytes) * 100;
    if (!worst || pct > worst.pct) worst = { pct, rec };
  }
  if (worst) {
    s.fragmentationPercent = round(worst.pct, 1);
    s.reclaimableBytes = worst.rec;
  }
}

export function capacityOf(
  h: CapacityHistory,
  members: readonly MemberDb[],
  quotaBytes: number | undefined,
  windowMs: number,
): CapacityFigures {
  const pts = pointsOf(h);
  const span = pts.length ? pts[pts.length - 1]!.t - pts[0]!.t : 0;
  const s: CapacityStatus = { historySeconds: Math.round(span / 1000), historyRounds: h.rounds };
  const notes: string[] = [];
  fragmentation(members, s);
  const out: CapacityFigures = { status: s, trendReady: false };
  const newest = pts[pts.length - 1];
  const sinceStart = h.since !== undefined && newest ? newest.t - h.since : 0;
  if (h.rounds < TREND_MIN_ROUNDS || sinceStart < TREND_MIN_SPAN_MS) {
    notes.push(
      `dbGrowthBytesPerHour: a trend needs ${TREND_MIN_ROUNDS} rounds over ${seconds(TREND_MIN_SPAN_MS)} of history; have ${h.rounds} over ${seconds(sinceStart)}`,
    );
  } else {
    const g = growthPerSecond(pts.map((p) => ({ t: p.t, v: p.size })));
    if (g !== undefined) {
      out.trendReady = true;
      out.growthPerSecond = g;
      s.dbGrowthBytesPerHour = Math.round(g * 3600);
      if (quotaBytes === undefined)
        notes.push('quotaExhaustionTime: the quota is unknown (it comes from the members’ /metrics)');
      else if (g <= 0) notes.push(`quotaExhaustionTime: the backend is not growing (over ${seconds(span)})`);
      else {
        const left = Math.max(0, quotaBytes - newest!.size);
        const at = newest!.t + (left / g) * 1000;
        out.exhaustionEpochSeconds = Math.round(at / 1000);
        s.quotaExhaustionTime = new Date(at).toISOString();
      }
    }
  }
  const win = windowOf(pts, windowMs);
  const revRate = averageRate(win.map((p) => ({ t: p.t, v: p.rev })));
  if (revRate !== undefined) s.writeRevisionsPerSecond = round(revRate, 2);
  const reqWin = win.filter((p) => p.reqsKnown);
  const reqRate = averageRate(reqWin.map((p) => ({ t: p.t, v: p.reqs })));
  if (reqRate !== undefined) s.requestsPerSecond = round(reqRate, 2);
  else notes.push('requestsPerSecond: no request counts yet (they come from the members’ /metrics)');
  if (newest) s.sizeTier = tierOf(s.requestsPerSecond, newest.size);
  if (notes.length) s.notes = notes;
  return out;
}

/** "12.5 MiB/h" and the like, for messages. */
export function humanRate(bytesPerSecond: number): string {
  return `${humanBytes(Math.round(bytesPerSecond * 3600))}/h`;
}
