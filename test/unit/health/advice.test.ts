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

describe('advice hysteresis on forecasts and workload', () => {
  /** 100 kB per 5 s round (72 MB/h) on every member, with the quota `hoursLeft(i)` ahead of the size. */
  function quotaRun(rounds: number, hoursLeft: (i: number) => number, run = start(), from = 0): Run {
    for (let i = from; i < from + rounds; i++) {
      const size = 40_000_000 + i * 100_000;
      const obs = observe(
        three.map(() => ({ dbSize: size })),
        T0 + i * 5000,
      );
      const quota = Math.round(size + hoursLeft(i) * 72_000_000);
      obs.members.forEach((m) => (m.metrics = { quotaBackendBytes: quota }));
      run = step(run, obs, { quotaExhaustionMinPercent: 0 });
    }
    return run;
  }
  const quotaAdvice = (r: Run) => r.status!.advice?.find((a) => a.code === 'QuotaExhaustionSoon');

  it('QuotaExhaustionSoon: raised within 168 h, kept up to 168 h / 0.8 = 210 h, cleared beyond; told once each way', () => {
    let run = quotaRun(40, () => 150);
    expect(quotaAdvice(run)).to.deep.include({ severity: 'warning' });
    expect(quotaAdvice(run)!.evidence).to.include({ threshold: 168, unit: 'hours' });
    run = quotaRun(8, () => 190, run, 40);
    expect(quotaAdvice(run), 'between the raise and the clear level').to.not.equal(undefined);
    run = quotaRun(8, () => 230, run, 48);
    expect(quotaAdvice(run)).to.equal(undefined);
    const told = run.events.filter((e) => e.includes('QuotaExhaustionSoon'));
    expect(told.map((e) => e.split(' ')[0])).to.deep.equal(['AdviceRaised', 'AdviceCleared']);
    // Never raised at 190 h: the clear level applies only to an advice already raised.
    expect(quotaAdvice(quotaRun(40, () => 190))).to.equal(undefined);
  });

  it('QuotaExhaustionSoon critical within 24 h shows the 24 h threshold as its evidence', () => {
    const a = quotaAdvice(quotaRun(40, () => 10))!;
    expect(a.severity).to.equal('critical');
    expect(a.evidence.threshold).to.equal(24);
    expect(a.evidence.value).to.be.closeTo(10, 0.5);
  });

  it('WorkloadAboveTier: raised above the declared tier, kept until requests fall under 80 % of its limit', () => {
    let run = start();
    let handled = 0;
    const rates: number[] = [...Array(6).fill(300), ...Array(20).fill(180), ...Array(20).fill(150)];
    const seen: boolean[] = [];
    rates.forEach((perSecond, i) => {
      handled += perSecond * 5;
      const obs = observe(three, T0 + i * 5000);
      // One member's counter carries the whole rate (the cluster's rate is the sum over members).
      obs.members.forEach((m, j) => (m.metrics = { grpcHandledTotal: j === 0 ? handled : 0 }));
      run = step(run, obs, { hardwareTier: 'small' });
      seen.push(codes(run.status).includes('WorkloadAboveTier'));
    });
    // small = up to 200 requests/s: raised at 300, kept at 180 (≥ 160), cleared at 150.
    // (The rate needs two rounds of counters, the advice two rounds in a row; the tier is judged on the rate
    // over the advice window, 60 s here, so each phase is judged once the window holds only it.)
    expect(seen.slice(0, 3).some(Boolean)).to.equal(false);
    expect(seen.slice(3, 6).every(Boolean), 'raised at 300/s').to.equal(true);
    expect(seen.slice(6, 26).every(Boolean), 'kept at 180/s, a whole window of it at the end').to.equal(true);
    expect(seen.slice(-6).some(Boolean), 'cleared at 150/s').to.equal(false);
  });
});
