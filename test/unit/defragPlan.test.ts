/** The defragmentation decision on plain data: when it runs, in which order, and why it does not. */
import { expect } from 'chai';
import { fragmentation, planDefrag, type DefragMember } from '../../src/maintenance/defrag.js';

const MiB = 1 << 20;
const m = (name: string, over: Partial<DefragMember> = {}): DefragMember => ({
  name,
  endpoint: `http://${name}:2379`,
  healthy: true,
  leader: false,
  learner: false,
  dbSizeBytes: 400 * MiB,
  dbSizeInUseBytes: 100 * MiB,
  ...over,
});
const T = { minFragmentationPercent: 50, minReclaimableBytes: 100 * MiB };

describe('planDefrag', () => {
  it('orders learners and followers before the leader', () => {
    const plan = planDefrag([m('a', { leader: true }), m('b'), m('c', { learner: true })], T, false);
    expect(plan.run).to.equal(true);
    if (plan.run) expect(plan.order.map((x) => x.name)).to.deep.equal(['c', 'b', 'a']);
  });

  it('takes only members over both thresholds', () => {
    const plan = planDefrag(
      [
        m('a', { leader: true }),
        m('b', { dbSizeInUseBytes: 350 * MiB }),
        m('c', { dbSizeBytes: 150 * MiB, dbSizeInUseBytes: 60 * MiB }),
      ],
      T,
      false,
    );
    if (!plan.run) expect.fail(plan.message);
    expect(plan.order.map((x) => x.name)).to.deep.equal(['a']);
  });

  it('skips with the reason: a voter down, no leader, a backup running, under the thresholds', () => {
    expect(
      planDefrag([m('a', { leader: true }), m('b', { healthy: false }), m('c')], T, false),
    ).to.deep.include({ run: false, reason: 'MemberUnhealthy' });
    expect(planDefrag([m('a'), m('b'), m('c')], T, false)).to.deep.include({
      run: false,
      reason: 'NoLeader',
    });
    expect(planDefrag([m('a', { leader: true }), m('b')], T, true)).to.deep.include({
      run: false,
      reason: 'BackupRunning',
    });
    const low = planDefrag(
      [m('a', { leader: true, dbSizeInUseBytes: 390 * MiB }), m('b', { dbSizeInUseBytes: 300 * MiB })],
      T,
      false,
    );
    expect(low).to.deep.include({ run: false, reason: 'BelowThreshold' });
    expect(low.message).to.include('the most is 25% / 100.0MiB on b');
    // A learner that is down does not stop the voters' maintenance.
    expect(
      planDefrag([m('a', { leader: true }), m('b'), m('c', { learner: true, healthy: false })], T, false).run,
    ).to.equal(true);
  });

  it('computes fragmentation as 1 − inUse/total', () => {
    expect(fragmentation({ dbSizeBytes: 200, dbSizeInUseBytes: 50 })).to.deep.equal({
      percent: 75,
      reclaimableBytes: 150,
    });
    expect(fragmentation({ dbSizeBytes: 0, dbSizeInUseBytes: 0 })).to.deep.equal({
      percent: 0,
      reclaimableBytes: 0,
    });
  });
});
