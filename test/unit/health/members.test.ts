import { expect } from 'chai';
import { memberFacts, resolveMembers } from '../../../src/health/members.js';
import { observe } from '../fixtures.js';

describe('members: who is who and how each is', () => {
  it('pairs endpoints with the member list by ID, else by client URL, and lists members no endpoint reaches', () => {
    const o = observe([{}, { up: false }, {}]);
    o.members.pop();
    const r = resolveMembers(o);
    expect(r.map((m) => [m.name, m.id, Boolean(m.obs)])).to.deep.equal([
      ['etcd1', 'a1', true],
      ['etcd2', 'b2', true],
      ['etcd3', 'c3', false],
    ]);
    const f = memberFacts(o, 'a1', 1000);
    expect(f[2]!.errors).to.deep.equal(['not probed: no configured endpoint reaches this member']);
    expect(f[2]!.healthy).to.equal(false);
  });
  it('a learner is healthy on its Status answer alone; Status errors are shown, not judged', () => {
    const o = observe([{}, {}, {}, { learner: true, healthError: 'rpc not supported for learner' }]);
    o.members[1]!.status!.errors = ['NOSPACE'];
    const f = memberFacts(o, 'a1', 1000);
    expect(f[3]).to.deep.include({ role: 'Learner', healthy: true });
    expect(f[1]).to.deep.include({ healthy: true, errors: ['NOSPACE'], probeErrors: [] });
    expect(f.map((m) => m.key)).to.deep.equal(['a1', 'b2', 'c3', 'd4']);
  });
});
