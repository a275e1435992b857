import { expect } from 'chai';
import type { Histogram } from '../../../src/etcd/memberMetrics.js';
import type { ClusterObservation } from '../../../src/etcd/observation.js';
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate, type Memory } from '../../../src/health/evaluate.js';
import type { EtcdMonitorStatus } from '../../../src/crd/types.js';
import { observe, type MemberSpec } from '../fixtures.js';

const T0 = 1_700_000_000_000;
const BOUNDS = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, Infinity];

/** A cumulative fsync histogram with `fast` observations at ~1 ms and `slow` ones at ~20 ms. */
function fsyncs(fast: number, slow: number): Histogram {
  return {
    buckets: BOUNDS.map((le) => [le, (le >= 0.001 ? fast : 0) + (le >= 0.032 ? slow : 0)]),
    count: fast + slow,
    sum: fast * 0.001 + slow * 0.02,
  };
}

interface Run {
  status: EtcdMonitorStatus | undefined;
  memory: Memory;
  events: string[];
}

function start(): Run {
  return { status: undefined, memory: emptyMemory(), events: [] };
}

function step(
  run: Run,
  obs: ClusterObservation,
  cfg: Partial<typeof DEFAULT_THRESHOLDS> = {},
  backupConfigured?: boolean,
): Run {
  const e = evaluate(obs, run.status, run.memory, {
    thresholds: { ...DEFAULT_THRESHOLDS, adviceWindowMs: 60_000, ...cfg },
    ...(backupConfigured !== undefined ? { backupConfigured } : {}),
  });
  return {
    status: e.status,
    memory: e.memory,
    events: [
      ...run.events,
      ...e.events
        .filter((x) => x.reason.startsWith('Advice'))
        .map((x) => `${x.reason} ${x.message.split(':')[0]}`),
    ],
  };
}

function codes(s: EtcdMonitorStatus | undefined): string[] {
  return (s?.advice ?? []).map((a) => (a.member ? `${a.code}/${a.member}` : a.code));
}

const three: MemberSpec[] = [{}, {}, {}];

