import { expect } from 'chai';
import type { Histogram } from '../../../src/etcd/memberMetrics.js';
import {
  MIN_P99_SAMPLES,
  SAMPLE_MAX_AGE_MS,
  SAMPLE_WINDOW,
  analyseLatency,
  emptyLatencyMemory,
  histogramFigure,
  judgeLatency,
  latencyReason,
  notASample,
  pushSamples,
  sampleFigure,
  type LatencyFigure,
  type LatencyMemory,
} from '../../../src/health/latency.js';
import { observe } from '../fixtures.js';

const fig = (
  judgedMs: number,
  kind: LatencyFigure['kind'] = 'p99',
  ms = judgedMs,
  source: LatencyFigure['source'] = 'histograms',
): LatencyFigure => ({ field: 'readP99Ms', source, ms, kind, samples: kind === 'p99' ? 120 : 3, judgedMs });

describe('latency: what is a sample', () => {
  const table: Array<
    [string, number | undefined, boolean | undefined, number | undefined, ReturnType<typeof notASample>]
  > = [
    ['a plain read', 3, undefined, 0, undefined],
    ['no answer', undefined, undefined, undefined, 'none'],
    ['a read that set up its connection (first round after (re)connecting)', 60, true, 0, 'setup'],
    ['a read the event loop stalled for most of', 12, undefined, 9, 'stall'],
    ['a small stall in a small read (below 2 ms) still counts', 3, undefined, 1.5, undefined],
    ['a small share of a slow read still counts', 80, undefined, 10, undefined],
  ];
  for (const [name, ms, setup, stall, want] of table)
    it(name, () => expect(notASample(ms, setup, stall)).to.equal(want));
});

describe('latency: figures from samples and histograms', () => {
  it("below the minimum count the figure is the max of the window, labelled so; this round's median is judged", () => {
    const f = sampleFigure('readP99Ms', [2, 3, 400, 2, 3, 2], [2, 3, 2])!;
    expect(f).to.deep.include({ ms: 400, kind: 'max', samples: 6, judgedMs: 2 });
    expect(
      sampleFigure('readP99Ms', [2, 3], [])!.judgedMs,
      'no sample of its own: nothing to judge',
    ).to.equal(undefined);
  });
  it('from the minimum count on it is the nearest-rank p99 of the window; old slow samples are not judged again', () => {
    const values = Array.from({ length: SAMPLE_WINDOW }, (_, i) => (i < 118 ? 2 : 300));
    const f = sampleFigure('readP99Ms', values, [2, 2, 2])!;
    expect(values.length).to.be.at.least(MIN_P99_SAMPLES);
    expect(f).to.deep.include({ kind: 'p99', ms: 300, judgedMs: 2 });
    expect(sampleFigure('readP99Ms', [], [])).to.equal(undefined);
  });
  it('applies the same rule to an interval histogram by its request count', () => {
    const few: Histogram = {
      buckets: [
        [0.005, 40],
        [0.01, 40],
        [0.25, 41],
        [Infinity, 41],
      ],
      count: 41,
      sum: 0.3,
    };
    const f = histogramFigure('readP99Ms', few)!;
    expect(f.kind).to.equal('max');
    expect(f.samples).to.equal(41);
    expect(f.judgedMs).to.be.below(5);
    const many: Histogram = {
      buckets: [
        [0.005, 990],
        [0.01, 1000],
        [Infinity, 1000],
      ],
      count: 1000,
      sum: 2,
    };
    expect(histogramFigure('readP99Ms', many)!).to.deep.include({ kind: 'p99', ms: 5 });
  });
  it('keeps a bounded window of samples: the newest SAMPLE_WINDOW, none older than SAMPLE_MAX_AGE_MS', () => {
    let w = pushSamples([], 0, [1, 2, 3]);
    for (let i = 1; i <= 50; i++) w = pushSamples(w, i * 1000, [1, 2, 3]);
    expect(w).to.have.length(SAMPLE_WINDOW);
    expect(w[w.length - 1]!.t).to.equal(50_000);
    expect(pushSamples(w, 50_000 + SAMPLE_MAX_AGE_MS + 1, [7])).to.deep.equal([
      { t: 50_000 + SAMPLE_MAX_AGE_MS + 1, ms: 7 },
    ]);
  });
});

