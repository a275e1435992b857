import { expect } from 'chai';
import {
  emptyHistory,
  HISTORY_MAX_SPAN_MS,
  HISTORY_POINTS,
  lastWindow,
  pointCount,
  pointsOf,
  record,
} from '../../../src/health/capacityHistory.js';
import { averageRate, growthPerSecond, robustSlope, withoutDrops } from '../../../src/health/trend.js';

describe('trend: robust growth of a gauge', () => {
  const line = (n: number, slope: number, t0 = 0, v0 = 1000): Array<{ t: number; v: number }> =>
    Array.from({ length: n }, (_, i) => ({ t: t0 + i * 1000, v: v0 + slope * i }));

  it('fits a straight line exactly', () => {
    expect(robustSlope(line(40, 5))).to.be.closeTo(5, 1e-9);
  });

  it('is not moved by a few wild points', () => {
    const pts = line(40, 5);
    pts[7]!.v = 1e9;
    pts[20]!.v = -1e9;
    pts[33]!.v = 5e8;
    expect(robustSlope(pts)).to.be.closeTo(5, 1e-9);
  });

  it('does not count a compaction or defragmentation drop as negative growth', () => {
    const pts = line(40, 5);
    for (let i = 20; i < 40; i++) pts[i]!.v -= 50_000; // defragmentation at i = 20
    // The round of the drop itself shows no growth (what grew in it is unknown), every other one does.
    expect(withoutDrops(pts)[39]!.v).to.equal(1000 + 5 * 38);
    // Every half-span pair straddles the drop, so each loses that one interval: 4.75, not 5.
    expect(growthPerSecond(pts)).to.be.closeTo(5, 0.3);
  });

  it('a flat series after a drop grows by nothing', () => {
    const pts = [...line(20, 0, 0, 5000), ...line(20, 0, 20_000, 1000)];
    expect(growthPerSecond(pts)).to.equal(0);
  });

  it('averages a counter across resets', () => {
    const pts = [
      { t: 0, v: 100 },
      { t: 10_000, v: 200 },
      { t: 20_000, v: 50 }, // restarted member: counter reset
      { t: 30_000, v: 150 },
    ];
    expect(averageRate(pts)).to.be.closeTo((100 + 0 + 100) / 30, 1e-9);
    expect(averageRate(pts.slice(0, 1))).to.equal(undefined);
  });
});

describe('capacity history: bounded, however long it runs', () => {
  it('keeps at most HISTORY_POINTS points and thins to cover up to HISTORY_MAX_SPAN_MS', () => {
    let h = emptyHistory();
    const step = 5000;
    const rounds = Math.ceil((HISTORY_MAX_SPAN_MS * 2) / step);
    for (let i = 0; i < rounds; i++) {
      h = record(h, { t: i * step, size: 1000 + i, inUse: 900, rev: i });
      expect(pointCount(h)).to.be.at.most(HISTORY_POINTS + 1);
    }
    expect(h.rounds).to.equal(rounds);
    const pts = pointsOf(h);
    const span = pts[pts.length - 1]!.t - pts[0]!.t;
    expect(span).to.be.at.least(HISTORY_MAX_SPAN_MS * 0.9);
    expect(span).to.be.at.most(HISTORY_MAX_SPAN_MS * 1.1);
    // The newest round is always in it.
    expect(pts[pts.length - 1]!.t).to.equal((rounds - 1) * step);
  });

  it('does not change the history it was given', () => {
    const a = record(emptyHistory(), { t: 0, size: 1, inUse: 1, rev: 1 });
    const b = record(a, { t: 1000, size: 2, inUse: 1, rev: 2 });
    expect(pointsOf(a)).to.have.length(1);
    expect(pointsOf(b)).to.deep.equal([
      { t: 0, size: 1, inUse: 1, rev: 1, reqs: 0, reqsKnown: false },
      { t: 1000, size: 2, inUse: 1, rev: 2, reqs: 0, reqsKnown: false },
    ]);
  });

  it('counts requests from the per-round rate', () => {
    let h = emptyHistory();
    for (let i = 0; i <= 10; i++)
      h = record(h, { t: i * 1000, size: 1, inUse: 1, rev: 1, requestsPerSecond: 50 });
    expect(h.reqs).to.be.closeTo(500, 1e-9);
    expect(lastWindow(h, 5000).map((p) => p.t)).to.deep.equal([5000, 6000, 7000, 8000, 9000, 10000]);
  });
});
