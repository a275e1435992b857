/** `check perf`: etcdctl's load table and PASS/FAIL criteria on plain data, and the timed loop's deadline. */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import {
  PERF_CRITERIA,
  PERF_DEFAULT_PREFIX,
  PERF_KEY_SIZE,
  PERF_LOADS,
  PERF_VALUE_SIZE,
  parsePerfLoad,
  perfVerdict,
  renderPerfVerdict,
  shownRate,
  type PerfStats,
} from '../../src/benchmark/checkPerfVerdict.js';
import { drive, type Conn } from '../../src/benchmark/conns.js';
import { TokenBucket } from '../../src/benchmark/rateLimiter.js';

const idle: PerfStats = {
  limit: 150,
  writesPerSecond: 149.93,
  slowestSeconds: 0.021,
  stddevSeconds: 0.0021,
  errors: {},
};

const failedNames = (s: PerfStats): string[] =>
  perfVerdict(s)
    .checks.filter((c) => !c.pass)
    .map((c) => c.name);

describe('check perf: the workload and the verdict (etcdctl check perf)', () => {
  it("has etcdctl's load table, sizes, prefix and criteria", () => {
    expect(PERF_LOADS).to.deep.equal({
      s: { limit: 150, clients: 50, durationSeconds: 60 },
      m: { limit: 1000, clients: 200, durationSeconds: 60 },
      l: { limit: 8000, clients: 500, durationSeconds: 60 },
      xl: { limit: 15000, clients: 1000, durationSeconds: 60 },
    });
    expect([PERF_KEY_SIZE, PERF_VALUE_SIZE, PERF_DEFAULT_PREFIX]).to.deep.equal([
      256,
      1024,
      '/etcdctl-check-perf/',
    ]);
    expect(PERF_CRITERIA).to.deep.equal({
      minThroughputRatio: 0.9,
      maxSlowestSeconds: 0.5,
      maxStddevSeconds: 0.1,
    });
  });

  it("accepts etcdctl's load names and aliases, nothing else", () => {
    const names = ['s', 'small', 'm', 'medium', 'l', 'large', 'xl', 'xLarge'];
    expect(names.map(parsePerfLoad)).to.deep.equal(['s', 's', 'm', 'm', 'l', 'l', 'xl', 'xl']);
    for (const bad of ['', 'S', 'xlarge', 'huge', 'toString', '__proto__'])
      expect(parsePerfLoad(bad), bad).to.equal(undefined);
  });

  it('an idle cluster passes every check, and prints like etcdctl', () => {
    const v = perfVerdict(idle);
    expect(v.pass).to.equal(true);
    expect(v.checks.map((c) => c.name)).to.deep.equal(['errors', 'throughput', 'slowest', 'stddev']);
    expect(renderPerfVerdict(v).split('\n')).to.deep.equal([
      'PASS: Throughput is 150 writes/s',
      'PASS: Slowest request took 0.021000s',
      'PASS: Stddev is 0.002100s',
      'PASS',
    ]);
  });

  it('throughput must be above 90% of the limit: exactly 90% fails', () => {
    expect(failedNames({ ...idle, writesPerSecond: 135 })).to.deep.equal(['throughput']);
    expect(failedNames({ ...idle, writesPerSecond: 135.01 })).to.deep.equal([]);
    expect(failedNames({ ...idle, limit: 1000, writesPerSecond: 899.9 })).to.deep.equal(['throughput']);
    const v = perfVerdict({ ...idle, writesPerSecond: 120.4 });
    expect(renderPerfVerdict(v).split('\n')).to.include('FAIL: Throughput too low: 121 writes/s');
    expect(v.checks[1]).to.include({ value: 120.4, threshold: 135, pass: false });
    expect(failedNames({ ...idle, writesPerSecond: 0 })).to.deep.equal(['throughput']);
  });

  it('the rate shown is int(rate)+1, as etcdctl prints it', () => {
    expect([shownRate(149.93), shownRate(150), shownRate(0)]).to.deep.equal([150, 151, 1]);
  });

  it('slowest request: at most 0.5 s passes, above fails', () => {
    expect(failedNames({ ...idle, slowestSeconds: 0.5 })).to.deep.equal([]);
    expect(failedNames({ ...idle, slowestSeconds: 0.5001 })).to.deep.equal(['slowest']);
    const text = renderPerfVerdict(perfVerdict({ ...idle, slowestSeconds: 0.61 }));
    expect(text).to.include('FAIL: Slowest request took too long: 0.610000s');
    expect(text.split('\n').at(-1)).to.equal('FAIL');
  });

  it('stddev: at most 0.1 s passes, above fails', () => {
    expect(failedNames({ ...idle, stddevSeconds: 0.1 })).to.deep.equal([]);
    expect(failedNames({ ...idle, stddevSeconds: 0.12 })).to.deep.equal(['stddev']);
    expect(renderPerfVerdict(perfVerdict({ ...idle, stddevSeconds: 0.12 }))).to.include(
      'FAIL: Stddev too high: 0.120000s',
    );
  });

  it('any error fails, each code listed (most frequent first); no success fails slowest and stddev too', () => {
    const v = perfVerdict({ ...idle, errors: { UNAVAILABLE: 2, DEADLINE_EXCEEDED: 7 } });
    expect(v.pass).to.equal(false);
    expect(v.checks[0]).to.include({ name: 'errors', pass: false, value: 9 });
    expect(renderPerfVerdict(v).split('\n').slice(0, 3)).to.deep.equal([
      'FAIL: too many errors',
      'FAIL: ERROR(DEADLINE_EXCEEDED) -> 7',
      'FAIL: ERROR(UNAVAILABLE) -> 2',
    ]);
    const none: PerfStats = {
      limit: 150,
      writesPerSecond: 0,
      slowestSeconds: null,
      stddevSeconds: null,
      errors: { UNAVAILABLE: 40 },
    };
    expect(failedNames(none)).to.deep.equal(['errors', 'throughput', 'slowest', 'stddev']);
    expect(renderPerfVerdict(perfVerdict(none))).to.include('FAIL: Slowest request: no request succeeded');
  });

  it('a failed cleanup, compaction or defragmentation fails the run and is printed', () => {
    const ok = perfVerdict(idle, {
      cleanup: { ok: true },
      compact: { ok: true, revision: 9012 },
      defrag: [{ endpoint: 'http://a:2379', ok: true }],
    });
    expect(ok.pass).to.equal(true);
    expect(renderPerfVerdict(ok).split('\n').slice(0, 2)).to.deep.equal([
      'PASS: Compacted with revision 9012',
      'PASS: Defragmented "http://a:2379"',
    ]);
    const bad = perfVerdict(idle, {
      cleanup: { ok: false, error: 'http://a:2379: UNAVAILABLE: down' },
      defrag: [
        { endpoint: 'http://a:2379', ok: false, error: 'UNAVAILABLE: down' },
        { endpoint: 'http://b:2379', ok: true },
      ],
    });
    expect(bad.pass).to.equal(false);
    expect(bad.checks.filter((c) => !c.pass).map((c) => c.name)).to.deep.equal(['cleanup', 'defrag']);
    const lines = renderPerfVerdict(bad).split('\n');
    expect(lines[0]).to.equal(
      'FAIL: Cleanup failed during key deletion: ERROR(http://a:2379: UNAVAILABLE: down)',
    );
    expect(lines[1]).to.equal('FAIL: Defragmenting "http://a:2379" failed: ERROR(UNAVAILABLE: down)');
    expect(lines.at(-1)).to.equal('FAIL');
  });
});

