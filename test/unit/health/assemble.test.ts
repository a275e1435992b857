import { expect } from 'chai';
import { DEFAULT_THRESHOLDS, analyse, emptyMemory } from '../../../src/health/analyse.js';
import { assembleStatus } from '../../../src/health/assemble.js';
import { runChecks } from '../../../src/health/checks.js';
import { buildConditions } from '../../../src/health/conditions.js';
import { evaluate } from '../../../src/health/evaluate.js';
import { observe } from '../fixtures.js';

const cfg = { thresholds: DEFAULT_THRESHOLDS };

describe('assembleStatus: facts and conditions → the SPEC §2 status', () => {
  it('has the contract shape, with the latency figure labelled by kind and sample count', () => {
    const f = analyse(
      observe([{ latencyMs: 2 }, { latencyMs: 3 }, { latencyMs: 4 }], 5000),
      emptyMemory(),
      cfg,
    );
    const s = assembleStatus(f, buildConditions(runChecks(f), undefined, f.nowIso, 7), undefined, 7);
    expect(s).to.deep.include({
      phase: 'Healthy',
      healthy: true,
      hasLeader: true,
      memberCount: 3,
      healthyMembers: 3,
      quorumSize: 2,
      observedGeneration: 7,
      clusterID: 'cafe',
    });
    expect(s.leader).to.deep.equal({ name: 'etcd1', id: 'a1', endpoint: 'http://127.0.0.1:2379' });
    expect(s.latency).to.deep.include({ readP99Ms: 4, readP99Kind: 'max', readSamples: 3, probeP99Ms: 4 });
    expect(s.summary).to.deep.equal({ members: '3/3', dbSize: '20.0KiB', latency: '4.0ms' });
    expect(s.lastProbeTime).to.equal(new Date(5000).toISOString());
  });

  it("keeps a member's last error after it recovers, and counts leader changes on from the previous status", () => {
    const a = evaluate(observe([{}, {}, { up: false }], 1000), undefined, emptyMemory(), cfg);
    expect(a.status.members[2]!.lastError).to.equal('status, health, alarms: DEADLINE_EXCEEDED');
    const b = evaluate(observe([{}, {}, {}], 2000), a.status, a.memory, cfg);
    expect(b.status.members[2]!.errors).to.deep.equal([]);
    expect(b.status.members[2]!.lastError).to.equal('status, health, alarms: DEADLINE_EXCEEDED');
    const c = evaluate(
      observe(
        [
          { leader: 'b2', term: 3 },
          { leader: 'b2', term: 3 },
          { leader: 'b2', term: 3 },
        ],
        3000,
      ),
      { ...b.status, leaderChanges: 5 },
      b.memory,
      cfg,
    );
    expect(c.status.leaderChanges).to.equal(6);
    expect(c.status.lastLeaderChangeTime).to.equal(new Date(3000).toISOString());
  });
});
