import { expect } from 'chai';
import {
  DEFAULT_THRESHOLDS,
  emptyMemory,
  errorsOf,
  evaluate,
  type EvalConfig,
  type Evaluation,
} from '../../src/health/evaluate.js';
import { emptyLatencyMemory } from '../../src/health/latency.js';
import { observe, type MemberSpec } from './fixtures.js';

const cfg: EvalConfig = { thresholds: DEFAULT_THRESHOLDS };

function once(specs: MemberSpec[], c: EvalConfig = cfg): Evaluation {
  return evaluate(observe(specs), undefined, emptyMemory(), c);
}

function cond(e: Evaluation, type: string): { status: string; reason: string; message: string } {
  const c = e.status.conditions.find((x) => x.type === type);
  if (!c) throw new Error(`no condition ${type}`);
  return c;
}

describe('health verdicts', () => {
  const table: Array<{
    name: string;
    specs: MemberSpec[];
    phase: string;
    healthy: boolean;
    hasLeader: boolean;
    healthyMembers: number;
  }> = [
    {
      name: 'all healthy',
      specs: [{}, {}, {}],
      phase: 'Healthy',
      healthy: true,
      hasLeader: true,
      healthyMembers: 3,
    },
    {
      name: 'one member down → Degraded',
      specs: [{}, {}, { up: false }],
      phase: 'Degraded',
      healthy: true,
      hasLeader: true,
      healthyMembers: 2,
    },
    {
      name: 'two of three down → quorum lost',
      specs: [{ leader: '0', healthError: 'DEADLINE_EXCEEDED' }, { up: false }, { up: false }],
      phase: 'Unhealthy',
      healthy: false,
      hasLeader: false,
      healthyMembers: 0,
    },
    {
      name: 'all down → Unreachable',
      specs: [{ up: false }, { up: false }, { up: false }],
      phase: 'Unreachable',
      healthy: false,
      hasLeader: false,
      healthyMembers: 0,
    },
    {
      name: 'no leader',
      specs: [
        { leader: '0', healthError: 'DEADLINE_EXCEEDED' },
        { leader: '0', healthError: 'DEADLINE_EXCEEDED' },
        { leader: '0', healthError: 'DEADLINE_EXCEEDED' },
      ],
      phase: 'Unhealthy',
      healthy: false,
      hasLeader: false,
      healthyMembers: 0,
    },
    {
      name: 'split brain within one term',
      specs: [
        { leader: 'a1', term: 5 },
        { leader: 'b2', term: 5 },
        { leader: 'a1', term: 5 },
      ],
      phase: 'Unhealthy',
      healthy: false,
      hasLeader: false,
      healthyMembers: 3,
    },
    {
      name: 'stale leader at an older term is not split brain',
      specs: [
        { leader: 'a1', term: 4 },
        { leader: 'b2', term: 5 },
        { leader: 'b2', term: 5 },
      ],
      phase: 'Healthy',
      healthy: true,
      hasLeader: true,
      healthyMembers: 3,
    },
    {
      name: 'NOSPACE alarm → Unhealthy',
      specs: [{ alarms: ['NOSPACE'] }, {}, {}],
      phase: 'Unhealthy',
      healthy: false,
      hasLeader: true,
      healthyMembers: 3,
    },
    {
      name: 'CORRUPT alarm → Unhealthy',
      specs: [{}, { alarms: ['CORRUPT'] }, {}],
      phase: 'Unhealthy',
      healthy: false,
      hasLeader: true,
      healthyMembers: 3,
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const e = once(t.specs);
      expect(e.status.phase).to.equal(t.phase);
      expect(e.status.healthy).to.equal(t.healthy);
      expect(e.status.hasLeader).to.equal(t.hasLeader);
      expect(e.status.healthyMembers).to.equal(t.healthyMembers);
    });
  }

  it('does not count learners toward quorum', () => {
    // 3 voters + 1 learner: quorum is 2 of the 3 voters; the learner being up does not save a lost quorum.
    const e = once([
      { leader: '0', healthError: 'DEADLINE_EXCEEDED' },
      { up: false },
      { up: false },
      { learner: true, healthError: 'rpc not supported for learner' },
    ]);
    expect(e.status.memberCount).to.equal(4);
    expect(e.status.quorumSize).to.equal(2);
    expect(e.status.phase).to.equal('Unhealthy');
    const ok = once([{}, {}, {}, { learner: true, healthError: 'rpc not supported for learner' }]);
    expect(ok.status.phase).to.equal('Healthy');
    expect(ok.status.members[3]!.role).to.equal('Learner');
    expect(ok.status.members[3]!.healthy).to.equal(true);
  });

  it('keeps the latency verdict until p99 falls clearly below the threshold (hysteresis)', () => {
    // Memory shape changed (issue #13): the crossing state lives in memory.latency, no longer memory.latencyHigh.
    const th = { thresholds: { ...DEFAULT_THRESHOLDS, latencyWarningMs: 100 } };
    const at = (ms: number, high: boolean): Evaluation =>
      evaluate(
        observe([{ latencyMs: ms }, { latencyMs: ms }, { latencyMs: ms }]),
        undefined,
        { ...emptyMemory(), latency: { ...emptyLatencyMemory(), high } },
        { ...cfg, ...th },
      );
    expect(at(90, false).status.phase).to.equal('Healthy'); // never crossed: 90ms is fine
    const held = at(90, true); // crossed before: 90ms is not yet clear of the line
    expect(held.status.phase).to.equal('Degraded');
    expect(cond(held, 'Degraded').message).to.match(/until it falls below 80(\.0)?ms/);
    expect(held.memory.latency.high).to.equal(true);
    const cleared = at(70, true);
    expect(cleared.status.phase).to.equal('Healthy');
    expect(cleared.memory.latency.high).to.equal(false);
    // One round over the line is not a crossing any more (issue #13): it takes a sustained window.
    expect(at(150, false).memory.latency.high).to.equal(false);
    expect(at(150, false).memory.latency.overRounds).to.equal(1);
  });

  it('marks latency (sustained over 3 rounds and 30 s) and DB quota thresholds as Degraded', () => {
    // Was: one round at 500ms → Degraded. That was the bug of issue #13 (one figure crossed the threshold).
    const th: EvalConfig = { thresholds: { ...DEFAULT_THRESHOLDS, latencyWarningMs: 100 } };
    let slow = evaluate(
      observe([{ latencyMs: 500 }, { latencyMs: 500 }, { latencyMs: 500 }], 0),
      undefined,
      emptyMemory(),
      th,
    );
    expect(slow.status.phase).to.equal('Healthy');
    for (const t of [15_000, 30_000])
      slow = evaluate(
        observe([{ latencyMs: 500 }, { latencyMs: 500 }, { latencyMs: 500 }], t),
        slow.status,
        slow.memory,
        th,
      );
    expect(slow.status.phase).to.equal('Degraded');
    expect(cond(slow, 'Degraded').reason).to.equal('ThresholdExceeded');
    expect(cond(slow, 'Degraded').message).to.match(/above 100ms for 3 rounds \(30s\)/);
    const o = observe([{ dbSize: 900 }, { dbSize: 900 }, { dbSize: 900 }]);
    for (const m of o.members) m.metrics = { quotaBackendBytes: 1000 };
    const full = evaluate(o, undefined, emptyMemory(), cfg);
    expect(full.status.dbQuotaUsedPercent).to.equal(90);
    expect(full.status.phase).to.equal('Degraded');
  });

  it('counts a leader change across rounds exactly once', () => {
    let e = evaluate(observe([{ leader: 'a1' }, {}, {}], 1000), undefined, emptyMemory(), cfg);
    expect(e.status.leaderChanges).to.equal(0);
    // Leader gone for a round, then b2 elected: one change, one LeaderChanged event.
    e = evaluate(
      observe([{ up: false }, { leader: 'b2', term: 3 }, { leader: 'b2', term: 3 }], 2000),
      e.status,
      e.memory,
      cfg,
    );
    expect(e.status.leaderChanges).to.equal(1);
    expect(e.leaderChangedThisRound).to.equal(true);
    expect(e.events.filter((x) => x.reason === 'LeaderChanged')).to.have.length(1);
    e = evaluate(
      observe([{ up: false }, { leader: 'b2', term: 3 }, { leader: 'b2', term: 3 }], 3000),
      e.status,
      e.memory,
      cfg,
    );
    expect(e.status.leaderChanges).to.equal(1);
    expect(e.events.filter((x) => x.reason === 'LeaderChanged')).to.have.length(0);
    expect(e.status.lastLeaderChangeTime).to.equal(new Date(2000).toISOString());
  });

  it('emits member, quorum and alarm transitions once', () => {
    let e = evaluate(observe([{}, {}, {}], 1000), undefined, emptyMemory(), cfg);
    expect(e.events).to.have.length(0);
    e = evaluate(observe([{}, {}, { up: false }], 2000), e.status, e.memory, cfg);
    expect(e.events.map((x) => x.reason)).to.deep.equal(['MemberUnhealthy']);
    e = evaluate(observe([{}, {}, { up: false }], 3000), e.status, e.memory, cfg);
    expect(e.events).to.have.length(0);
    e = evaluate(
      observe([{ leader: '0', healthError: 'DEADLINE_EXCEEDED' }, { up: false }, { up: false }], 4000),
      e.status,
      e.memory,
      cfg,
    );
    expect(e.events.map((x) => x.reason)).to.have.members([
      'MemberUnhealthy',
      'MemberUnhealthy',
      'QuorumLost',
    ]);
    e = evaluate(observe([{ alarms: ['NOSPACE'] }, {}, {}], 5000), e.status, e.memory, cfg);
    expect(e.events.map((x) => x.reason)).to.have.members([
      'MemberRecovered',
      'MemberRecovered',
      'MemberRecovered',
      'QuorumRestored',
      'AlarmRaised',
    ]);
    e = evaluate(observe([{}, {}, {}], 6000), e.status, e.memory, cfg);
    expect(e.events.map((x) => x.reason)).to.deep.equal(['AlarmCleared']);
  });

  it('keeps lastTransitionTime until a condition changes', () => {
    let e = evaluate(observe([{}, {}, {}], 1000), undefined, emptyMemory(), cfg);
    const t0 = e.status.conditions.find((c) => c.type === 'Healthy')!.lastTransitionTime;
    e = evaluate(observe([{}, {}, {}], 2000), e.status, e.memory, cfg);
    expect(e.status.conditions.find((c) => c.type === 'Healthy')!.lastTransitionTime).to.equal(t0);
    e = evaluate(
      observe([{ leader: '0', healthError: 'DEADLINE_EXCEEDED' }, { up: false }, { up: false }], 3000),
      e.status,
      e.memory,
      cfg,
    );
    expect(e.status.conditions.find((c) => c.type === 'Healthy')!.lastTransitionTime).to.equal(
      new Date(3000).toISOString(),
    );
  });

  it('says why a latency figure is absent instead of inventing one', () => {
    const e = once([{}, {}, {}]);
    expect(e.status.latency.readP99Ms).to.equal(2); // from the monitor's own health reads
    expect(e.status.latency.writeP99Ms).to.equal(undefined);
    expect(e.status.latency.notes!.join('\n')).to.match(/writeP99Ms: no measurement/);
  });

  it('reports ConfigValid=False with the reason given', () => {
    const e = once([{}, {}, {}], {
      thresholds: DEFAULT_THRESHOLDS,
      configError: { reason: 'SecretNotFound', message: 'secret etcd-tls not found' },
    });
    expect(cond(e, 'ConfigValid')).to.include({ status: 'False', reason: 'SecretNotFound' });
  });
});

describe('errorsOf: one line per distinct cause', () => {
  it('groups the calls of a member that refuses every call, keeps other causes apart', () => {
    const refused = 'UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379';
    const lines = errorsOf({
      endpoint: 'http://127.0.0.1:2379',
      healthChecked: false,
      statusError: `maintenance.status http://127.0.0.1:2379: ${refused}`,
      healthError: `kv.range http://127.0.0.1:2379: ${refused}`,
      alarmsError: `maintenance.alarm http://127.0.0.1:2379: ${refused}`,
      metricsError: 'connect ECONNREFUSED 127.0.0.1:2379',
    });
    expect(lines).to.deep.equal([
      `status, health, alarms: ${refused}`,
      'metrics: connect ECONNREFUSED 127.0.0.1:2379',
    ]);
  });

  it('keeps a bounded-call timeout as it is', () => {
    expect(
      errorsOf({ endpoint: 'x', healthChecked: false, statusError: 'status: no answer within 1050ms' }),
    ).to.deep.equal(['status: no answer within 1050ms']);
  });
});
