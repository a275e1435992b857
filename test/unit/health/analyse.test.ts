import { expect } from 'chai';
import { DEFAULT_THRESHOLDS, analyse, emptyMemory } from '../../../src/health/analyse.js';
import { observe, type MemberSpec } from '../fixtures.js';

const cfg = { thresholds: DEFAULT_THRESHOLDS };
const facts = (specs: MemberSpec[], t?: number): ReturnType<typeof analyse> =>
  analyse(observe(specs, t), emptyMemory(), cfg);

describe('analyse: a round as plain facts', () => {
  it('counts voters, healthy voters and the quorum without the learners', () => {
    const f = facts([{}, { up: false }, {}, { learner: true, healthError: 'rpc not supported for learner' }]);
    expect(f).to.deep.include({ voters: 3, healthyVoters: 2, quorumSize: 2, quorate: true, anyAnswer: true });
    expect(f.members.map((m) => [m.name, m.healthy, m.role])).to.deep.equal([
      ['etcd1', true, 'Leader'],
      ['etcd2', false, 'Unknown'],
      ['etcd3', true, 'Follower'],
      ['etcd4', true, 'Learner'],
    ]);
  });

  it('finds the leader the members agree on at the highest term, and split brain within one term', () => {
    expect(
      facts([
        { leader: 'a1', term: 4 },
        { leader: 'b2', term: 5 },
        { leader: 'b2', term: 5 },
      ]).leader,
    ).to.deep.include({ agreed: 'b2', name: 'etcd2', maxTerm: 5, splitBrain: false, hasLeader: true });
    const split = facts([{ leader: 'a1', term: 5 }, { leader: 'b2', term: 5 }, {}]).leader;
    expect(split).to.deep.include({ splitBrain: true, hasLeader: false });
    expect(split.splitTerms).to.deep.equal([[5, ['a1', 'b2']]]);
  });

  it('raft lag of each member behind the leader, and who lags', () => {
    const f = facts([{ index: 5000 }, { index: 4990 }, { index: 100 }]);
    expect(f.members.map((m) => [m.raftIndexLag, m.lagging])).to.deep.equal([
      [0, false],
      [10, false],
      [4900, true],
    ]);
  });

  it('alarms cluster-wide, known or not', () => {
    expect(facts([{ alarms: ['NOSPACE'] }, {}, {}]).alarms).to.deep.equal({
      known: true,
      list: [{ memberID: 'a1', type: 'NOSPACE' }],
    });
    expect(facts([{ up: false }, { up: false }]).alarms).to.deep.equal({ known: false, list: [] });
  });

  it("request rate and quota from the members' metrics, with the previous snapshot from memory", () => {
    const a = observe([{ dbSize: 800 }, {}, {}], 0);
    for (const m of a.members) m.metrics = { grpcHandledTotal: 100, quotaBackendBytes: 1000 };
    const fa = analyse(a, emptyMemory(), cfg);
    expect(fa.requestRatePerSecond).to.equal(undefined);
    expect(fa.db).to.deep.include({ sizeBytes: 20480, quotaBytes: 1000 });
    const b = observe([{}, {}, {}], 10_000);
    for (const m of b.members) m.metrics = { grpcHandledTotal: 150 };
    const fb = analyse(b, { ...emptyMemory(), prevMetrics: fa.nextPrevMetrics }, cfg);
    expect(fb.requestRatePerSecond).to.equal(15);
  });

  it('no answer at all: unreachable, with the first error', () => {
    const f = facts([{ up: false }, { up: false }, { up: false }]);
    expect(f.anyAnswer).to.equal(false);
    expect(f.firstStatusError).to.equal('DEADLINE_EXCEEDED');
  });
});
