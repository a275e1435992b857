/** Benchmark statistics and the report, on plain numbers. */
import { expect } from 'chai';
import { buildReport, renderHistogram, renderText } from '../../src/benchmark/report.js';
import { resolveOptions } from '../../src/benchmark/options.js';
import {
  LatencyRecorder,
  histogram,
  percentile,
  percentileKey,
  sortedCopy,
  summarize,
} from '../../src/benchmark/stats.js';

const range = (n: number, f = (i: number) => i + 1): number[] => Array.from({ length: n }, (_, i) => f(i));

describe('benchmark statistics', () => {
  it('nearest-rank percentiles', () => {
    const a = sortedCopy(range(1000)); // 1..1000
    expect(percentile(a, 50)).to.equal(500);
    expect(percentile(a, 90)).to.equal(900);
    expect(percentile(a, 99)).to.equal(990);
    expect(percentile(a, 99.9)).to.equal(999);
    expect(percentile(a, 100)).to.equal(1000);
    expect(percentile(a, 0)).to.equal(1);
    const ten = sortedCopy(range(10));
    expect(percentile(ten, 10)).to.equal(1);
    expect(percentile(ten, 25)).to.equal(3);
    expect(percentile(ten, 99.9)).to.equal(10);
    expect(percentile(sortedCopy([7]), 50)).to.equal(7);
    expect(() => percentile(new Float64Array(0), 50)).to.throw(RangeError);
    expect(() => percentile(ten, 101)).to.throw(RangeError);
  });

  it('sorts numerically, not as strings', () => {
    expect([...sortedCopy([10, 9, 100, 1.5])]).to.deep.equal([1.5, 9, 10, 100]);
  });

  it('summary: min, max, mean, population stddev and the etcd percentiles', () => {
    const s = summarize(sortedCopy([2, 4, 4, 4, 5, 5, 7, 9]))!;
    expect(s.count).to.equal(8);
    expect(s.min).to.equal(2);
    expect(s.max).to.equal(9);
    expect(s.avg).to.equal(5);
    expect(s.stddev).to.equal(2);
    expect(s.p50).to.equal(4);
    expect(s.p999).to.equal(9);
    expect(summarize([])).to.equal(undefined);
    expect(percentileKey(99.9)).to.equal('p999');
    expect(percentileKey(50)).to.equal('p50');
  });

  it('etcd-style histogram: 10 equal buckets fastest..slowest plus the slowest; counts add up', () => {
    const data = sortedCopy([...range(100), 1000]);
    const h = histogram(data);
    expect(h).to.have.length(11);
    expect(h[0]!.upToMs).to.equal(1);
    expect(h[10]!.upToMs).to.equal(1000);
    expect(h[1]!.upToMs).to.be.closeTo(100.9, 1e-9);
    expect(h.reduce((s, b) => s + b.count, 0)).to.equal(101);
    expect(h[0]!.count).to.equal(1);
    expect(h[1]!.count).to.equal(99);
    expect(h[10]!.count).to.equal(1);
    // All equal: everything lands in the first bucket.
    const same = histogram(sortedCopy([3, 3, 3]));
    expect(same[0]!.count).to.equal(3);
    expect(histogram([])).to.deep.equal([]);
  });

  it('renders histogram bars normalised to 40 characters', () => {
    const text = renderHistogram([
      { upToMs: 1, count: 10 },
      { upToMs: 2, count: 5 },
      { upToMs: 3, count: 0 },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).to.equal(`  0.0010 [10]\t|${'∎'.repeat(40)}`);
    expect(lines[1]).to.equal(`  0.0020 [5]\t|${'∎'.repeat(20)}`);
    expect(lines[2]).to.equal('  0.0030 [0]\t|');
  });

  it('recorder grows, counts failures by code and keeps one message per code', () => {
    const r = new LatencyRecorder(2);
    for (let i = 0; i < 100; i++) r.ok(100 - i);
    r.fail('DEADLINE_EXCEEDED', 'first');
    r.fail('DEADLINE_EXCEEDED', 'second');
    r.fail('UNAVAILABLE');
    expect(r.succeeded).to.equal(100);
    expect(r.failed).to.equal(3);
    expect(r.total).to.equal(103);
    expect(r.sorted()[0]).to.equal(1);
    expect(Object.fromEntries(r.errors)).to.deep.equal({ DEADLINE_EXCEEDED: 2, UNAVAILABLE: 1 });
    expect(r.errorSamples.get('DEADLINE_EXCEEDED')).to.equal('first');
    const m = new LatencyRecorder();
    m.ok(5);
    m.merge(r);
    expect(m.total).to.equal(104);
  });
});

describe('benchmark report', () => {
  function report(succeeded: number[], failures: Array<[string, string]>) {
    const all = new LatencyRecorder();
    const put = new LatencyRecorder();
    for (const ms of succeeded) {
      all.ok(ms);
      put.ok(ms);
    }
    for (const [c, m] of failures) {
      all.fail(c, m);
      put.fail(c, m);
    }
    return buildReport({
      options: resolveOptions({ ops: succeeded.length + failures.length, clients: 2, conns: 1, seed: 7 }, 3),
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/etcd-monitor-bench/abc/',
      startedAt: new Date(0),
      durationMs: 2000,
      all,
      byOperation: { put, range: new LatencyRecorder() },
      prepopulate: null,
      cleanup: { ok: true, deleted: 3 },
      interrupted: false,
    });
  }

  it('has the documented JSON shape', () => {
    const r = report([1, 2, 3, 4], [['DEADLINE_EXCEEDED', 'Deadline exceeded']]);
    expect(r).to.include({
      type: 'write',
      total: 5,
      succeeded: 4,
      failed: 1,
      durationSeconds: 2,
      requestsPerSecond: 2,
      interrupted: false,
    });
    expect(r.latencyMs).to.include({ min: 1, max: 4, avg: 2.5, p50: 2, p90: 4, p99: 4, p999: 4 });
    expect(r.latencyMs.stddev).to.be.closeTo(1.118, 0.001);
    expect(r.errors).to.deep.equal({ DEADLINE_EXCEEDED: 1 });
    expect(r.operations.put!.total).to.equal(5);
    expect(r.operations.range).to.equal(undefined);
    expect(r.parameters).to.include({
      ops: 5,
      clients: 2,
      conns: 1,
      keySize: 8,
      valueSize: 256,
      prefix: '/etcd-monitor-bench/abc/',
      seed: 7,
    });
    expect(r.parameters.endpoints).to.deep.equal(['http://127.0.0.1:2379']);
    expect(JSON.parse(JSON.stringify(r))).to.deep.equal(r);
  });

  it('renders like etcd: Summary, histogram, latency distribution, error distribution', () => {
    const text = renderText(report([1, 2, 3, 4], [['DEADLINE_EXCEEDED', 'Deadline exceeded']]));
    expect(text).to.match(
      /Summary:\n {2}Total:\t2\.0000 secs\.\n {2}Slowest:\t0\.0040 secs\.\n {2}Fastest:\t0\.0010 secs\.\n {2}Average:\t0\.0025 secs\.\n {2}Stddev:\t0\.0011 secs\.\n {2}Requests\/sec:\t2\.0000/,
    );
    expect(text).to.include('Response time histogram:');
    expect(text).to.include('Latency distribution:\n  10% in 0.0010 secs.');
    expect(text).to.include('99.9% in 0.0040 secs.');
    expect(text).to.include('Error distribution:\n  [1]\tDEADLINE_EXCEEDED: Deadline exceeded');
    expect(text).to.include('Cleanup: deleted 3 keys');
  });

  it('says latency is absent (null), never 0, when nothing succeeded', () => {
    const r = report([], [['UNAVAILABLE', 'no connection']]);
    expect(r.latencyMs.p99).to.equal(null);
    expect(r.latencyMs.min).to.equal(null);
    expect(r.histogram).to.deep.equal([]);
    expect(r.requestsPerSecond).to.equal(0);
    expect(renderText(r)).to.include('No request succeeded');
  });
});