describe('latency: a crossing needs a sustained window', () => {
  const th = 100;
  type Mem = Pick<LatencyMemory, 'overRounds' | 'overSince' | 'high'>;
  const run = (rounds: Array<[t: number, f: LatencyFigure | undefined]>): boolean[] => {
    let m: Mem = { overRounds: 0, high: false };
    return rounds.map(([t, f]) => {
      const v = judgeLatency([f], m, th, t);
      m = {
        overRounds: v.overRounds,
        high: v.high,
        ...(v.overSince !== undefined ? { overSince: v.overSince } : {}),
      };
      return v.high;
    });
  };
  const table: Array<[string, Array<[number, LatencyFigure | undefined]>, boolean[]]> = [
    [
      'one slow round is not a crossing',
      [
        [0, fig(500)],
        [15_000, fig(5)],
      ],
      [false, false],
    ],
    [
      '3 rounds over 30 s at a 15 s interval cross',
      [
        [0, fig(500)],
        [15_000, fig(500)],
        [30_000, fig(500)],
      ],
      [false, false, true],
    ],
    [
      '3 rounds over 2 s are not enough: 30 s are needed too',
      [
        [0, fig(500)],
        [1000, fig(500)],
        [2000, fig(500)],
        [30_000, fig(500)],
      ],
      [false, false, false, true],
    ],
    [
      'a round below the line restarts the count',
      [
        [0, fig(500)],
        [15_000, fig(500)],
        [30_000, fig(50)],
        [45_000, fig(500)],
        [60_000, fig(500)],
      ],
      [false, false, false, false, false],
    ],
    [
      'a round with nothing to judge neither extends nor breaks the run',
      [
        [0, fig(500)],
        [15_000, undefined],
        [20_000, fig(500)],
        [30_000, fig(500)],
      ],
      [false, false, false, true],
    ],
    [
      'a max of few samples with a fast median never crosses',
      [
        [0, fig(3, 'max', 500)],
        [15_000, fig(3, 'max', 500)],
        [30_000, fig(3, 'max', 500)],
      ],
      [false, false, false],
    ],
    [
      'a max whose median is over does',
      [
        [0, fig(300, 'max', 500)],
        [15_000, fig(300, 'max', 500)],
        [30_000, fig(300, 'max', 500)],
      ],
      [false, false, true],
    ],
    [
      'a sticky window p99 with fast rounds never does',
      [
        [0, fig(3, 'p99', 300, 'samples')],
        [15_000, fig(3, 'p99', 300, 'samples')],
        [30_000, fig(3, 'p99', 300, 'samples')],
      ],
      [false, false, false],
    ],
    [
      'hysteresis: stays crossed until below 80 %',
      [
        [0, fig(500)],
        [15_000, fig(500)],
        [30_000, fig(500)],
        [45_000, fig(90)],
        [60_000, fig(79)],
      ],
      [false, false, true, true, false],
    ],
  ];
  for (const [name, rounds, want] of table) it(name, () => expect(run(rounds)).to.deep.equal(want));

  it('says for how long in the Degraded reason', () => {
    const v = judgeLatency([fig(150)], { overRounds: 4, overSince: 0, high: true }, th, 60_000);
    expect(latencyReason(v, th, 60_000)).to.equal('read p99 latency 150ms above 100ms for 5 rounds (60s)');
    const s = judgeLatency(
      [fig(150, 'max', 400, 'samples')],
      { overRounds: 4, overSince: 0, high: true },
      th,
      60_000,
    );
    expect(latencyReason(s, th, 60_000)).to.equal(
      "read latency median 150ms of this round's health reads (max 400ms of the last 3) above 100ms for 5 rounds (60s)",
    );
    const blind = judgeLatency([undefined], { overRounds: 4, overSince: 0, high: true }, th, 60_000);
    expect(blind.high).to.equal(true);
    expect(latencyReason(blind, th, 60_000)).to.match(/nothing to judge this round/);
    const held = judgeLatency([fig(90)], { overRounds: 4, overSince: 0, high: true }, th, 75_000);
    expect(latencyReason(held, th, 75_000)).to.match(/until it falls below 80\.0ms/);
  });
});

describe('latency: analyseLatency on a round', () => {
  const thresholdMs = 100;
  it('the first round after connecting has no figure, and says why', () => {
    const obs = observe([{}, {}, {}]);
    for (const m of obs.members) m.healthSetup = true;
    const l = analyseLatency({ obs, memory: emptyLatencyMemory(), prevMetrics: {}, thresholdMs });
    expect(l.read).to.equal(undefined);
    expect(l.notes.join('\n')).to.match(/readP99Ms: no sample yet: the first round after connecting/);
    expect(l.next.readSamples).to.deep.equal([]);
  });
  it('a read the event loop stalled is not counted, and the round says so', () => {
    const obs = observe([{ latencyMs: 40 }, { latencyMs: 3 }, { latencyMs: 3 }]);
    obs.members[0]!.healthStallMs = 35;
    const l = analyseLatency({ obs, memory: emptyLatencyMemory(), prevMetrics: {}, thresholdMs });
    expect(l.read).to.deep.include({ ms: 3, kind: 'max', samples: 2 });
    expect(l.notes.join('\n')).to.match(
      /1 health reads of this round not counted: the monitor's event loop was stalled up to 35\.0ms/,
    );
    expect([...l.acceptedReads]).to.have.length(2);
  });
  it("prefers the members' histograms over the interval, and waits for a second scrape", () => {
    const h = (n: number): Histogram => ({
      buckets: [
        [0.005, n],
        [Infinity, n],
      ],
      count: n,
      sum: n * 0.001,
    });
    const a = observe([{}, {}, {}], 0);
    for (const m of a.members) m.metrics = { readHistogram: h(1000) };
    const first = analyseLatency({ obs: a, memory: emptyLatencyMemory(), prevMetrics: {}, thresholdMs });
    expect(first.read).to.equal(undefined);
    expect(first.notes).to.include("readP99Ms: waiting for a second scrape of the members' gRPC histograms");
    const prevMetrics = Object.fromEntries(
      a.members.map((m) => [m.endpoint, { time: 0, snapshot: m.metrics! }]),
    );
    const b = observe([{}, {}, {}], 10_000);
    for (const m of b.members) m.metrics = { readHistogram: h(1100) };
    const second = analyseLatency({ obs: b, memory: first.next, prevMetrics, thresholdMs });
    expect(second.read).to.deep.include({ kind: 'p99', samples: 300 });
    // The health reads still give the probe figure.
    expect(second.probe).to.deep.include({ samples: 6 });
  });
  it('notes a figure that is over the threshold but not yet for long enough', () => {
    const obs = observe([{ latencyMs: 500 }, { latencyMs: 500 }, { latencyMs: 500 }]);
    const l = analyseLatency({ obs, memory: emptyLatencyMemory(), prevMetrics: {}, thresholdMs });
    expect(l.verdict.high).to.equal(false);
    expect(l.notes.join('\n')).to.match(
      /over the 100ms threshold for 1 round; Degraded once it stays over for 3 rounds and 30s/,
    );
  });
});