describe('advice: raised with hysteresis, told once, never the phase', () => {
  it('SlowDisk names the member whose WAL fsync p99 over the window is above 10 ms, and clears when it is fast again', () => {
    let run = start();
    let slow = 0;
    let fast = 0;
    for (let i = 0; i < 40; i++) {
      const t = T0 + i * 5000;
      fast += 20;
      if (i >= 5 && i < 20) slow += 5;
      const obs = observe(three, t);
      obs.members.forEach(
        (m, j) => (m.metrics = { walFsync: j === 1 ? fsyncs(fast, slow) : fsyncs(fast, 0) }),
      );
      run = step(run, obs);
      if (i === 15) {
        expect(codes(run.status)).to.include('SlowDisk/etcd2');
        expect(codes(run.status)).to.not.include('SlowDisk/etcd1');
        expect(run.status!.phase).to.equal('Healthy');
        const a = run.status!.advice!.find((x) => x.code === 'SlowDisk')!;
        expect(a.severity).to.equal('warning');
        expect(a.evidence.threshold).to.equal(10);
        expect(a.evidence.value).to.be.above(10);
        expect(a.evidence.doc).to.match(/^https:\/\/etcd\.io\/docs\//);
      }
    }
    expect(codes(run.status)).to.not.include('SlowDisk/etcd2');
    expect(run.events.filter((e) => e.startsWith('AdviceRaised warning advice SlowDisk'))).to.have.length(1);
    expect(run.events.filter((e) => e.startsWith('AdviceCleared advice SlowDisk'))).to.have.length(1);
  });

  it('one round is not advice: it takes two judged rounds in a row', () => {
    let run = start();
    const four: MemberSpec[] = [{}, {}, {}, {}];
    run = step(run, observe(four, T0));
    expect(codes(run.status)).to.not.include('EvenMemberCount');
    run = step(run, observe(four, T0 + 1000));
    expect(codes(run.status)).to.include('EvenMemberCount');
    run = step(run, observe(four, T0 + 2000));
    expect(run.events.filter((e) => e.includes('EvenMemberCount'))).to.have.length(1);
  });

  it('an operator restart (the written status as the only memory) raises nothing twice', () => {
    let run = start();
    const four: MemberSpec[] = [{}, {}, {}, {}];
    for (let i = 0; i < 3; i++) run = step(run, observe(four, T0 + i * 1000));
    const since = run.status!.advice![0]!.since;
    const restarted: Run = { status: run.status, memory: emptyMemory(), events: [] };
    const after = step(restarted, observe(four, T0 + 10_000));
    expect(after.events).to.deep.equal([]);
    expect(after.status!.advice!.find((a) => a.code === 'EvenMemberCount')!.since).to.equal(since);
  });

  it('a round where no member answers keeps the advice as it was', () => {
    let run = start();
    const four: MemberSpec[] = [{}, {}, {}, {}];
    for (let i = 0; i < 3; i++) run = step(run, observe(four, T0 + i * 1000));
    run = step(run, observe([{ up: false }, { up: false }, { up: false }, { up: false }], T0 + 4000));
    expect(codes(run.status)).to.include('EvenMemberCount');
    expect(run.events.filter((e) => e.startsWith('AdviceCleared'))).to.deep.equal([]);
  });

  it('MixedVersions, UnsupportedVersion, LearnerNotPromoted and NoBackup from the shape', () => {
    let run = start();
    for (let i = 0; i < 3; i++) {
      const obs = observe([{}, {}, {}, { learner: true }], T0 + i * 60_000);
      obs.members[1]!.status!.version = '3.6.4';
      obs.members[2]!.status!.version = '3.4.33';
      run = step(run, obs, { learnerPromotionTimeoutMs: 60_000 }, false);
    }
    const c = codes(run.status);
    expect(c).to.include.members([
      'MixedVersions',
      'UnsupportedVersion/etcd3',
      'LearnerNotPromoted/etcd4',
      'NoBackup',
    ]);
    // 3 voters and a learner: the count of voting members is odd.
    expect(c).to.not.include('EvenMemberCount');
    expect(run.status!.advice!.find((a) => a.code === 'MixedVersions')!.severity).to.equal('warning');
    expect(run.status!.summary.advice).to.match(/^\d+ \(\d+ warning\)$/);
  });

  it('no NoBackup when backups are scheduled, and none judged when that is not known', () => {
    let a = start();
    let b = start();
    for (let i = 0; i < 3; i++) {
      a = step(a, observe(three, T0 + i * 1000), {}, true);
      b = step(b, observe(three, T0 + i * 1000));
    }
    expect(codes(a.status)).to.not.include('NoBackup');
    expect(codes(b.status)).to.not.include('NoBackup');
  });
});

describe('capacity: trends need history, drops are not negative growth', () => {
  function grow(rounds: number, stepMs: number, bytesPerRound: number, quota?: number): Run {
    let run = start();
    for (let i = 0; i < rounds; i++) {
      const size = 40_000_000 + i * bytesPerRound;
      const obs = observe(
        three.map(() => ({ dbSize: size })),
        T0 + i * stepMs,
      );
      if (quota) obs.members.forEach((m) => (m.metrics = { quotaBackendBytes: quota }));
      run = step(run, obs);
    }
    return run;
  }

  it('is absent with a note before 30 rounds and 60 s', () => {
    const run = grow(29, 5000, 1000);
    expect(run.status!.capacity!.dbGrowthBytesPerHour).to.equal(undefined);
    expect(run.status!.capacity!.notes!.join()).to.match(/needs 30 rounds over 60 s of history; have 29/);
  });

  it('forecasts quota exhaustion from the growth, and advises when it is near and the DB is not small', () => {
    // 100 kB per 5 s round = 72 MB/h; 40 MB used of a 100 MB quota: full in about 50 min.
    const run = grow(40, 5000, 100_000, 100_000_000);
    const cap = run.status!.capacity!;
    expect(cap.dbGrowthBytesPerHour).to.be.closeTo(72_000_000, 1);
    const left = (Date.parse(cap.quotaExhaustionTime!) - (T0 + 39 * 5000)) / 3_600_000;
    expect(left).to.be.closeTo((100_000_000 - 43_900_000) / 72_000_000, 0.01);
    const a = run.status!.advice!.find((x) => x.code === 'QuotaExhaustionSoon')!;
    expect(a.severity).to.equal('critical');
    expect(run.status!.phase).to.equal('Healthy');
  });

  it('no QuotaExhaustionSoon for a small DB far from its quota', () => {
    const run = grow(40, 5000, 100_000, 8_000_000_000);
    expect(run.status!.capacity!.quotaExhaustionTime).to.be.a('string');
    expect(codes(run.status)).to.not.include('QuotaExhaustionSoon');
  });

  it('DefragmentRecommended over both thresholds, with the reclaimable bytes', () => {
    let run = start();
    for (let i = 0; i < 3; i++) {
      const obs = observe(three, T0 + i * 1000);
      obs.members.forEach((m) => {
        m.status!.dbSizeBytes = 300_000_000;
        m.status!.dbSizeInUseBytes = 100_000_000;
      });
      run = step(run, obs);
    }
    expect(run.status!.capacity!.reclaimableBytes).to.equal(200_000_000);
    expect(run.status!.capacity!.fragmentationPercent).to.be.closeTo(66.7, 0.1);
    expect(codes(run.status)).to.include('DefragmentRecommended');
  });
});
