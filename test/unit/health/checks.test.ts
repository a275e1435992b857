import { expect } from 'chai';
import type { Condition } from '../../../src/crd/types.js';
import { DEFAULT_THRESHOLDS, analyse, emptyMemory } from '../../../src/health/analyse.js';
import {
  CONDITION_CHECKS,
  clusterHealthy,
  hasLeaderOf,
  healthyOf,
  phaseOf,
  runChecks,
} from '../../../src/health/checks.js';
import { CONDITION_ORDER } from '../../../src/health/conditions.js';
import { evaluate } from '../../../src/health/evaluate.js';
import { observe, type MemberSpec } from '../fixtures.js';

const cfg = { thresholds: DEFAULT_THRESHOLDS };
const facts = (specs: MemberSpec[]): ReturnType<typeof analyse> =>
  analyse(observe(specs), emptyMemory(), cfg);
const byType = (specs: MemberSpec[]): Record<string, { status: string; reason: string }> =>
  Object.fromEntries(runChecks(facts(specs)).map((c) => [c.type, { status: c.status, reason: c.reason }]));

describe('condition checks: one small check per condition', () => {
  it('has exactly one check per condition type, in the status order', () => {
    expect(CONDITION_CHECKS.map(([t]) => t)).to.deep.equal([...CONDITION_ORDER]);
  });

  const table: Array<[string, MemberSpec[], Record<string, [string, string]>]> = [
    [
      'all healthy',
      [{}, {}, {}],
      {
        Healthy: ['True', 'ClusterHealthy'],
        QuorumAvailable: ['True', 'QuorumAvailable'],
        LeaderElected: ['True', 'LeaderElected'],
        Degraded: ['False', 'AllMembersHealthy'],
        AlarmActive: ['False', 'NoAlarm'],
      },
    ],
    [
      'one member down',
      [{}, {}, { up: false }],
      { Healthy: ['True', 'ClusterHealthy'], Degraded: ['True', 'MemberUnhealthy'] },
    ],
    [
      'a follower far behind',
      [{ index: 5000 }, { index: 5000 }, { index: 100 }],
      { Degraded: ['True', 'MemberLagging'] },
    ],
    [
      'quorum lost',
      [{ leader: '0', healthError: 'x' }, { up: false }, { up: false }],
      {
        Healthy: ['False', 'QuorumLost'],
        QuorumAvailable: ['False', 'QuorumLost'],
        LeaderElected: ['False', 'NoLeader'],
        Degraded: ['False', 'ClusterUnhealthy'],
      },
    ],
    [
      'nobody answers',
      [{ up: false }, { up: false }, { up: false }],
      { Healthy: ['False', 'Unreachable'], AlarmActive: ['Unknown', 'AlarmsUnknown'] },
    ],
    [
      'split brain',
      [
        { leader: 'a1', term: 5 },
        { leader: 'b2', term: 5 },
        { leader: 'a1', term: 5 },
      ],
      { Healthy: ['False', 'SplitBrainSuspected'], LeaderElected: ['False', 'SplitBrainSuspected'] },
    ],
    [
      'alarm',
      [{ alarms: ['NOSPACE'] }, {}, {}],
      { Healthy: ['False', 'AlarmActive'], AlarmActive: ['True', 'NOSPACE'] },
    ],
  ];
  for (const [name, specs, want] of table) {
    it(name, () => {
      const got = byType(specs);
      for (const [type, [status, reason]] of Object.entries(want))
        expect(got[type], type).to.deep.equal({ status, reason });
    });
  }

  it('reads the phase, healthy and hasLeader off the conditions', () => {
    const c = (
      type: Condition['type'],
      status: Condition['status'],
      reason = 'r',
    ): Pick<Condition, 'type' | 'status' | 'reason'> => ({ type, status, reason });
    expect(phaseOf([c('Healthy', 'False', 'Unreachable')])).to.equal('Unreachable');
    expect(phaseOf([c('Healthy', 'False', 'QuorumLost'), c('Degraded', 'False')])).to.equal('Unhealthy');
    expect(phaseOf([c('Healthy', 'True'), c('Degraded', 'True')])).to.equal('Degraded');
    expect(phaseOf([c('Healthy', 'True'), c('Degraded', 'False')])).to.equal('Healthy');
    expect(healthyOf([c('Healthy', 'True')])).to.equal(true);
    expect(hasLeaderOf([c('LeaderElected', 'False')])).to.equal(false);
  });

  it('phase and healthy never disagree with the conditions (every scenario above)', () => {
    for (const [, specs] of table) {
      const e = evaluate(observe(specs), undefined, emptyMemory(), cfg);
      const cond = (t: string): Condition => e.status.conditions.find((x) => x.type === t)!;
      expect(e.status.healthy).to.equal(cond('Healthy').status === 'True');
      expect(e.status.healthy).to.equal(clusterHealthy(facts(specs)));
      expect(e.status.hasLeader).to.equal(cond('LeaderElected').status === 'True');
      expect(e.status.phase === 'Degraded').to.equal(cond('Degraded').status === 'True');
      expect(['Unhealthy', 'Unreachable'].includes(e.status.phase)).to.equal(
        cond('Healthy').status !== 'True',
      );
    }
  });
});