describe('check perf: the timed loop', () => {
  const fakeConn = { endpoint: { url: 'x' }, ok: 0, failed: 0 } as unknown as Conn;

  it('issues puts at the limit until the deadline, none after it, and waits for those in flight', async () => {
    const t0 = performance.now();
    const starts: number[] = [];
    let finished = 0;
    await drive(
      {
        count: Infinity,
        clients: 5,
        conns: [fakeConn],
        limiter: new TokenBucket(200, 1, t0),
        untilMs: t0 + 300,
      },
      async () => {
        starts.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      },
      () => finished++,
    );
    const took = performance.now() - t0;
    // 200/s for 0.3 s with burst 1: the first at once, then one every 5 ms (about 60; late timers mean fewer).
    expect(starts.length).to.be.within(20, 61);
    expect(Math.max(...starts)).to.be.below(300);
    expect(finished).to.equal(starts.length);
    expect(took).to.be.within(300, 1000);
  });

  it('stops at once when aborted', async () => {
    const ac = new AbortController();
    let n = 0;
    setTimeout(() => ac.abort(), 50);
    const t0 = performance.now();
    await drive(
      {
        count: Infinity,
        clients: 2,
        conns: [fakeConn],
        limiter: new TokenBucket(100, 1, t0),
        signal: ac.signal,
        untilMs: t0 + 10_000,
      },
      async () => {
        n++;
      },
      () => {},
    );
    expect(performance.now() - t0).to.be.below(500);
    expect(n).to.be.within(1, 8);
  });
});
