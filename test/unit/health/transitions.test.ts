import { expect } from 'chai';
import type { EtcdMonitorStatus } from '../../../src/crd/types.js';
import type { ClusterObservation } from '../../../src/etcd/observation.js';
import { DEFAULT_THRESHOLDS, analyse, emptyMemory } from '../../../src/health/analyse.js';
import { evaluate, memoryFromStatus, type Evaluation } from '../../../src/health/evaluate.js';
import { transitions } from '../../../src/health/transitions.js';
import { ClusterMonitor } from '../../../src/monitor/clusterMonitor.js';
import { silentLogger } from '../../../src/log.js';
import { observe, type MemberSpec } from '../fixtures.js';

const cfg = { thresholds: DEFAULT_THRESHOLDS };
const reasons = (e: { events: Array<{ reason: string }> }): string[] => e.events.map((x) => x.reason).sort();

function round(specs: MemberSpec[], prev: Evaluation | undefined, t: number): Evaluation {
  return evaluate(observe(specs, t), prev?.status, prev?.memory ?? emptyMemory(), cfg);
}

describe('transitions: Events from the previous status, told once', () => {
  it('first sight of a problem is news; the same problem next round is not', () => {
    const a = round([{}, {}, { up: false }], undefined, 1000);
    expect(reasons(a)).to.deep.equal(['MemberUnhealthy']);
    expect(a.events[0]!.message).to.match(
      /member etcd3 \(http:\/\/127\.0\.0\.1:\d+\) is unhealthy: status, health, alarms: DEADLINE_EXCEEDED/,
    );
    expect(round([{}, {}, { up: false }], a, 2000).events).to.deep.equal([]);
  });

  it('needs no memory of its own: member health, quorum, split brain and alarms come from the previous status', () => {
    const a = round([{ alarms: ['NOSPACE'] }, {}, { up: false }], undefined, 1000);
    // Same previous status, fresh memory: the same (absence of) events.
    const facts = analyse(observe([{ alarms: ['NOSPACE'] }, {}, { up: false }], 2000), emptyMemory(), cfg);
    expect(transitions(a.status, facts, emptyMemory()).events).to.deep.equal([]);
    expect(reasons(transitions(undefined, facts, emptyMemory()))).to.deep.equal([
      'AlarmRaised',
      'MemberUnhealthy',
    ]);
  });

  it('does not judge alarms in a round whose alarm list is unknown, and the status keeps the last known list', () => {
    const a = round([{ alarms: ['NOSPACE'] }, {}, {}], undefined, 1000);
    const blind: ClusterObservation = observe([{}, {}, {}], 2000);
    for (const m of blind.members) {
      delete m.alarms;
      m.alarmsError = 'DEADLINE_EXCEEDED';
    }
    const b = evaluate(blind, a.status, a.memory, cfg);
    expect(reasons(b)).to.deep.equal([]);
    expect(b.status.alarms).to.deep.equal(a.status.alarms);
    expect(b.status.conditions.find((c) => c.type === 'AlarmActive')!.status).to.equal('Unknown');
    const c = round([{}, {}, {}], b, 3000);
    expect(reasons(c)).to.deep.equal(['AlarmCleared']);
  });

  it('counts a leader change through a leaderless round once, from lastLeaderId', () => {
    const a = round([{ leader: 'a1' }, {}, {}], undefined, 1000);
    const b = round(
      [
        { leader: '0', healthError: 'x' },
        { leader: '0', healthError: 'x' },
        { leader: '0', healthError: 'x' },
      ],
      a,
      2000,
    );
    expect(b.memory.lastLeaderId).to.equal('a1');
    const c = round(
      [
        { leader: 'b2', term: 3 },
        { leader: 'b2', term: 3 },
        { leader: 'b2', term: 3 },
      ],
      b,
      3000,
    );
    expect(reasons(c)).to.include('LeaderChanged');
    expect(c.status.leaderChanges).to.equal(1);
    expect(c.memory.leaderChangeTimes).to.deep.equal([3000]);
  });
});

describe('after an operator restart (deliberate: the written status is the memory, nothing it shows is re-emitted)', () => {
  /** A prober that replays plain observations: the monitor loop driven deterministically. */
  function monitorOf(rounds: MemberSpec[][]): ClusterMonitor {
    let i = 0;
    const prober = {
      probe: async (now: number): Promise<ClusterObservation> =>
        observe(rounds[Math.min(i++, rounds.length - 1)]!, now),
      close: (): void => undefined,
    };
    return new ClusterMonitor(
      { name: 'ns/x', intervalMs: 1000, timeoutMs: 500, thresholds: DEFAULT_THRESHOLDS },
      prober,
      silentLogger(),
      { now: () => 10_000 },
    );
  }

  let written: EtcdMonitorStatus;
  before(async () => {
    const first = monitorOf([[{}, {}, { up: false }]]);
    const r = await first.runOnce();
    expect(reasons(r.evaluation)).to.deep.equal(['MemberUnhealthy']);
    // What the first operator wrote, as the API server gives it back.
    written = JSON.parse(
      JSON.stringify({
        ...r.evaluation.status,
        leaderChanges: 2,
        lastLeaderChangeTime: new Date(9000).toISOString(),
      }),
    ) as EtcdMonitorStatus;
  });

  it('a member still down gets no second MemberUnhealthy; conditions keep their transition times', async () => {
    const m = monitorOf([[{}, {}, { up: false }]]);
    m.seedStatus(written);
    const r = await m.runOnce();
    expect(r.evaluation.events).to.deep.equal([]);
    const t = (s: EtcdMonitorStatus): string =>
      s.conditions.find((c) => c.type === 'Degraded')!.lastTransitionTime;
    expect(t(r.evaluation.status)).to.equal(t(written));
    expect(r.evaluation.status.leaderChanges).to.equal(2);
  });

  it('a member that recovered while no operator ran gets its MemberRecovered', async () => {
    const m = monitorOf([[{}, {}, {}]]);
    m.seedStatus(written);
    expect(reasons((await m.runOnce()).evaluation)).to.deep.equal(['MemberRecovered']);
  });

  it('a leader change while no operator ran is counted from the leader the status showed', async () => {
    const m = monitorOf([
      [
        { leader: 'b2', term: 9 },
        { leader: 'b2', term: 9 },
        { leader: 'b2', term: 9 },
      ],
    ]);
    m.seedStatus(written);
    const r = await m.runOnce();
    expect(reasons(r.evaluation)).to.deep.equal(['LeaderChanged', 'MemberRecovered']);
    expect(r.evaluation.status.leaderChanges).to.equal(3);
  });

  it('memoryFromStatus keeps only the leader and a change within the hour', () => {
    expect(memoryFromStatus(written, 10_000)).to.deep.include({
      lastLeaderId: 'a1',
      leaderChangeTimes: [9000],
    });
    expect(memoryFromStatus(written, 9000 + 3_600_001).leaderChangeTimes).to.deep.equal([]);
  });
});
