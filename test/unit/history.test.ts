/** The dashboard's history: point ring, one point per round, one buffer per cluster. */
import { expect } from 'chai';
import type { RoundResult } from '../../src/monitor/clusterMonitor.js';
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate } from '../../src/health/evaluate.js';
import { HistoryStore, PointRing, historyPoint, type HistoryPoint } from '../../src/api/dashboard/history.js';
import { MonitorRegistry } from '../../src/monitor/registry.js';
import { observe, type MemberSpec } from './fixtures.js';

function round(cluster: string, specs: MemberSpec[], time: number): RoundResult {
  const observation = observe(specs, time);
  const evaluation = evaluate(observation, undefined, emptyMemory(), { thresholds: DEFAULT_THRESHOLDS });
  return { cluster, observation, evaluation, durationMs: 12.4 };
}

describe('historyPoint', () => {
  it('takes the charted figures from a round, with null (not 0) for what was not measured', () => {
    const p = historyPoint(
      round(
        'prod/main',
        [{ leader: 'a1' }, { leader: 'a1' }, { leader: 'a1' }],
        Date.UTC(2024, 0, 2, 3, 4, 5),
      ),
    );
    expect(p.time).to.equal('2024-01-02T03:04:05.000Z');
    expect(p.phase).to.equal('Healthy');
    expect(p.healthy).to.equal(true);
    expect(p.leader).to.equal('etcd1');
    expect(p.memberCount).to.equal(3);
    expect(p.healthyMembers).to.equal(3);
    expect(p.dbSizeBytes).to.equal(20480);
    expect(p.dbSizeInUseBytes).to.equal(16384);
    expect(p.leaderChanges).to.equal(0);
    expect(p.probeRoundMs).to.equal(12);
    // No member metrics in the fixture: no request rate and no write p99, and never a made-up 0.
    expect(p.requestRatePerSecond).to.equal(null);
    expect(p.writeP99Ms).to.equal(null);
    expect(p.probeP99Ms).to.be.a('number');
    expect(JSON.parse(JSON.stringify(p))).to.deep.equal(p);
  });

  it('records a degraded and an unreachable cluster', () => {
    const degraded = historyPoint(round('x', [{}, {}, { up: false }], 1_700_000_000_000));
    expect(degraded.phase).to.equal('Degraded');
    expect(degraded.healthyMembers).to.equal(2);
    const down = historyPoint(round('x', [{ up: false }, { up: false }, { up: false }], 1_700_000_000_000));
    expect(down.phase).to.equal('Unreachable');
    expect(down.leader).to.equal(null);
    expect(down.dbSizeBytes).to.equal(null);
  });
});

describe('PointRing (the compact store behind HistoryStore)', () => {
  it('gives back exactly the points it was given, oldest first, across wrap-arounds', () => {
    const ring = new PointRing(4);
    const points: HistoryPoint[] = [];
    for (let i = 0; i < 11; i++) {
      const p = historyPoint(
        round(
          'x',
          i % 3 === 2
            ? [{}, {}, { up: false }]
            : i % 5 === 4
              ? [{ up: false }, { up: false }, { up: false }]
              : [{}, {}, {}],
          1_700_000_000_000 + i * 1234,
        ),
      );
      p.readP99Ms = i % 2 ? 1.8 + i / 7 : null;
      p.dbQuotaUsedPercent = i === 10 ? 0.0001 : p.dbQuotaUsedPercent;
      points.push(p);
      ring.push(p);
      expect(ring.toArray()).to.deep.equal(points.slice(-4));
    }
    expect(ring.length).to.equal(4);
    expect(points.map((p) => p.phase)).to.include.members(['Healthy', 'Degraded', 'Unreachable']);
    expect(() => new PointRing(0)).to.throw(RangeError);
  });
});

describe('HistoryStore', () => {
  it('keeps one bounded buffer per cluster from the registry round events, and drops a removed cluster', async () => {
    const registry = new MonitorRegistry();
    const store = new HistoryStore(registry, 5);
    const seen: Array<[string, HistoryPoint]> = [];
    store.on('point', (r, p) => seen.push([r.cluster, p]));
    const removed: string[] = [];
    store.on('removed', (n) => removed.push(n));
    const healthy: MemberSpec[] = [{}, {}, {}];
    for (let i = 0; i < 8; i++) registry.emit('round', round('a', healthy, 1_700_000_000_000 + i * 1000));
    registry.emit('round', round('b', healthy, 1_700_000_000_000));
    expect(store.points('a').map((p) => p.time)).to.deep.equal(
      [3, 4, 5, 6, 7].map((i) => new Date(1_700_000_000_000 + i * 1000).toISOString()),
    );
    expect(store.points('b')).to.have.length(1);
    expect(store.points('nope')).to.deep.equal([]);
    expect(seen).to.have.length(9);
    expect(seen[8]![0]).to.equal('b');
    expect(seen[8]![1]).to.deep.equal(store.points('b')[0]);

    registry.emit('removed', 'a');
    expect(store.points('a')).to.deep.equal([]);
    expect(removed).to.deep.equal(['a']);

    store.close();
    registry.emit('round', round('b', healthy, 1_700_000_009_000));
    expect(store.points('b'), 'closed: no longer listening').to.deep.equal([]);
    expect(registry.listenerCount('round')).to.equal(0);
    expect(registry.listenerCount('removed')).to.equal(0);
  });

  it('defaults to 360 rounds', () => {
    const store = new HistoryStore(new MonitorRegistry());
    expect(store.capacity).to.equal(360);
    store.close();
  });
});
