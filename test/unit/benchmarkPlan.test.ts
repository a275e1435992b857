/** Benchmark keys, operation plan, rate limiter math, progress bar and options, on plain data. */
import { expect } from 'chai';
import {
  digitsFor,
  formatKey,
  isRead,
  keyIndex,
  makeValue,
  readCount,
  runPrefix,
  seededRng,
} from '../../src/benchmark/keys.js';
import { BenchmarkOptionError, resolveOptions } from '../../src/benchmark/options.js';
import { ProgressBar, renderProgress } from '../../src/benchmark/progress.js';
import { TokenBucket } from '../../src/benchmark/rateLimiter.js';
import { benchmarkInput, BENCHMARK_FLAGS, exitCodeFor } from '../../src/cli/benchmarkCommand.js';
import { parseFlags, UsageError } from '../../src/cli/args.js';
import type { BenchmarkReport } from '../../src/benchmark/report.js';

describe('benchmark keys and plan', () => {
  it('formats fixed-size keys under the prefix', () => {
    expect(formatKey('/p/', 42, 8)).to.equal('/p/00000042');
    expect(formatKey('/p/', 0, 1)).to.equal('/p/0');
    expect(() => formatKey('/p/', 100, 2)).to.throw(RangeError);
    expect(digitsFor(1)).to.equal(1);
    expect(digitsFor(10)).to.equal(1);
    expect(digitsFor(11)).to.equal(2);
    expect(digitsFor(10_000)).to.equal(4);
  });

  it('sequential keys walk the space and wrap; random keys stay inside it', () => {
    const rng = seededRng(1);
    expect([0, 1, 2, 3, 4].map((i) => keyIndex(i, 3, true, rng))).to.deep.equal([0, 1, 2, 0, 1]);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const k = keyIndex(i, 50, false, rng);
      expect(k).to.be.within(0, 49);
      seen.add(k);
    }
    expect(seen.size).to.equal(50);
    expect(keyIndex(0, 10, false, () => 0.999999999999)).to.equal(9);
  });

  it('mixed runs interleave reads evenly with exact counts', () => {
    const plan = (n: number, r: number) => Array.from({ length: n }, (_, i) => isRead(i, r));
    expect(plan(4, 0.5)).to.deep.equal([false, true, false, true]);
    expect(plan(5, 0).every((x) => !x)).to.equal(true);
    expect(plan(5, 1).every((x) => x)).to.equal(true);
    for (const [n, r] of [
      [20000, 0.5],
      [1000, 0.3],
      [7, 0.9],
    ] as const) {
      expect(plan(n, r).filter(Boolean).length).to.equal(readCount(n, r));
    }
    expect(readCount(1000, 0.3)).to.equal(300);
  });

  it('values, prefixes and the seeded generator', () => {
    const v = makeValue(256, seededRng(3));
    expect(v.length).to.equal(256);
    expect(v.toString('latin1')).to.match(/^[A-Za-z0-9]+$/);
    expect(makeValue(0, Math.random).length).to.equal(0);
    expect(runPrefix('/etcd-monitor-bench/', seededRng(1))).to.match(
      /^\/etcd-monitor-bench\/[A-Za-z0-9]{12}\/$/,
    );
    expect(runPrefix('/x', seededRng(1))).to.match(/^\/x\/[A-Za-z0-9]{12}\/$/);
    expect(runPrefix('/x/', seededRng(1))).to.not.equal(runPrefix('/x/', seededRng(2)));
    const a = seededRng(9);
    const b = seededRng(9);
    for (let i = 0; i < 10; i++) {
      const x = a();
      expect(x).to.equal(b());
      expect(x).to.be.within(0, 1 - Number.EPSILON);
    }
  });
});

describe('token bucket', () => {
  it('burst 1: the first request goes, the next waits 1/rate', () => {
    const tb = new TokenBucket(100, 1, 0);
    expect(tb.reserve(0)).to.equal(0);
    expect(tb.reserve(0)).to.be.closeTo(10, 1e-9);
    expect(tb.reserve(0)).to.be.closeTo(20, 1e-9);
    // Time passes: the debt is paid back at the rate.
    expect(tb.available(30)).to.be.closeTo(1 - 3 + 3, 1e-9);
  });

  it('never exceeds the rate over time and refills only up to the burst', () => {
    const tb = new TokenBucket(1000, 5, 0);
    // 5 at once after start (burst), then one per millisecond.
    const waits = Array.from({ length: 10 }, () => tb.reserve(0));
    expect(waits.slice(0, 5)).to.deep.equal([0, 0, 0, 0, 0]);
    expect(waits[5]).to.be.closeTo(1, 1e-9);
    expect(waits[9]).to.be.closeTo(5, 1e-9);
    // A long idle period refills at most `burst` tokens.
    expect(tb.available(1_000_000)).to.equal(5);
    // Simulate callers that act when told: N requests take (N - burst) / rate seconds.
    const sim = new TokenBucket(200, 1, 0);
    let last = 0;
    for (let i = 0; i < 201; i++) last = Math.max(last, sim.reserve(0));
    expect(last).to.be.closeTo(1000, 1e-6);
  });

  it('rejects nonsense', () => {
    expect(() => new TokenBucket(0)).to.throw(RangeError);
    expect(() => new TokenBucket(10, 0)).to.throw(RangeError);
    expect(() => new TokenBucket(Infinity)).to.throw(RangeError);
  });
});

