/**
 * The per-cluster history capacity trends are fitted over (pure data, bounded): at most HISTORY_POINTS
 * points, each (time, backend size, in-use size, revision, requests so far).
 *
 * It starts with every round. When full it keeps every other point and doubles the spacing it accepts
 * (so it covers twice the time in the same space); points older than HISTORY_MAX_SPAN_MS go. A round closer than the spacing to the last kept point replaces
 * it, so the newest figure is always there. The points are kept packed, FIELDS numbers each in one
 * Float64Array (HISTORY_POINTS × 6 × 8 bytes ≈ 11 KiB at most, whatever the interval; as objects they took
 * about three times that, each number boxed); `pointsOf()` unpacks them for a round's fit.
 */

export const HISTORY_POINTS = 240;
export const HISTORY_MAX_SPAN_MS = 6 * 3_600_000;

export interface HistoryPoint {
  t: number;
  /** Backend size (the largest member's dbSize). */
  size: number;
  /** In-use size of the same member. */
  inUse: number;
  /** Store revision (the highest a member reported). */
  rev: number;
  /** Requests counted so far (the sum of gRPC requests/s × time); a round without the figure adds nothing. */
  reqs: number;
  /** Whether `reqs` has had any figure to count up to this point. */
  reqsKnown: boolean;
}

export interface CapacityHistory {
  /** The kept points, oldest first, packed: t, size, inUse, rev, reqs, reqsKnown (1/0) each. */
  packed: Float64Array;
  /** The spacing a new point needs from the last kept one (ms); 0 until the first thinning. */
  gapMs: number;
  /** Rounds recorded (with a backend size) since the history began. */
  rounds: number;
  /** The first round's time. */
  since?: number;
  reqs: number;
  reqsKnown: boolean;
  lastT?: number;
}

const FIELDS = 6;

export function emptyHistory(): CapacityHistory {
  return { packed: new Float64Array(0), gapMs: 0, rounds: 0, reqs: 0, reqsKnown: false };
}

/** How many points the history keeps now. */
export function pointCount(h: CapacityHistory): number {
  return h.packed.length / FIELDS;
}

/** The kept points as objects, oldest first (a new array each call). */
export function pointsOf(h: CapacityHistory): HistoryPoint[] {
  const a = h.packed;
  const out: HistoryPoint[] = [];
  for (let i = 0; i < a.length; i += FIELDS) {
    out.push({
      t: a[i]!,
      size: a[i + 1]!,
      inUse: a[i + 2]!,
      rev: a[i + 3]!,
      reqs: a[i + 4]!,
      reqsKnown: a[i + 5] === 1,
    });
  }
  return out;
}

function pack(points: readonly HistoryPoint[]): Float64Array {
  const a = new Float64Array(points.length * FIELDS);
  points.forEach((p, j) => {
    const i = j * FIELDS;
    a[i] = p.t;
    a[i + 1] = p.size;
    a[i + 2] = p.inUse;
    a[i + 3] = p.rev;
    a[i + 4] = p.reqs;
    a[i + 5] = p.reqsKnown ? 1 : 0;
  });
  return a;
}

export interface RoundFigures {
  t: number;
  size: number;
  inUse: number;
  rev: number;
  requestsPerSecond?: number;
}

function thin(points: HistoryPoint[]): HistoryPoint[] {
  // Keep the first and every other point after it, and always the newest.
  const kept = points.filter((_, i) => i % 2 === 0);
  const last = points[points.length - 1]!;
  if (kept[kept.length - 1] !== last) kept.push(last);
  return kept;
}

/** The history with this round in it (a new object; the old one is not changed). */
export function record(h: CapacityHistory, r: RoundFigures): CapacityHistory {
  let reqs = h.reqs;
  let reqsKnown = h.reqsKnown;
  if (r.requestsPerSecond !== undefined && h.lastT !== undefined && r.t > h.lastT) {
    reqs += (r.requestsPerSecond * (r.t - h.lastT)) / 1000;
    reqsKnown = true;
  }
  const point: HistoryPoint = { t: r.t, size: r.size, inUse: r.inUse, rev: r.rev, reqs, reqsKnown };
  let points = pointsOf(h);
  let gapMs = h.gapMs;
  const last = points[points.length - 1];
  const prev = points[points.length - 2];
  if (last && prev && gapMs > 0 && r.t - prev.t < gapMs) points[points.length - 1] = point;
  else points.push(point);
  // Older than the span kept: gone (one point at or before its start stays, as the fit's anchor).
  const newestT = points[points.length - 1]!.t;
  while (points.length > 2 && newestT - points[1]!.t >= HISTORY_MAX_SPAN_MS) points.shift();
  if (points.length > HISTORY_POINTS) {
    const span = newestT - points[0]!.t;
    points = thin(points);
    gapMs = Math.max(gapMs * 2, Math.ceil(span / HISTORY_POINTS) * 2);
  }
  return {
    packed: pack(points),
    gapMs,
    rounds: h.rounds + 1,
    since: h.since ?? r.t,
    reqs,
    reqsKnown,
    lastT: r.t,
  };
}

/** The points no older than `ms` before the newest (at least the two newest, when there are two). */
export function lastWindow(h: CapacityHistory, ms: number): HistoryPoint[] {
  return windowOf(pointsOf(h), ms);
}

/** lastWindow over points already unpacked (`pointsOf`). */
export function windowOf(pts: readonly HistoryPoint[], ms: number): HistoryPoint[] {
  if (pts.length === 0) return [];
  const from = pts[pts.length - 1]!.t - ms;
  let i = pts.length - 1;
  while (i > 0 && pts[i - 1]!.t >= from) i--;
  return pts.slice(Math.min(i, Math.max(0, pts.length - 2)));
}