describe('progress bar', () => {
  it('renders count, bar, percentage, elapsed time, rate and failures', () => {
    const line = renderProgress('write', 500, 1000, 2, 2000, 100);
    expect(line).to.match(/^write {2}500 \/ 1000 \[=+>\s+\] {2}50% 0:02 250\/s 2 failed$/);
    expect(renderProgress('write', 1000, 1000, 0, 61_000, 80)).to.match(/\[=+\] 100% 1:01 16\/s$/);
    expect(renderProgress('x', 0, 10, 0, 0, 80)).to.match(/\[> +\] {3}0% 0:00 $/);
  });

  it('stays silent when stderr is not a terminal', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ isTTY: false, write: (s: string) => written.push(s) });
    bar.begin('write', 10);
    bar.update(5, 0);
    bar.end();
    expect(written).to.deep.equal([]);
    const tty = new ProgressBar(
      { isTTY: true, columns: 80, write: (s: string) => written.push(s) },
      1_000_000,
    );
    tty.begin('write', 10);
    tty.update(10, 0);
    tty.end();
    expect(written.join('')).to.include('10 / 10');
    expect(written.at(-1)).to.equal('\n');
  });
});

describe('benchmark options and flags', () => {
  it('fills in sensible defaults (the guide form gives only type and ops)', () => {
    const o = resolveOptions({ type: 'mixed', ops: 20000 }, 3);
    expect(o).to.include({
      type: 'mixed',
      ops: 20000,
      clients: 50,
      conns: 3,
      keySize: 8,
      valueSize: 256,
      rate: 0,
      keySpaceSize: 10000,
      sequentialKeys: false,
      consistency: 'l',
      readRatio: 0.5,
      timeoutMs: 5000,
      prepopulate: true,
    });
    expect(resolveOptions({}, 3)).to.include({ type: 'write', ops: 10000, readRatio: 0, prepopulate: false });
    expect(resolveOptions({ type: 'read', ops: 20 }, 3)).to.include({
      clients: 20,
      conns: 3,
      keySpaceSize: 20,
      readRatio: 1,
      prepopulate: true,
    });
    expect(resolveOptions({ ops: 1 }, 3)).to.include({ clients: 1, conns: 1 });
  });

  it('rejects bad combinations', () => {
    const bad: Array<[Parameters<typeof resolveOptions>[0], RegExp]> = [
      [{ ops: 0 }, /--ops/],
      [{ ops: 1.5 }, /--ops/],
      [{ clients: 2, conns: 3 }, /--conns \(3\) must not exceed --clients \(2\)/],
      [{ keySpaceSize: 1000, keySize: 2 }, /--key-size 2 is too small/],
      [{ readRatio: 0.5 }, /only applies to --type mixed/],
      [{ type: 'mixed', readRatio: 1.5 }, /--read-ratio/],
      [{ rate: -1 }, /--rate/],
      [{ prefixBase: 'nope' }, /--prefix/],
      [{ prefixBase: '/' }, /--prefix/],
      [{ valueSize: 2 * 1024 * 1024 }, /--value-size/],
    ];
    for (const [input, re] of bad)
      expect(() => resolveOptions(input, 3), JSON.stringify(input)).to.throw(BenchmarkOptionError, re);
  });

  it('parses the command-line flags (etcd aliases too)', () => {
    const v = parseFlags(
      [
        '--endpoints=a:1',
        '--type=mixed',
        '--total=500',
        '--clients=10',
        '--conns=2',
        '--val-size=64',
        '--rate=100',
        '--key-space-size=50',
        '--sequential-keys',
        '--consistency=s',
        '--read-ratio=0.8',
        '--no-prepopulate',
        '--prefix=/b/',
        '--json',
      ],
      BENCHMARK_FLAGS,
    );
    const i = benchmarkInput(v);
    expect(i).to.include({
      type: 'mixed',
      ops: 500,
      clients: 10,
      conns: 2,
      valueSize: 64,
      rate: 100,
      keySpaceSize: 50,
      sequentialKeys: true,
      consistency: 's',
      readRatio: 0.8,
      prepopulate: false,
      prefixBase: '/b/',
    });
    expect(v.json).to.equal(true);
    expect(() => benchmarkInput(parseFlags(['--type=delete'], BENCHMARK_FLAGS))).to.throw(
      UsageError,
      /--type/,
    );
    expect(() => benchmarkInput(parseFlags(['--ops=many'], BENCHMARK_FLAGS))).to.throw(UsageError, /--ops/);
    expect(() => benchmarkInput(parseFlags(['--ops=1', '--total=2'], BENCHMARK_FLAGS))).to.throw(
      UsageError,
      /not both/,
    );
    expect(() => benchmarkInput(parseFlags(['--consistency=x'], BENCHMARK_FLAGS))).to.throw(
      UsageError,
      /--consistency/,
    );
    expect(() => parseFlags(['--bogus'], BENCHMARK_FLAGS)).to.throw(UsageError);
  });

  it('exit code: 0 clean run, 1 any failure or leftover keys, 130 interrupted', () => {
    const base = {
      failed: 0,
      succeeded: 10,
      interrupted: false,
      cleanup: { ok: true, deleted: 1 },
    } as BenchmarkReport;
    expect(exitCodeFor(base)).to.equal(0);
    expect(exitCodeFor({ ...base, failed: 1 })).to.equal(1);
    expect(exitCodeFor({ ...base, succeeded: 0 })).to.equal(1);
    expect(exitCodeFor({ ...base, cleanup: { ok: false, deleted: 0 } })).to.equal(1);
    expect(exitCodeFor({ ...base, interrupted: true })).to.equal(130);
  });
});
